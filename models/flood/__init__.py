"""Flood model: local-inertial shallow water with rain, inflows, infiltration, drainage and
buildings (see ``model.py``). The interventions that act on it (levee, retention_pond,
permeable_paving, drainage_upgrade, green_roof) are built into the engine: they edit the
terrain, land cover and drainage layers the model reads at ``initialize``."""

from metrotwin.models.flood.model import FloodError, FloodModel, FloodParams

__all__ = ["FloodError", "FloodModel", "FloodParams"]
