"""What sensors may measure: each observed variable's model units, plausible range, whether it
lives on a grid cell or a road link, and the CF standard names that identify it in a file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObservedVariable:
    """One kind of measurement.

    ``units`` are the model's units (what every reading is converted to); ``valid_min`` and
    ``valid_max`` bound a plausible reading in those units (outside: rejected as out of range);
    ``on`` is ``"cell"`` or ``"link"``; ``at_ground`` says a sensor of it cannot stand inside a
    building (a rain gauge may sit on a roof, a depth gauge may not).
    """

    name: str
    units: str
    long_name: str
    valid_min: float
    valid_max: float
    on: str = "cell"
    at_ground: bool = True
    standard_names: tuple[str, ...] = ()


#: the variables metrotwin assimilates, by name (the ``variable`` column of a CSV).
OBSERVED: dict[str, ObservedVariable] = {
    v.name: v
    for v in (
        # depth: 0 to 20 m covers any urban flood (deeper is a gauge in a river channel fault)
        ObservedVariable("water_depth", "m", "depth of water above the ground", 0.0, 20.0,
                         standard_names=("flood_water_thickness",)),
        # stage: a water-surface elevation anywhere on Earth (Dead Sea to high plateaux)
        ObservedVariable("water_level", "m", "water-surface elevation (stage)", -450.0, 6000.0,
                         standard_names=("water_surface_height_above_reference_datum",)),
        # rain rate: the world record is about 1.2 mm per minute over an hour (~ 305 mm h-1)
        ObservedVariable("rain_rate", "mm h-1", "rain rate at the gauge", 0.0, 500.0,
                         at_ground=False, standard_names=("rainfall_rate", "precipitation_flux",
                                                          "lwe_precipitation_rate")),
        # near-surface air temperature: the recorded extremes are -89.2 and +56.7 degC
        ObservedVariable("air_temperature", "K", "near-surface air temperature", 183.15, 333.15,
                         standard_names=("air_temperature",)),
        # vehicles counted on a link in one counting interval (a motorway lane passes ~2200 h-1)
        ObservedVariable("vehicle_count", "1", "vehicles counted in the interval", 0.0, 1.0e5,
                         on="link"),
        # mean speed of the counted vehicles: 0 to 100 m s-1 (360 km h-1)
        ObservedVariable("vehicle_speed", "m s-1", "mean speed of the vehicles on the link",
                         0.0, 100.0, on="link"),
    )
}


def observed(name: str) -> ObservedVariable | None:
    """The observed variable of that name, or ``None``."""
    return OBSERVED.get(name)


def by_standard_name(standard_name: str) -> ObservedVariable | None:
    """The observed variable a CF ``standard_name`` identifies, or ``None``."""
    for var in OBSERVED.values():
        if standard_name in var.standard_names:
            return var
    return None
