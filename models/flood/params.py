"""The scenario parameters of the flood model (``models: flood:``), its error, and the
per-land-cover parameter table (``landcover.yaml``)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Literal

import yaml
from pydantic import ConfigDict, Field, field_validator, model_validator

from metrotwin.city import landcover
from metrotwin.errors import ModelError
from metrotwin.models.flood.boundaries import Boundary, Inflow, parse_boundaries
from metrotwin.scenario.schema import StrictModel


class FloodError(ModelError):
    """The flood model cannot run with this input (names the parameter, value, valid range)."""


@cache
def parameter_table() -> dict[str, dict]:
    """Per land-cover class parameters of the flood model (``landcover.yaml``, with sources)."""
    text = files("metrotwin.models.flood").joinpath("landcover.yaml").read_text()
    table = yaml.safe_load(text)
    for name, row in table.items():
        landcover.code_of(name)
        if not row["manning_n"] > 0:
            raise FloodError(f"landcover.yaml: manning_n of {name!r} must be > 0, got {row['manning_n']}")
    return table


class InitialWater(StrictModel):
    """Water present at the start: ``depth`` (m) over the bed of every cell of ``land_cover``
    (by default the open-water class, e.g. a river), or a flat ``level`` (m) there."""

    model_config = ConfigDict(extra="forbid")
    land_cover: str = Field("water", description="class whose cells start filled")
    depth: float | None = Field(None, gt=0, le=50, description="depth above the bed (m)")
    level: float | None = Field(
        None, ge=-500, le=9000, description="water-surface elevation (m), within the ground's bounds"
    )

    @field_validator("land_cover")
    @classmethod
    def _class(cls, value):
        landcover.code_of(value)
        return value

    @model_validator(mode="after")
    def _one(self):
        if (self.depth is None) == (self.level is None):
            raise ValueError("initial_water: give exactly one of 'depth' or 'level'")
        return self


class Params(StrictModel):
    """Scenario parameters of the flood model (``models: flood:``)."""

    model_config = ConfigDict(extra="forbid")

    # "auto" takes the GPU only where it pays: see ``device.py`` (a usable CUDA GPU, not the
    # simulator, and at least ``device.AUTO_MIN_CELLS`` cells in the whole grid, whatever the
    # number of ranks)
    device: Literal["cpu", "cuda", "auto"] = Field(
        "auto", description="processor of the solver: 'cpu' (numba on the cores), 'cuda' (an "
        "NVIDIA GPU through numba-cuda, one per MPI rank; the cuda extra), or 'auto' (the GPU "
        "where one is usable and the grid has at least 1,000,000 cells, else the CPU)"
    )
    buildings: Literal["raised", "closed"] = Field(
        "raised", description="buildings as raised blocks of the DSM, or cells closed to flow"
    )
    # In 2-D the theta-weighted scheme tolerates a smaller Courant number than Bates et al.'s
    # alpha = 0.7: a checkerboard of depths grows for alpha > ~0.55 at theta = 0.7 and for
    # alpha > ~0.65 at theta = 0.9 (tests/models/flood/test_flood_kernels.py); hence 0.9/0.6.
    theta: float = Field(0.9, ge=0.5, le=1, description="de Almeida et al. (2012) weighting (1 = Bates 2010)")
    cfl: float = Field(0.6, gt=0, le=0.7, description="Courant number alpha of dt = alpha dx / sqrt(g h_max)")
    max_time_step: float = Field(10.0, ge=1e-3, le=3600, description="largest step (s)")
    # Off by default: the local-inertial equations (Bates et al. 2010) are what the demo and
    # the EA benchmarks are tuned on, and the moving-front analytic solution (Hunter et al.
    # 2005) is one of them (with advection its RMSE is 3.02 mm, above the 3 mm); on,
    # the scheme converges to the dam-break and Thacker solutions and to MacDonald's channel
    # with rain (tests/models/flood/test_flood_validation.py), for one more pass over the
    # faces per step (the demo's flood time: ~1.5x). Switch it on for rapidly varied flow
    # (dam breaks, steep streets near Froude 1).
    advection: bool = Field(
        False, description="add the advective (convective) acceleration d(qu)/dx + d(qv)/dy to "
        "the momentum (first-order upwind, momentum-conservative; the time step then also "
        "follows the flow speed)"
    )
    advection_min_depth: float = Field(
        1e-3, gt=0, le=1, description="with advection: faces shallower than this (m) carry no "
        "advective acceleration and their speed does not limit the step (thin films)"
    )
    fixed_time_step: float | None = Field(None, ge=1e-3, le=3600, description="force this step (s), no CFL")
    # Temporal blocking (see ``kernels.local_inertial_steps``): the same numbers as one step
    # per sweep, with 1/k of the memory traffic. Only with a fixed step: under the Courant
    # condition a step needs the depths at the end of the one before.
    steps_per_sweep: int | None = Field(
        None, ge=1, le=32, description="with fixed_time_step: steps advanced in one sweep "
        "through memory (identical results, less memory traffic); a tile then needs 2 cells "
        "of halo per step. Default: 16 on an unsplit grid, 8 on tiles (a 16-cell halo)"
    )
    min_flow_depth: float = Field(1e-6, ge=0, le=0.1, description="faces shallower carry no flow (m)")
    # 5 cm: on shallower water |q|/h is dominated by transients (a film running down a step
    # whose face carries the depth of the cell above): the demo's maximum reached 35 m/s
    speed_min_depth: float = Field(0.05, ge=0, le=1, description="speed (snapshot and maximum) is "
                                   "reported where the water is deeper than this (m), else 0")
    duration_threshold: float = Field(0.1, ge=0, le=10, description="depth of the duration statistic (m)")
    door_depth: float = Field(0.1, gt=0, le=10, description="water at the door: depth next to a building (m)")
    infiltration: bool = Field(True, description="Green-Ampt infiltration on pervious land cover")
    drainage: bool = Field(True, description="drainage inlets remove up to drainage_capacity")
    green_roof_retention: bool = Field(True, description="green roofs retain rain up to their storage")
    manning: dict[str, float] = Field(default_factory=dict, description="Manning n per class, overriding the table")
    manning_uniform: float | None = Field(None, gt=0, le=1, description="one Manning n everywhere (s m-1/3)")
    inflows: list[Inflow] = Field(default_factory=list)
    boundaries: dict[str, Boundary] = Field(default_factory=dict, description="per side: closed, free, stage, stage_hydrograph")
    initial_water: InitialWater | None = None

    @field_validator("manning")
    @classmethod
    def _manning(cls, value):
        for name, n in value.items():
            landcover.code_of(name)
            if not (isinstance(n, (int, float)) and 0 < n <= 1):
                raise ValueError(f"manning[{name}] must be in (0, 1] s m-1/3, got {n!r}")
        return value

    @field_validator("boundaries", mode="before")
    @classmethod
    def _boundaries(cls, value):
        return parse_boundaries(value)
