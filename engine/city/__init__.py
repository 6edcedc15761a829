"""The city stage: the grid every field lives on and the shared state built on it.

``grid``, ``state`` (the ``CityState`` dataset), ``variables`` (``VarSpec``, the declarations of
the state's fields), ``landcover`` (the land-cover layer's CF flags and per-class tables; the
class names are ``metrotwin.scenario.landcover``'s), ``network`` (the road network in the
state), ``citygen`` (the generated demo town), ``build`` (a scenario's city: generated or from
data, for one rank's tile), ``sources/`` (readers of data files onto the grid: ``raster``,
``vector``, ``buildings``, ``landcover``, ``roads`` with ``tntp``, ``districts``, assembled by
``from_data``; ``datasources`` holds what they share; the schema they read is
``metrotwin.scenario.data``), ``tiling`` and ``layer_bounds`` (one rank's window, the physical
bounds of the static layers), ``geometry`` and ``interventions`` (typed edits of the state,
``register_intervention`` for the models' own) and ``inspect`` (what a built city is made of).
"""
