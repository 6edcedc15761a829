"""metrotwin's land-cover classes, by name: the vocabulary a scenario file uses (a data
source's ``mapping``, ``default_land_cover``, an intervention's classes). The codes are those of
the ``land_cover`` layer; ``metrotwin.city.landcover`` maps per-class tables onto it.
"""

from __future__ import annotations

#: code -> (name, description). Codes are stable: they are stored in fields.nc.
LAND_COVER_CLASSES: dict[int, tuple[str, str]] = {
    1: ("water", "open water: river, lake, pond"),
    2: ("roof", "conventional building roof"),
    3: ("green_roof", "extensive green roof on a building"),
    4: ("cool_roof", "high-albedo (cool) building roof"),
    5: ("road", "asphalt road surface"),
    6: ("paved", "other sealed surface: pavement, plaza, parking"),
    7: ("cool_pavement", "high-albedo sealed surface"),
    8: ("permeable_paving", "permeable paving"),
    9: ("grass", "grass, lawn, park meadow"),
    10: ("trees", "ground under tree cover (park woodland)"),
    11: ("bare_soil", "bare soil, construction site"),
    12: ("cropland", "agricultural land, allotments"),
}

CODE: dict[str, int] = {name: code for code, (name, _) in LAND_COVER_CLASSES.items()}
NAMES: list[str] = [name for _, (name, _) in sorted(LAND_COVER_CLASSES.items())]
ROOF_CLASSES = ("roof", "green_roof", "cool_roof")
SEALED_CLASSES = ("roof", "green_roof", "cool_roof", "road", "paved", "cool_pavement")


def code_of(name: str) -> int:
    """The code of a class name, or a ValueError listing the valid names."""
    try:
        return CODE[name]
    except KeyError:
        raise ValueError(
            f"unknown land-cover class {name!r}; valid classes: {', '.join(NAMES)}"
        ) from None
