"""Readers of city data files onto the scenario grid (the schema of the ``domain.data``
section they read is ``metrotwin.scenario.data``): ``datasources`` (the readers' shared
helpers: the repair warning, building-use codes, message formats), ``from_data`` (``build_city_from_data``:
every source read into one state), ``raster``, ``vector``, ``buildings``, ``landcover``,
``roads``, ``districts`` and ``tntp`` (TNTP test networks)."""
