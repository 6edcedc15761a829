"""Parameters of the mobility model (``models: mobility:`` in a scenario): demand, sampling,
mode shares, the queue model's steps, flood and heat thresholds."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from metrotwin.models.mobility.network import JAM_DENSITY
from metrotwin.scenario.files import check_file
from metrotwin.scenario.schema import StrictModel


class ModeBand(StrictModel):
    """Mode shares of trips shorter than ``max_km`` (and longer than the band before)."""

    model_config = ConfigDict(extra="forbid")
    max_km: float = Field(gt=0, description="upper distance of the band (km)")
    walk: float = Field(ge=0, le=1, description="share walking")
    bike: float = Field(ge=0, le=1, description="share cycling (the rest drive)")

    @model_validator(mode="after")
    def _sum(self):
        if self.walk + self.bike > 1 + 1e-9:
            raise ValueError(f"walk + bike shares are {self.walk + self.bike:g}; at most 1")
        return self


def _default_bands():
    return [ModeBand(max_km=1.0, walk=0.55, bike=0.2), ModeBand(max_km=3.0, walk=0.1, bike=0.35),
            ModeBand(max_km=1e9, walk=0.0, bike=0.15)]


class Params(StrictModel):
    """Parameters of the mobility model (``models: mobility:`` in a scenario)."""

    model_config = ConfigDict(extra="forbid")

    demand: Literal["synthetic", "od", "od_csv", "tntp"] = Field(
        "synthetic", description="synthetic population from land use, OD rows, or a file")
    od: list[tuple[int, int, float, float, float]] | None = Field(
        None, description="[[orig node, dest node, t_start (s), t_end (s), flow (veh/s)], ...]")
    od_file: Path | None = Field(None, description="CSV: orig,dest,t_start_s,t_end_s,flow_vehps")
    tntp_trips: Path | None = Field(None, description="TNTP _trips.tntp OD matrix")
    departure_window: tuple[float, float] = Field((0.0, 3600.0), description="TNTP trips (s)")
    demand_scale: float = Field(1.0, gt=0, le=100,
                                description="factor on the demand: OD volumes or the synthetic commuters")  # fmt: skip
    sample_fraction: float = Field(0.1, gt=0, le=1, description="share of commuters simulated")
    scale_capacity: bool = Field(True, description="scale flow and storage capacity by the "
                                 "sample fraction (MATSim's flow/storage capacity factors)")
    commuter_share: float = Field(0.45, ge=0, le=1, description="residents commuting (1)")
    floor_area_per_resident: float = Field(45.0, gt=0, description="(m2)")
    floor_area_per_job: float = Field(30.0, gt=0, description="(m2)")
    storey_height: float = Field(3.0, gt=0, description="(m)")
    distance_scale: float = Field(2000.0, gt=0, description="gravity model decay length (m)")
    detour_factor: float = Field(1.3, ge=1, description="network / straight distance")
    departure_peak: float = Field(7.5, ge=0, lt=24, description="hour of the departure peak")
    departure_spread: float = Field(0.5, gt=0, le=12, description="standard deviation (h)")
    group_shares: dict[str, float] = Field(
        default_factory=lambda: {"18-29": 0.2, "30-44": 0.32, "45-64": 0.38, "65+": 0.1},
        description="population groups (age bands) and their shares")
    mode_shares: list[ModeBand] = Field(default_factory=_default_bands)
    dt: float = Field(1.0, ge=0.1, le=10, description="queue model time step (s)")
    step_length: float = Field(60.0, ge=1, le=3600, description="Mesa step (s)")
    route_interval: float = Field(300.0, ge=1, description="routing update interval (s)")
    route_weight: float = Field(0.5, gt=0, le=1, description="weight of the newest routes")
    jam_density: float = Field(JAM_DENSITY, gt=0, le=1, description="per lane (veh/m)")
    walk_speed: float = Field(1.3, gt=0, le=3, description="(m/s)")
    bike_speed: float = Field(4.5, gt=0, le=12, description="(m/s)")
    closed_depth: float = Field(0.3, gt=0, description="flood depth closing a road (m)")
    hazard_limit: float = Field(0.75, gt=0, description="FD2320 rating stopping walkers (1)")
    debris_depth: float = Field(0.25, ge=0, description="depth above which DF = 1 (m)")
    shade_preference: float = Field(0.3, ge=0, lt=1, description="walk cost cut in shade (1)")
    utci_thresholds: tuple[float, float] = Field((32.0, 38.0), description="(degC)")
    exposure_interval: float = Field(60.0, gt=0, description="exposure sampling (s)")

    @field_validator("od_file", "tntp_trips", mode="before")
    @classmethod
    def _exists(cls, value, info):
        return None if value is None else check_file(value, info)

    @field_validator("group_shares")
    @classmethod
    def _groups(cls, value):
        if not value or any(not v >= 0 for v in value.values()) or sum(value.values()) <= 0:
            raise ValueError(f"group_shares needs at least one group and shares >= 0, got {value}")
        return value

    @model_validator(mode="after")
    def _demand_source(self):
        need = {"od": "od", "od_csv": "od_file", "tntp": "tntp_trips"}.get(self.demand)
        if need and getattr(self, need) is None:
            raise ValueError(f"demand {self.demand!r} needs '{need}'")
        if any(b.max_km <= a.max_km for a, b in zip(self.mode_shares, self.mode_shares[1:])):
            raise ValueError("mode_shares bands must have increasing max_km")
        return self
