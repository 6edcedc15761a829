"""Flood model: local-inertial shallow water with rain, inflows, infiltration, drainage and
buildings. ``model.py`` is the model's protocol class; ``params.py`` its parameters,
``variables.py`` its state variables, ``solver.py`` the solver wiring, ``kernels.py`` (with
``groups.py``, ``losses.py``, ``advection.py`` and ``fastmath.py``) the numerics,
``accounts.py`` the volume accounts and ``indicators.py`` the indicators. The interventions
that act on it (levee, retention_pond, permeable_paving, drainage_upgrade, green_roof) are
built into the engine: they edit the terrain, land cover and drainage layers the model reads
at ``initialize``."""

from metrotwin.models.flood.model import FloodError, FloodModel
from metrotwin.models.flood.params import Params

__all__ = ["FloodError", "FloodModel", "Params"]
