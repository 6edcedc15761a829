"""The urban heat model: shadows and sky view from the 3D city, a surface energy balance,
air temperature that responds to the surfaces and traffic, mean radiant temperature and UTCI.

Land-cover interventions (cool roofs and pavements, green roofs, water bodies) and trees are
edits of the state made by the engine; the model maps classes to ``surface_parameters.yaml``
and reads ``tree_canopy_height``, so it has no intervention types of its own.
"""

from metrotwin.models.heat.model import HeatModel, HeatError, Params

__all__ = ["HeatModel", "HeatError", "Params"]
