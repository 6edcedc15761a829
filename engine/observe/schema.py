"""The ``observations:`` section of a scenario: where the sensor readings come from, which
sensors are withheld from assimilation (to verify against), and the snapping tolerance.

Paths are relative to the scenario file's folder. Times written without a UTC offset are read
in ``naive_timezone`` (default UTC): a logger that writes local time must say so here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, field_validator

from metrotwin.observe.variables import OBSERVED
from metrotwin.scenario.units import Duration


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

    @field_validator("error_std")
    @classmethod
    def _known_variables(cls, value):
        for name in value:
            if name not in OBSERVED:
                raise ValueError(f"unknown variable {name!r} in error_std; known: "
                                 f"{', '.join(OBSERVED)}")
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
                if name not in OBSERVED:
                    raise ValueError(f"{source.path}: variables maps to {name!r}, which is not "
                                     f"an observed variable; known: {', '.join(OBSERVED)}")
        return sources
