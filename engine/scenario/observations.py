"""The ``observations:`` and ``assimilation:`` sections of a scenario: where the sensor
readings come from, which sensors are withheld from assimilation (to verify against), the
snapping tolerance; and the filter that keeps the run in step with the readings.

The scenario stage owns these schemas (``metrotwin.observe`` reads files by them); the names
of the observed variables are the vocabulary both stages share (``OBSERVED_VARIABLES``; their
units and ranges live in ``metrotwin.observe.variables``).

Paths are relative to the scenario file's folder. Times written without a UTC offset are read
in ``naive_timezone`` (default UTC): a logger that writes local time must say so here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, field_validator

from metrotwin.scenario.files import check_file
from metrotwin.scenario.units import Duration

#: what a sensor may measure (the ``variable`` column of a CSV)
OBSERVED_VARIABLES = ("water_depth", "water_level", "rain_rate", "air_temperature",
                      "vehicle_count", "vehicle_speed")  # fmt: skip


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path = Field(description="the file of readings")
    sensors: Path | None = Field(
        None, description="sensor table (CSV: sensor_id, variable, x, y or lon, lat, error_std "
        "[, error_units, interval]); positions in the scenario CRS (x, y) or WGS84 (lon, lat)")
    error_std: dict[str, PositiveFloat] = Field(
        default_factory=dict, description="observation error std per variable, in the model's "
        "units, for sensors the table does not give one")
    naive_timezone: str = Field("UTC", description="IANA zone of times written without offset")
    count_interval: Duration | None = Field(
        None, description="counting interval of vehicle counts (s) when the table gives none")

    @field_validator("path", "sensors", mode="before")
    @classmethod
    def _exists(cls, value, info):
        # in a scenario: an existing file, relative to the scenario's folder (then absolute)
        if value is None or not (info.context or {}).get("base_dir"):
            return value
        return check_file(value, info)

    @field_validator("error_std")
    @classmethod
    def _known_variables(cls, value):
        for name in value:
            if name not in OBSERVED_VARIABLES:
                raise ValueError(f"unknown variable {name!r} in error_std; known: "
                                 f"{', '.join(OBSERVED_VARIABLES)}")
        return value

    @field_validator("naive_timezone")
    @classmethod
    def _zone(cls, value):
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. 'UTC', "
                             "'Europe/Berlin')") from None
        return value


class CsvSource(_Source):
    """Long-form CSV: ``sensor_id,time,variable,value[,units]`` plus a sensor table."""

    format: Literal["csv"]
    sensors: Path = Field(description="sensor table (CSV), required for CSV readings")
    units: dict[str, str] = Field(
        default_factory=dict, description="units of a variable's values when the file has no "
        "units column (default: the model's units)")


class NetcdfSource(_Source):
    """netCDF following CF discrete sampling geometries, ``featureType: timeSeries``."""

    format: Literal["netcdf"]
    variables: dict[str, str] = Field(
        default_factory=dict, description="file variable -> observed variable, for variables "
        "without a standard_name metrotwin knows")


class SensorThingsSource(_Source):
    """OGC SensorThings API JSON (Things with Locations and Datastreams with Observations)."""

    format: Literal["sensorthings"]
    variables: dict[str, str] = Field(
        default_factory=dict, description="ObservedProperty name -> observed variable")


Source = Annotated[CsvSource | NetcdfSource | SensorThingsSource, Field(discriminator="format")]


class ObservationsSection(BaseModel):
    """The scenario's ``observations:`` section."""

    model_config = ConfigDict(extra="forbid")

    sources: list[Source] = Field(min_length=1)
    withhold: list[str] | Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        default_factory=list, description="sensor ids kept out of the analysis for "
        "verification, or the fraction of sensors to keep out (chosen with the seed)")
    max_link_distance: PositiveFloat = Field(
        25.0, description="farthest a link sensor may be from its link's centre line (m)")
    seed: int = Field(0, description="seed of the withheld sensors' choice")

    @field_validator("sources")
    @classmethod
    def _mapped_variables(cls, sources):
        for source in sources:
            for name in getattr(source, "variables", {}).values():
                if name not in OBSERVED_VARIABLES:
                    raise ValueError(f"{source.path}: variables maps to {name!r}, which is not "
                                     "an observed variable; known: "
                                     f"{', '.join(OBSERVED_VARIABLES)}")
        return sources


class Perturbations(BaseModel):
    """How the members' forcing differs: the prior uncertainty of the forcing."""

    model_config = ConfigDict(extra="forbid")

    rain_log_std: float = Field(
        0.4, ge=0.0, le=2.0, description="std of the log of the rain multiplier (1): a "
        "lognormal factor of median 1 on the rain of every cell")
    rain_correlation_length: PositiveFloat = Field(
        1000.0, description="length (m) over which the rain multiplier is correlated (the std "
        "of the Gaussian kernel smoothing white noise)")
    air_temperature_std: float = Field(
        2.0, ge=0.0, le=20.0, description="std of the members' air-temperature offset (K)")
    demand_log_std: float = Field(
        0.3, ge=0.0, le=2.0, description="std of the log of the members' demand scale (1)")


class AssimilationSection(BaseModel):
    """The scenario's ``assimilation:`` section: the filter that keeps the run in step with
    the observations, cycling at the coupling interval."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["letkf", "nudging"] = Field(
        "letkf", description="letkf: an ensemble of members and the local ensemble transform "
        "Kalman filter (Hunt et al. 2007); nudging: one run relaxed towards the readings "
        "(observation nudging, Stauffer & Seaman 1990)")
    members: int = Field(16, ge=2, le=256, description="ensemble members (letkf)")
    localisation_radius: PositiveFloat = Field(
        600.0, description="distance (m) at which an observation's Gaspari-Cohn weight "
        "(letkf) or its nudging weight (nudging) reaches zero")
    time_scale: Duration = Field(
        1800.0, gt=0, description="nudging: the relaxation time scale tau = 1/G (s); a cycle "
        "of dt s applies 1 - exp(-dt / tau) of the weighted innovation")
    transform_step: int = Field(
        1, ge=1, le=16, description="letkf on the grid: 1 computes each cell's transform; s > 1 "
        "only every s-th row and column, interpolated between (Yang et al. 2009): ~s^2 times "
        "cheaper, off the exact analysis by a few % of the increment where s cells are "
        "radius / 12 or less (benchmarks/assimilation.py)")
    inflation: float = Field(1.0, ge=1.0, le=3.0, description="multiplicative inflation rho")
    rtps: float = Field(0.0, ge=0.0, le=1.0, description="relaxation to prior spread alpha")
    variables: list[Literal["water_depth", "water_level", "air_temperature",
                            "vehicle_count"]] = Field(
        default_factory=lambda: ["water_depth", "water_level", "air_temperature",
                                 "vehicle_count"],
        description="observed variables the filter assimilates (the others only verify)")
    estimate_forcing: bool = Field(
        True, description="estimate the rain multiplier field and the air-temperature offset "
        "with the state, so that a correction persists between cycles (the demand scale is "
        "perturbed, not estimated: trips are drawn when the mobility model starts)")
    perturbations: Perturbations = Field(default_factory=Perturbations)
    gauge_adjusted_rain: bool = Field(
        True, description="rain-gauge readings scale the rain field by the gauges' mean field "
        "bias (gauge sum / model sum) before each step")
    seed: int = Field(0, ge=0, description="seed of the perturbations, with the scenario seed")
