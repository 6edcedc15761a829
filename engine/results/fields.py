"""What the output fields mean to a planner: labels, display units, how a map summarises the
run (peak water depth, lowest road speed) and which direction of a change is an improvement.

The comparison (``metrotwin.results.compare``) computes its numbers and verdicts from this
table; ``metrotwin.viz`` draws them (the colour map named here is read there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metrotwin.physics import KELVIN_OFFSET


@dataclass(frozen=True)
class FieldStyle:
    """How one field is shown.

    name : variable name in fields.nc (the coupling name of the contract).
    label : what it is, in a planner's words.
    units : the units it is shown in (after ``convert``).
    cmap : matplotlib colour map of the values.
    offset, scale : display value = (value + offset) * scale (K -> °C, m/s -> km/h).
    summary : how a map summarises the run: "max" or "min" over time.
    summary_label : the label of that summary ("peak water depth").
    better : "lower", "higher" or "neither": which direction of a change is an improvement.
    threshold : values at or below this (display units) are not drawn (dry cells).
    """

    name: str
    label: str
    units: str
    cmap: str
    offset: float = 0.0
    scale: float = 1.0
    summary: str = "max"
    summary_label: str = ""
    better: str = "lower"
    threshold: float | None = None

    def display(self, values):
        """Values in display units (float64; NaN stays NaN)."""
        return (np.asarray(values, dtype="float64") + self.offset) * self.scale

    @property
    def title(self) -> str:
        return f"{self.label} ({self.units})"

    @property
    def summary_title(self) -> str:
        return f"{self.summary_label or self.label} ({self.units})"


FIELDS: dict[str, FieldStyle] = {
    s.name: s
    for s in (
        FieldStyle(
            "flood_water_thickness",
            "Water depth",
            "m",
            "Blues",
            summary_label="Peak water depth",
            threshold=0.02,
        ),
        FieldStyle(
            "flood_water_speed",
            "Flow speed of flood water",
            "m/s",
            "viridis",
            summary_label="Peak flow speed of flood water",
        ),
        FieldStyle(
            "universal_thermal_comfort_index",
            "Felt temperature (UTCI)",
            "°C",
            "RdYlBu_r",
            summary_label="Highest felt temperature (UTCI)",
        ),
        FieldStyle(
            "surface_temperature",
            "Surface temperature",
            "°C",
            "inferno",
            offset=-KELVIN_OFFSET,
            summary_label="Highest surface temperature",
        ),
        FieldStyle(
            "air_temperature",
            "Air temperature",
            "°C",
            "RdYlBu_r",
            offset=-KELVIN_OFFSET,
            summary_label="Highest air temperature",
        ),
        FieldStyle(
            "mean_radiant_temperature",
            "Mean radiant temperature",
            "°C",
            "magma",
            offset=-KELVIN_OFFSET,
            summary_label="Highest mean radiant temperature",
        ),
        FieldStyle(
            "traffic_heat_flux",
            "Heat from traffic",
            "W/m²",
            "YlOrBr",
            summary_label="Peak heat from traffic",
        ),
        FieldStyle(
            "link_speed",
            "Road speed",
            "km/h",
            "RdYlGn",
            scale=3.6,
            summary="min",
            summary_label="Lowest road speed",
            better="higher",
        ),
        FieldStyle(
            "link_flow",
            "Traffic flow",
            "vehicles/h",
            "viridis",
            summary_label="Peak traffic flow",
            better="higher",
        ),
        FieldStyle(
            "link_max_flood_depth",
            "Water on the road",
            "m",
            "Blues",
            summary_label="Deepest water on the road",
        ),
    )  # fmt: skip
}

#: The fields a 3D scene drapes on the ground, in order of preference ("heat" layer).
HEAT_FIELDS = ("universal_thermal_comfort_index", "surface_temperature", "air_temperature")
#: The fields of the comparison's difference maps, in order (those present are drawn).
MAP_FIELDS = ("flood_water_thickness", "universal_thermal_comfort_index", "surface_temperature")
#: Link fields of the comparison's road maps.
LINK_MAP_FIELDS = ("link_speed",)

#: Intervention change classes of the "what each variant changes" map, in order.
CHANGE_CLASSES = (
    "green roof",
    "cool roof",
    "cool pavement",
    "permeable paving",
    "trees planted",
    "drainage upgraded",
    "ground reshaped (pond, levee)",
    "other land-cover change",
)


def style_of(name: str) -> FieldStyle:
    """The style of a field; fields without an entry get a neutral style named after them."""
    if name in FIELDS:
        return FIELDS[name]
    return FieldStyle(name, name.replace("_", " "), "", "viridis", summary_label=name)


def verdict(change: float | None, better: str, *, rel_tol: float = 1e-9) -> str:
    """ "better", "worse" or "same" for a change of an indicator whose ``better`` is given;
    "changed" where neither direction is an improvement (``better="neither"``: a budget
    term, a model check)."""
    if change is None or not np.isfinite(change) or abs(change) <= rel_tol:
        return "same"
    if better not in ("lower", "higher"):
        return "changed"
    improved = change < 0 if better == "lower" else change > 0
    return "better" if improved else "worse"


def label_in_sentence(text: str) -> str:
    """A field's label inside a sentence: the first letter lower-cased unless the first word
    is an acronym ("Water depth" -> "water depth", "UTCI ..." stays)."""
    first = text.split(" ")[0]
    return text if first.isupper() else text[:1].lower() + text[1:]
