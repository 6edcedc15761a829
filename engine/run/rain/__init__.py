"""Rain varying in space for risk ensembles: a storm moving along a track
(``moving_cell``) and spatially correlated random multipliers (``circulant``,
``multiplier``); ``metrotwin.run.rain_fields.member_rain`` puts them together."""
