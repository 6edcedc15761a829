"""Helpers to build a state and a run context by hand, for model tests and doctests."""

from __future__ import annotations

import numpy as np

from metrotwin.city.grid import Grid
from metrotwin.city.landcover import CODE
from metrotwin.city.state import CityState, empty_state
from metrotwin.hpc.decomposition import serial_decomposition
from metrotwin.run.context import Clock, RunContext
from metrotwin.run.forcing import Forcing
from metrotwin.run.scenario import parse_scenario


def make_grid(ny: int, nx: int, resolution: float = 1.0, crs: str = "EPSG:32632") -> Grid:
    return Grid(ny=ny, nx=nx, resolution=resolution, west=500_000.0, north=5_000_000.0, crs=crs)


def make_state(grid: Grid, **layers: np.ndarray) -> CityState:
    """A state with the standard static layers (flat ground, grass, no buildings, one
    district, no drainage) and any given ``layers`` overriding them."""
    state = empty_state(grid)
    defaults = {
        "surface_altitude": np.zeros(grid.shape),
        "building_height": np.zeros(grid.shape),
        "building_id": np.zeros(grid.shape, dtype="int32"),
        "building_use": np.zeros(grid.shape, dtype="int8"),
        "land_cover": np.full(grid.shape, CODE["grass"], dtype="int16"),
        "tree_canopy_height": np.zeros(grid.shape),
        "district": np.ones(grid.shape, dtype="int16"),
        "drainage_capacity": np.zeros(grid.shape),
    }
    defaults.update(layers)
    for name, values in defaults.items():
        state.add_layer(name, values)
    state.ds["district"].attrs.update(flag_values=np.array([1], dtype="int16"), flag_meanings="all")
    return state


def make_context(
    grid: Grid,
    *,
    duration: float = 3600.0,
    coupling_interval: float = 60.0,
    start: str = "2026-07-01T00:00:00",
    forcing: dict | None = None,
    models: dict | None = None,
    seed: int = 0,
) -> RunContext:
    """A serial run context on ``grid`` with the given forcing section (scenario syntax)."""
    scenario = parse_scenario(
        {
            "name": "test",
            "seed": seed,
            "domain": {
                "generated": {
                    "size_x": max(grid.nx, 16) * grid.resolution,
                    "size_y": max(grid.ny, 16) * grid.resolution,
                    "resolution": grid.resolution,
                    "crs": grid.crs,
                }
            },
            "period": {
                "start": start,
                "duration": duration,
                "coupling_interval": coupling_interval,
                "output_interval": coupling_interval,
            },
            "forcing": forcing or {},
            "models": models or {},
        }
    )
    clock = Clock(
        start=scenario.period.start,
        end=scenario.period.seconds,
        coupling_interval=coupling_interval,
        output_interval=coupling_interval,
    )
    return RunContext(
        grid=grid,
        decomposition=serial_decomposition(grid.shape),
        clock=clock,
        forcing=Forcing(scenario, grid),
        scenario=scenario,
        seed=seed,
    )
