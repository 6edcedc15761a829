"""Readers of city data files onto the scenario grid: ``datasources`` (the schema of the
``domain.data`` section and the readers' shared helpers), ``from_data`` (``build_city_from_data``:
every source read into one state), ``raster``, ``vector``, ``buildings``, ``landcover``,
``roads``, ``districts`` and ``tntp`` (TNTP test networks)."""
