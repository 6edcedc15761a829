"""The scenario file: a pydantic schema loaded from YAML.

A scenario names the city (generated, or built from data files), the period, the forcing,
the models with their parameters, the interventions of the baseline and the named variants.
An error names the field, the value and what would be valid.

This is the schema of the file as written. The sections whose types come from later stages,
the models' parameters (each model's ``Params``, found through the registry) and the
interventions (types registered by the city and the model packages), are only checked for
shape here; ``metrotwin.run.scenario`` validates them into typed objects (its ``Scenario``,
``load_scenario`` and ``parse_scenario`` are the public ones, exported by ``metrotwin``).
"""

from __future__ import annotations

import copy
import os
import stat
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from metrotwin.errors import ScenarioError
from metrotwin.scenario import yamlsafe
from metrotwin.scenario.data import DataDomain, check_projected_crs
from metrotwin.scenario.files import check_file, missing_packages
from metrotwin.scenario.hazards import Hazards
from metrotwin.scenario.hazards_fit import check_hazards_fit
from metrotwin.scenario.messages import short_repr
from metrotwin.scenario.observations import AssimilationSection, ObservationsSection
from metrotwin.scenario.schema import MAX_RAIN, StrictModel, check_name, non_finite_paths
from metrotwin.scenario.units import Duration
from metrotwin.scenario.validation import format_validation_error


class Strict(StrictModel):
    """Base of every scenario section: unknown keys and NaN/inf are errors, not silently
    ignored."""

    model_config = ConfigDict(frozen=False)


#: shortest coupling interval (s): models exchange fields at most once a second
MIN_COUPLING_INTERVAL = 1.0
#: most coupling steps of a run (e.g. 11.5 days at 1 s, or a year at 32 s)
MAX_COUPLING_STEPS = 1_000_000
#: most output frames of a run (each is a full set of fields on disk)
MAX_OUTPUT_FRAMES = 100_000
#: longest simulated period (s): 100 years
MAX_PERIOD = 100 * 365.25 * 86400.0


# -- domain ----------------------------------------------------------------------------------
class GeneratedCity(Strict):
    """A synthetic city, deterministic from the scenario seed (the demo)."""

    size_x: float = Field(3000.0, gt=0, le=200_000, description="west-east extent (m)")
    size_y: float = Field(2400.0, gt=0, le=200_000, description="south-north extent (m)")
    resolution: float = Field(10.0, gt=0, le=1000, description="cell size (m)")
    crs: str = Field("EPSG:32632", description="projected CRS of the grid")
    west: float = Field(690_000.0, description="easting of the north-west corner (m)")
    north: float = Field(5_336_000.0, description="northing of the north-west corner (m)")
    block_size: float = Field(120.0, gt=20, description="street spacing (m)")
    river_width: float = Field(60.0, ge=0, description="width of the river (m)")
    relief: float = Field(25.0, ge=0, description="height of the valley sides above the river (m)")

    @field_validator("crs")
    @classmethod
    def _projected(cls, value):
        return check_projected_crs(value)

    @model_validator(mode="after")
    def _enough_cells(self):
        nx, ny = round(self.size_x / self.resolution), round(self.size_y / self.resolution)
        if nx < 16 or ny < 16:
            raise ValueError(
                f"a generated city needs at least 16x16 cells; size {self.size_x}x{self.size_y} m "
                f"at {self.resolution} m gives {nx}x{ny}"
            )
        if nx * ny > 50_000_000:
            raise ValueError(f"{nx}x{ny} cells is more than the 5e7 a generated city allows")
        return self


class Domain(Strict):
    """Exactly one of ``generated`` or ``data``."""

    generated: GeneratedCity | None = None
    data: DataDomain | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.generated is None) == (self.data is None):
            raise ValueError("give exactly one of 'generated' (a synthetic city) or 'data' (files)")
        return self


# -- period ----------------------------------------------------------------------------------
class Period(Strict):
    start: datetime = Field(description="start of the simulated period (ISO 8601)")
    end: datetime | None = Field(None, description="end (ISO 8601); or give 'duration'")
    duration: Duration | None = Field(None, description="length, e.g. '3 h'; or give 'end'")
    coupling_interval: Duration = Field(300.0, description="models exchange data this often")
    output_interval: Duration = Field(900.0, description="fields are written this often")

    @model_validator(mode="after")
    def _consistent(self):
        if (self.end is None) == (self.duration is None):
            raise ValueError("give exactly one of 'end' or 'duration'")
        seconds = self.seconds
        if not seconds > 0:
            raise ValueError(
                f"the period must end after it starts; start {self.start.isoformat()}, "
                f"length {seconds:g} s"
            )
        if seconds > MAX_PERIOD:
            raise ValueError(f"the period is {seconds:.4g} s long; at most {MAX_PERIOD:.4g} s")
        for name in ("coupling_interval", "output_interval"):
            value = getattr(self, name)
            if not value >= MIN_COUPLING_INTERVAL:
                raise ValueError(
                    f"{name} must be >= {MIN_COUPLING_INTERVAL:g} s, got {value:g}"
                )
        steps = seconds / self.coupling_interval
        if steps > MAX_COUPLING_STEPS:
            raise ValueError(
                f"{seconds:g} s at coupling_interval {self.coupling_interval:g} s is {steps:.3g} "
                f"coupling steps; at most {MAX_COUPLING_STEPS:.0e}: lengthen coupling_interval "
                f"or shorten the period"
            )
        frames = seconds / self.output_interval
        if frames > MAX_OUTPUT_FRAMES:
            raise ValueError(
                f"output_interval {self.output_interval:g} s gives {frames:.3g} output frames; "
                f"at most {MAX_OUTPUT_FRAMES:.0e}: lengthen output_interval"
            )
        if self.output_interval % self.coupling_interval > 1e-9 * self.output_interval:
            raise ValueError(
                f"output_interval ({self.output_interval:g} s) must be a multiple of "
                f"coupling_interval ({self.coupling_interval:g} s)"
            )
        return self

    @property
    def seconds(self) -> float:
        if self.duration is not None:
            return float(self.duration)
        end, start = self.end, self.start
        if (end.tzinfo is None) != (start.tzinfo is None):
            raise ValueError("start and end must both have a time zone, or neither")
        return (end - start).total_seconds()


# -- forcing ---------------------------------------------------------------------------------


class Rainfall(Strict):
    """Uniform rain by a block hyetograph, or a gridded rain file (netCDF, mm h-1)."""

    hyetograph: list[tuple[Duration, float]] | None = Field(
        None,
        description="[time since start, intensity (mm/h)] pairs; each intensity holds until the next time",
    )
    file: Path | None = Field(None, description="netCDF with rain rate (mm h-1) on (time, y, x)")
    variable: str = "rainfall_rate"

    @field_validator("file", mode="before")
    @classmethod
    def _exists(cls, value, info):
        return None if value is None else check_file(value, info)

    @field_validator("hyetograph")
    @classmethod
    def _hyetograph(cls, value):
        if value is None:
            return value
        if not value:
            raise ValueError("hyetograph is empty; give [time, mm/h] pairs")
        times = [t for t, _ in value]
        for t, rate in value:
            if not 0 <= rate <= MAX_RAIN:
                raise ValueError(
                    f"rain intensity must be >= 0 and <= {MAX_RAIN:g} mm/h, got {rate:g} at "
                    f"t={t:g} s"
                )
            if t < 0:
                raise ValueError(f"hyetograph times must be >= 0 s, got {t:g}")
        bad = next((i for i, (a, b) in enumerate(zip(times, times[1:])) if b <= a), None)
        if bad is not None:
            raise ValueError(
                f"hyetograph times must increase strictly; entry {bad + 1} ({times[bad + 1]:g} s) "
                f"is not after entry {bad} ({times[bad]:g} s)"
            )
        return value

    @model_validator(mode="after")
    def _one(self):
        if (self.hyetograph is None) == (self.file is None):
            raise ValueError("give exactly one of 'hyetograph' or 'file'")
        return self


class DesignDay(Strict):
    """A synthetic weather day (clear-sky sun, sinusoidal temperature) when no file is given."""

    air_temperature_max: float = Field(33.0, ge=-60, le=60, description="daily maximum (°C)")
    air_temperature_min: float = Field(20.0, ge=-60, le=60, description="daily minimum (°C)")
    hour_of_max: float = Field(15.0, ge=0, lt=24, description="local solar hour of the maximum")
    relative_humidity: float = Field(45.0, gt=0, le=100, description="mean relative humidity (%)")
    wind_speed: float = Field(2.0, ge=0, le=60, description="wind speed at 10 m (m/s)")
    wind_direction: float = Field(225.0, ge=0, le=360, description="wind from, degrees from north")
    cloud_cover: float = Field(0.0, ge=0, le=1, description="cloud fraction (0-1)")

    @model_validator(mode="after")
    def _order(self):
        if self.air_temperature_min > self.air_temperature_max:
            raise ValueError(
                f"air_temperature_min ({self.air_temperature_min}) is above "
                f"air_temperature_max ({self.air_temperature_max})"
            )
        return self


class Weather(Strict):
    """The weather of the period: a design day or a file (EPW, or CSV with units)."""

    design_day: DesignDay | None = None
    file: Path | None = Field(None, description="EPW (.epw) or CSV (.csv) weather file")
    latitude: float | None = Field(None, ge=-90, le=90, description="default: domain centre")
    longitude: float | None = Field(None, ge=-180, le=180, description="default: domain centre")
    utc_offset: float | None = Field(
        None, ge=-12, le=14, description="local time zone (h); default: from the longitude"
    )

    @field_validator("file", mode="before")
    @classmethod
    def _exists(cls, value, info):
        return None if value is None else check_file(value, info)

    @model_validator(mode="after")
    def _one(self):
        if (self.design_day is None) == (self.file is None):
            raise ValueError("give exactly one of 'design_day' or 'file'")
        return self


class Forcing(Strict):
    rainfall: Rainfall | None = None
    weather: Weather | None = None


# -- variants --------------------------------------------------------------------------------
class Variant(Strict):
    """A what-if: interventions added to the baseline's, and parameter overrides."""

    description: str = ""
    interventions: list[dict] = Field(default_factory=list)
    models: dict[str, dict] = Field(default_factory=dict)
    forcing: dict = Field(default_factory=dict)


class Parallel(Strict):
    """How a run uses a cluster: the grid's layout over MPI ranks (default: chosen by
    MPI_Dims_create) and how often it saves a checkpoint to restart from."""

    layout: tuple[int, int] | None = Field(None, description="[ranks along y, ranks along x]")
    checkpoint_interval: Duration | None = Field(
        None, description="simulated time between checkpoints (a multiple of coupling_interval)"
    )

    @field_validator("layout")
    @classmethod
    def _layout(cls, value):
        if value is not None and min(value) < 1:
            raise ValueError(f"layout {list(value)} needs at least one rank along each axis")
        return value

    @field_validator("checkpoint_interval")
    @classmethod
    def _positive(cls, value):
        if value is not None and not value > 0:
            raise ValueError(f"checkpoint_interval must be > 0 s, got {value:g}")
        return value


class Scenario(Strict):
    """A scenario file, validated. ``models`` and ``interventions`` hold validated objects."""

    name: str = Field(description="the run folder's name: letters, digits, '_', '-', '.'")
    description: str = ""
    seed: int = Field(0, ge=0, lt=2**63)
    domain: Domain
    period: Period
    forcing: Forcing = Field(default_factory=Forcing)
    models: dict[str, Any] = Field(default_factory=dict)
    interventions: list[Any] = Field(default_factory=list)
    variants: dict[str, Variant] = Field(default_factory=dict)
    parallel: Parallel = Field(default_factory=Parallel)
    #: sensor readings (``metrotwin.scenario.observations.ObservationsSection``) and the filter that
    #: assimilates them (``AssimilationSection``); None without
    observations: Any = None
    assimilation: Any = None
    #: a risk run's events and uncertain inputs (``metrotwin.scenario.hazards``); None: one
    #: deterministic run per variant
    hazards: Hazards | None = None

    @field_validator("observations", "assimilation", mode="before")
    @classmethod
    def _observe_sections(cls, value, info):
        schema = ObservationsSection if info.field_name == "observations" else AssimilationSection
        return None if value is None else schema.model_validate(value, context=info.context)

    @model_validator(mode="after")
    def _observations_are_assimilated(self):
        # readings with no filter would be read, checked and then ignored: say so instead
        if self.observations is not None and self.assimilation is None:
            raise ValueError("observations: the readings are used by an assimilation; add an "
                             "'assimilation:' section (method: letkf or nudging) or remove "
                             "'observations:'")
        if self.assimilation is not None and self.observations is None:
            raise ValueError("assimilation: needs an 'observations:' section (the readings to "
                             "assimilate)")
        return self

    @model_validator(mode="after")
    def _hazards_fit(self):
        if self.hazards is not None:
            check_hazards_fit(self)
        return self

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value):
        return check_name(value, "scenario name", reserved={"comparison"})

    @field_validator("models", mode="before")
    @classmethod
    def _models(cls, value):
        return cls.parse_models(value)

    @field_validator("interventions", mode="before")
    @classmethod
    def _interventions(cls, value):
        return cls.parse_interventions(value)

    @classmethod
    def parse_models(cls, value) -> dict[str, Any]:
        """The ``models`` section: model name -> its parameters. Here only its shape is
        checked; ``metrotwin.run.scenario.Scenario`` validates each against the model's
        ``Params``."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("'models' maps model names to their parameters")
        return dict(value)

    @classmethod
    def parse_interventions(cls, value) -> list[Any]:
        """The ``interventions`` section: a list. Here only its shape is checked;
        ``metrotwin.run.scenario.Scenario`` validates each into its registered type."""
        value = value or []  # `interventions:` left empty is none
        if not isinstance(value, list):
            raise ValueError(f"interventions must be a list, got {short_repr(value)}")
        return list(value)

    @field_validator("variants")
    @classmethod
    def _variant_names(cls, value):
        for name in value:
            check_name(name, "variant name")
        return value

    @model_validator(mode="after")
    def _checkpoints(self):
        interval = self.parallel.checkpoint_interval
        if interval is not None and interval < self.period.coupling_interval:
            raise ValueError(
                f"parallel.checkpoint_interval ({interval:g} s) is shorter than "
                f"period.coupling_interval ({self.period.coupling_interval:g} s); checkpoints "
                f"are taken between coupling steps"
            )
        return self

    @model_validator(mode="after")
    def _variants_resolve(self):
        for name in self.variants:
            try:
                self.resolve_variant(name)
            except ValidationError as err:
                raise ValueError(format_validation_error(err, prefix=f"variants.{name}")) from None
        return self

    # -- variants ---------------------------------------------------------------------------
    @property
    def variant_names(self) -> list[str]:
        return ["baseline", *self.variants]

    def resolve_variant(self, name: str) -> Self:
        """The baseline with variant ``name``'s interventions and overrides applied."""
        if name == "baseline":
            return self
        if name not in self.variants:
            raise ScenarioError(
                f"unknown variant {name!r}; this scenario has: {', '.join(self.variant_names)}"
            )
        variant = self.variants[name]
        data = self.model_dump(mode="python", exclude={"variants", "models", "interventions"})
        data["forcing"] = _deep_merge(
            self.forcing.model_dump(mode="python", exclude_none=True), variant.forcing
        )
        models = {
            model_name: params.model_dump(mode="python") if isinstance(params, BaseModel)
            else copy.deepcopy(dict(params or {}))
            for model_name, params in self.models.items()
        }
        for model_name, overrides in variant.models.items():
            if model_name not in models:
                raise ValueError(
                    f"variants.{name}.models.{model_name}: not a model of the baseline "
                    f"(the baseline has: {', '.join(models) or 'none'})"
                )
            models[model_name] = _deep_merge(models[model_name], overrides or {})
        data["models"] = models
        data["interventions"] = [*self.interventions, *variant.interventions]
        data["name"] = self.name
        return type(self).model_validate(data, context={"base_dir": None})


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


# -- loading ---------------------------------------------------------------------------------
def validate_scenario(
    schema: type[Scenario], data: Any, *, source: str = "scenario", base_dir: Path | None = None
) -> Scenario:
    """Validate parsed YAML ``data`` as ``schema`` (this module's ``Scenario``, or
    ``metrotwin.run.scenario.Scenario`` for the full check); ScenarioError names every field
    that is wrong."""
    if not isinstance(data, dict):
        raise ScenarioError(
            f"a scenario is a mapping of fields (name, domain, period, ...), got {type(data).__name__}",
            source=source,
        )
    bad = non_finite_paths(data)
    if bad:  # caught here for every section, also a third-party model's parameters
        raise ScenarioError(
            f"{'; '.join(bad)}: NaN and infinite numbers are not valid values; give finite ones",
            source=source,
        )
    packages = missing_packages(data)
    if packages:  # one message, not one per source that names the package
        raise ScenarioError(packages, source=source)
    try:
        return schema.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as err:
        raise ScenarioError(format_validation_error(err), source=source) from None
    except (ValueError, TypeError) as err:  # raised by validators outside pydantic's wrapping
        raise ScenarioError(str(err), source=source) from None


def read_yaml(path: Path) -> Any:
    """The parsed scenario file; duplicate keys, alias bombs and non-files are refused (see
    ``metrotwin.scenario.yamlsafe``)."""
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise ScenarioError("not a regular file (a folder, FIFO or device)", source=str(path))
        if os.stat(path).st_size > yamlsafe.MAX_BYTES:
            raise ScenarioError(
                f"the file is larger than {yamlsafe.MAX_BYTES} bytes; a scenario is far smaller",
                source=str(path),
            )
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("scenario file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ScenarioError(
            f"cannot read the scenario file ({type(err).__name__}: {short_repr(str(err), 120)})",
            source=str(path),
        ) from None
    try:
        return yamlsafe.load(text)
    except yamlsafe.YamlProblem as err:
        raise ScenarioError(str(err), source=str(path)) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ScenarioError(f"YAML syntax error at {where}{problem}", source=str(path)) from None


def validate_file(schema: type[Scenario], path: str | Path | None = None) -> Scenario:
    """Read and validate scenario file ``path`` (default: the built-in demo) as ``schema``."""
    path = Path(path) if path is not None else demo_scenario_path()
    data = read_yaml(path)
    return validate_scenario(schema, data, source=str(path), base_dir=path.resolve().parent)


def demo_scenario_path() -> Path:
    """The built-in demo scenario (``metrotwin.scenarios``' demo.yaml)."""
    return Path(str(files("metrotwin.scenarios").joinpath("demo.yaml")))
