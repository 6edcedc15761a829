"""The fields the browser viewer offers, and how each is drawn.

A field is one of four kinds:

- ``grid``: a (time, y, x) variable of ``fields.nc``, draped over the ground;
- ``peak``: the largest value of a grid variable from the start up to the chosen time
  (maximum water depth so far), draped;
- ``link``: a (time, link) variable, colouring the road lines (traffic speed);
- ``district``: an indicator split by district in ``indicators.json`` (the walkers' and
  cyclists' heat exposure by home district, at the end of the run: the model sums it over
  the trips and writes no per-agent or per-time value), colouring each district's ground.

Labels, units and colour maps come from ``metrotwin.results.fields.FIELDS`` where the
variable has an entry; the derived fields have their own here.
"""

from __future__ import annotations

from dataclasses import dataclass

from metrotwin.results.fields import FIELDS, FieldStyle


@dataclass(frozen=True)
class ViewField:
    """One entry of the picker: ``name`` (its key), ``kind`` (see the module), ``source``
    (the variable or ``model.indicator`` read), ``style`` (label, units, colours);
    ``stored``: a variable holding the "peak" already (read instead, when the run has it)."""

    name: str
    kind: str
    source: str
    style: FieldStyle
    stored: str | None = None


PEAK_DEPTH = FieldStyle("peak_water_depth", "Maximum water depth so far", "m", "Blues",
                        threshold=0.02)  # fmt: skip
# the model's first UTCI threshold (32 °C by default) is the base of the degree-minutes
EXPOSURE = FieldStyle("heat_exposure_degree_minutes",
                      "Heat exposure per walker or cyclist, by home district, end of run",
                      "K min", "YlOrRd")  # fmt: skip

#: The picker, in order (those the run has are offered).
VIEW_FIELDS: tuple[ViewField, ...] = (
    ViewField("flood_water_thickness", "grid", "flood_water_thickness",
              FIELDS["flood_water_thickness"]),
    # the flood model writes its running maximum over every model step; else outputs' maximum
    ViewField("peak_water_depth", "peak", "flood_water_thickness", PEAK_DEPTH,
              stored="flood_depth_max"),
    *(ViewField(n, "grid", n, FIELDS[n]) for n in (
        "universal_thermal_comfort_index", "air_temperature", "surface_temperature",
        "mean_radiant_temperature")),
    ViewField("link_speed", "link", "link_speed", FIELDS["link_speed"]),
    ViewField("heat_exposure_degree_minutes", "district",
              "mobility.heat_exposure_degree_minutes", EXPOSURE),
)  # fmt: skip
BY_NAME = {f.name: f for f in VIEW_FIELDS}
DRAPED = ("grid", "peak", "district")


def view_field(name: str) -> ViewField:
    """The picker entry ``name``; KeyError naming the choices when there is none."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"field {name!r}: the viewer shows {', '.join(BY_NAME)}") from None
