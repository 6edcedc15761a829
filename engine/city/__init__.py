"""The city stage: the grid every field lives on and the shared state built on it.

``grid``, ``state`` (the ``CityState`` dataset), ``variables`` (``VarSpec``, the declarations of
the state's fields), ``landcover`` (the land-cover classes), ``network`` (the road network in the
state), ``citygen`` (the generated demo town), ``build`` (a scenario's city: generated or from
data, for one rank's tile), ``sources/`` (readers of data files onto the grid), ``tiling`` and
``layer_bounds`` (one rank's window, the physical bounds of the static layers), ``geometry`` and
``interventions`` (typed edits of the state) and ``inspect`` (what a built city is made of).
"""
