"""Interventions: typed edits of the city state, applied before the models start.

A scenario lists them with a ``type`` (``green_roof``, ``levee``, ...); each type is a pydantic
model registered here or by a model package (``register_intervention``). They change what the
models see: land-cover classes (a cool roof is the class ``cool_roof``, and each model's
parameter table says what that means for it), terrain, tree canopy, drainage capacity, or the
road network.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import ConfigDict, Field, ValidationError, model_validator

from metrotwin.city import landcover
from metrotwin.city.citygen import cell_uniform
from metrotwin.city.geometry import Area, Line
from metrotwin.scenario.messages import short_repr
from metrotwin.scenario.schema import StrictModel
from metrotwin.scenario.validation import format_validation_error

if TYPE_CHECKING:
    from metrotwin.city.state import CityState

INTERVENTIONS: dict[str, type[Intervention]] = {}


class Intervention(StrictModel):
    """Base of every intervention type. Subclasses set ``type: Literal["name"] = "name"``."""

    model_config = ConfigDict(extra="forbid")

    type: str
    label: str = Field("", description="a name for reports")
    #: the state variables this intervention edits; the run refuses it if one is absent.
    edits: ClassVar[tuple[str, ...]] = ()

    def apply(self, state: CityState, rng: np.random.Generator) -> int:
        """Edit the state; return the number of cells (or links) changed."""
        raise NotImplementedError

    def selection(self, state: CityState) -> np.ndarray | None:
        """The cells this intervention's area (``where``, a levee's line) selects, before its
        own conditions (a roof, open ground, no building); None when it does not select grid
        cells (links, shares of a layer). ``metrotwin validate --cells`` shows their count."""
        where = getattr(self, "where", None)
        return where.mask(state) if isinstance(where, Area) else None


def register_intervention(cls: type[Intervention]) -> type[Intervention]:
    """Class decorator: make an intervention type usable in scenario files."""
    name = cls.model_fields["type"].default
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__} needs a default for its 'type' field")
    INTERVENTIONS[name] = cls
    return cls


def parse_interventions(items) -> list[Intervention]:
    """Validate a list of interventions (dicts with a ``type``) into typed objects. A model
    package registers its own types when it is imported: the scenario loads every model
    (``metrotwin.run.registry.list_models``) before it parses its interventions."""
    if not isinstance(items, list):
        raise ValueError(f"interventions must be a list, got {short_repr(items)}")
    parsed = []
    for i, item in enumerate(items):
        if isinstance(item, Intervention):
            parsed.append(item)
            continue
        if not isinstance(item, dict) or "type" not in item:
            raise ValueError(f"[{i + 1}]: needs a 'type' (one of {', '.join(sorted(INTERVENTIONS))})")
        kind = item["type"]
        if kind not in INTERVENTIONS:
            raise ValueError(
                f"[{i + 1}]: unknown intervention type {kind!r}; valid types: {', '.join(sorted(INTERVENTIONS))}"
            )
        try:
            parsed.append(INTERVENTIONS[kind].model_validate(item))
        except ValidationError as err:
            raise ValueError(format_validation_error(err, prefix=f"[{i + 1}] ({kind})")) from None
    return parsed


def apply_interventions(state: CityState, interventions, rng: np.random.Generator) -> dict:
    """Apply each intervention in order; returns label -> cells changed (for the log)."""
    return {label: changed for label, _, changed in intervention_cells(state, interventions, rng)}


def intervention_cells(state: CityState, interventions, rng: np.random.Generator
                       ) -> list[tuple[str, int | None, int]]:  # fmt: skip
    """Apply each intervention in order; returns (label, cells its area selects or None,
    cells or links changed) for each. Counts are this rank's (a serial state: the city's)."""
    rows = []
    for i, item in enumerate(interventions):
        missing = [name for name in item.edits if name not in state]
        if missing:
            raise ValueError(
                f"intervention #{i + 1} ({item.type}) edits {', '.join(missing)}, which this "
                f"scenario's city and models do not have"
            )
        selected = item.selection(state)
        changed = item.apply(state, rng)
        rows.append((item.label or f"{i + 1}:{item.type}",
                     None if selected is None else int(selected.sum()), changed))  # fmt: skip
    return rows


# -- land-cover changes ----------------------------------------------------------------------
class _Reclassify(Intervention):
    """Turn cells of some classes into another class, within an area, up to a fraction."""

    where: Area = Field(default_factory=Area)
    fraction: float = Field(1.0, gt=0, le=1, description="share of the eligible cells converted")
    edits: ClassVar[tuple[str, ...]] = ("land_cover",)
    source_classes: ClassVar[tuple[str, ...]] = ()
    target_class: ClassVar[str] = ""

    def apply(self, state, rng):
        cover = state["land_cover"]
        eligible = self.where.mask(state) & np.isin(
            cover, [landcover.code_of(c) for c in self.source_classes]
        )
        chosen = _choose(eligible, self.fraction, state, self.type)
        cover[chosen] = landcover.code_of(self.target_class)
        return int(chosen.sum())


def _choose(eligible: np.ndarray, fraction: float, state, stream: str) -> np.ndarray:
    """A random ``fraction`` of the eligible cells, each cell's draw keyed by its global
    index, the scenario seed and the intervention type: the same cells are chosen whichever
    rank holds them."""
    if fraction >= 1:
        return eligible
    key = sum(ord(c) * 31**i for i, c in enumerate(stream)) % 2**32
    return eligible & (cell_uniform(state.seed, key, state.global_cell_index()) < fraction)


@register_intervention
class GreenRoof(_Reclassify):
    """Extensive green roofs on conventional roofs (retains rain, evaporates)."""

    type: Literal["green_roof"] = "green_roof"
    source_classes = ("roof", "cool_roof")
    target_class = "green_roof"


@register_intervention
class CoolRoof(_Reclassify):
    """High-albedo coating on conventional roofs."""

    type: Literal["cool_roof"] = "cool_roof"
    source_classes = ("roof",)
    target_class = "cool_roof"


@register_intervention
class CoolPavement(_Reclassify):
    """High-albedo coating on sealed ground (roads and pavements)."""

    type: Literal["cool_pavement"] = "cool_pavement"
    source_classes = ("road", "paved")
    target_class = "cool_pavement"


@register_intervention
class PermeablePaving(_Reclassify):
    """Sealed pavements, plazas and parking replaced by permeable paving."""

    type: Literal["permeable_paving"] = "permeable_paving"
    source_classes = ("paved",)
    target_class = "permeable_paving"


@register_intervention
class Trees(Intervention):
    """Plant street and park trees: a canopy of ``height`` over a share of open ground."""

    type: Literal["trees"] = "trees"
    where: Area = Field(default_factory=Area)
    height: float = Field(10.0, gt=0, le=60, description="canopy top above ground (m)")
    fraction: float = Field(0.3, gt=0, le=1, description="share of eligible cells planted")
    ground: list[str] = Field(
        default_factory=lambda: ["paved", "grass", "permeable_paving", "cool_pavement"],
        description="land-cover classes trees may stand on",
    )
    edits: ClassVar[tuple[str, ...]] = ("tree_canopy_height",)

    def apply(self, state, rng):
        canopy = state["tree_canopy_height"]
        classes = [landcover.code_of(c) for c in self.ground]
        eligible = self.where.mask(state) & np.isin(state["land_cover"], classes) & (canopy <= 0)
        if "link_cell_index" in state:  # never in a carriageway, whatever its surface
            eligible.flat[state["link_cell_index"]] = False
        chosen = _choose(eligible, self.fraction, state, self.type)
        canopy[chosen] = self.height
        return int(chosen.sum())


# -- terrain and water -----------------------------------------------------------------------
@register_intervention
class Levee(Intervention):
    """A levee or flood wall: raises the ground along a line to a crest."""

    type: Literal["levee"] = "levee"
    line: list[tuple[float, float]] = Field(description="[[x, y], ...] in the grid CRS (m)")
    width: float = Field(4.0, ge=0, description="crest width (m)")
    crest_height: float | None = Field(None, gt=0, le=30, description="crest above the local ground (m)")
    crest_elevation: float | None = Field(None, description="absolute crest elevation (m)")
    edits: ClassVar[tuple[str, ...]] = ("surface_altitude",)

    @model_validator(mode="after")
    def _one_crest(self):
        if (self.crest_height is None) == (self.crest_elevation is None):
            raise ValueError("give exactly one of crest_height or crest_elevation")
        Line(line=self.line, width=self.width)
        return self

    def selection(self, state):
        return Line(line=self.line, width=self.width).mask(state)

    def apply(self, state, rng):
        z = state["surface_altitude"]
        cells = self.selection(state)
        crest = (z + self.crest_height) if self.crest_height is not None else self.crest_elevation
        z[cells] = np.maximum(z, crest)[cells]
        return int(cells.sum())


@register_intervention
class RetentionPond(Intervention):
    """A retention basin: inside ``where``, the ground of every cell lowered by ``depth`` (m)
    and grassed. Buildings stay; so do roads (the land-cover class ``road`` and every cell a
    road link runs through): a pond does not dig up a street. The road cells left out are
    counted in a warning, so a basin drawn across a street says so."""

    type: Literal["retention_pond"] = "retention_pond"
    where: Area
    depth: float = Field(gt=0, le=20, description="excavation depth below the ground (m)")
    edits: ClassVar[tuple[str, ...]] = ("surface_altitude", "land_cover", "building_height")

    def apply(self, state, rng):
        area = self.where.mask(state) & (state["building_height"] <= 0)
        road = _road_cells(state)
        cells = area & ~road
        # over the whole city (each rank counts the cells it owns): one number, said once
        skipped = int(state.decomposition.allreduce_sum(state.owned(area & road).astype(np.int64)))
        if skipped:
            warnings.warn(f"retention_pond{f' {self.label!r}' if self.label else ''}: "
                          f"{skipped} road cells in its area are left as they are",
                          stacklevel=2)  # fmt: skip
        state["surface_altitude"][cells] -= self.depth
        state["land_cover"][cells] = landcover.code_of("grass")
        return int(cells.sum())


def _road_cells(state) -> np.ndarray:
    """Cells of the land-cover class ``road`` or under a road link of the network."""
    road = state["land_cover"] == landcover.code_of("road")
    if "link_cell_index" in state:
        road.flat[np.asarray(state["link_cell_index"], dtype=np.int64)] = True
    return road


@register_intervention
class WaterBody(Intervention):
    """A new pond or canal: open water inside a polygon, ground lowered by ``depth``."""

    type: Literal["water_body"] = "water_body"
    where: Area
    depth: float = Field(1.0, ge=0, le=20, description="water depth below the former ground (m)")
    edits: ClassVar[tuple[str, ...]] = ("surface_altitude", "land_cover", "building_height")

    def apply(self, state, rng):
        cells = self.where.mask(state) & (state["building_height"] <= 0)
        state["surface_altitude"][cells] -= self.depth
        state["land_cover"][cells] = landcover.code_of("water")
        return int(cells.sum())


@register_intervention
class DrainageUpgrade(Intervention):
    """Storm-water drainage with more inlet capacity in an area."""

    type: Literal["drainage_upgrade"] = "drainage_upgrade"
    where: Area = Field(default_factory=Area)
    capacity: float | None = Field(None, ge=0, le=1000, description="new capacity (mm/h)")
    increase: float | None = Field(None, gt=0, le=1000, description="added capacity (mm/h)")
    edits: ClassVar[tuple[str, ...]] = ("drainage_capacity",)

    @model_validator(mode="after")
    def _one_capacity(self):
        if (self.capacity is None) == (self.increase is None):
            raise ValueError("give exactly one of capacity or increase (mm/h)")
        return self

    def apply(self, state, rng):
        cells = self.where.mask(state)
        cap = state["drainage_capacity"]
        cap[cells] = self.capacity if self.capacity is not None else cap[cells] + self.increase
        return int(cells.sum())
