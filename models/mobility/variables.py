"""The variables the mobility model reads and writes in the shared state (the coupler
allocates those it writes): flood and heat inputs, link outputs, traffic heat onto the grid."""

from __future__ import annotations

from metrotwin.city.variables import VarSpec


def _var(intent, units, doc, mapping="grid", **kw):
    return VarSpec(intent=intent, units=units, doc=doc, mapping=mapping, **kw)


#: name -> declaration, ``MobilityModel.variables``
VARIABLES = {
    "link_max_flood_depth": _var("in", "m", "maximum flood depth along the link", "link",
                                 optional=True),
    "flood_water_thickness": _var("in", "m", "flood water depth", optional=True,
                                  standard_name="flood_water_thickness"),
    "flood_water_speed": _var("in", "m s-1", "flood water speed", optional=True,
                              standard_name="flood_water_speed"),
    "universal_thermal_comfort_index": _var(
        "in", "degree_C", "universal thermal climate index", optional=True,
        standard_name="universal_thermal_comfort_index"),
    "traffic_heat_flux": _var("out", "W m-2", "anthropogenic heat flux from road traffic"),
    "link_speed": _var("out", "m s-1", "speed a car entering the link can expect", "link"),
    "link_flow": _var("out", "h-1", "vehicles leaving the link per hour", "link"),
    "link_occupancy": _var("out", "1", "vehicles on the link", "link"),
    "link_closed": _var("out", "1", "link closed (1) by flood or intervention", "link",
                        dtype="int8", attrs={"flag_values": [0, 1],
                                             "flag_meanings": "open closed"}),
    "link_flood_hazard": _var("out", "1", "largest flood hazard rating along the link "
                              "(FD2320)", "link"),
}
