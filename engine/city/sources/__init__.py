"""Readers of city data files onto the scenario grid: ``datasources`` (the ``domain.data``
section and ``build_city_from_data``), ``raster``, ``vector``, ``buildings``, ``landcover``,
``roads`` and ``districts``."""
