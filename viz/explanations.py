"""Known explanations of results that surprise a reader, keyed by intervention and indicator.

A planner who sees cool roofs *raise* the felt temperature of people walking in the street
suspects a bug; it is physics (the roofs and pavements reflect sunlight onto them). The
report shows an explanation beside a variant's result when the variant adds one of the
interventions of an entry and the indicator moves in the entry's direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch


@dataclass(frozen=True)
class Explanation:
    """interventions : intervention types (scenario ``type``) any of which the variant adds.
    indicators : "model.name" patterns (fnmatch) of the indicators explained.
    rises : True when the explanation is of a rise of the indicator, False of a fall.
    question : the surprise, as a reader would ask about it.
    text : the answer a planner reads, with its source.
    """

    interventions: tuple[str, ...]
    indicators: tuple[str, ...]
    rises: bool
    question: str
    text: str


#: felt temperature and heat exposure of people outdoors
_FELT = (
    "heat.utci_*",
    "heat.strong_heat_stress_*",
    "heat.very_strong_heat_stress_*",
    "heat.tmrt*",
    "mobility.heat_exposure_*",
    "maps.universal_thermal_comfort_index_*",
)

EXPLANATIONS: tuple[Explanation, ...] = (
    Explanation(
        ("cool_roof", "cool_pavement"), _FELT, True,
        "Why can cool roofs and pavements make people outdoors hotter?",
        "Cool roofs and pavements reflect more sunlight. Surfaces and air get cooler, but "
        "people in the street receive the reflected shortwave radiation, so their mean "
        "radiant temperature and felt temperature (UTCI) can rise by day: a known side "
        "effect (Erell et al. 2014, Urban Climate 10; Middel et al. 2020, Environ. Res. "
        "Lett. 15 064016), not an error of the model.",
    ),  # fmt: skip
    Explanation(
        ("trees",), ("heat.air_temperature_night", "heat.*_night"), True,
        "Why can trees make nights warmer?",
        "Tree canopies hide part of the sky: the ground under them loses less heat by "
        "longwave radiation at night, so night-time air can stay warmer there while the "
        "day is cooler.",
    ),  # fmt: skip
)


def explain(interventions: list[str], key: str, diff: float | None) -> Explanation | None:
    """The explanation of a change ``diff`` of indicator ``key`` ("model.name") under a
    variant that adds ``interventions`` (types); None when none is known."""
    if diff is None or diff == 0:
        return None
    for item in EXPLANATIONS:
        if (diff > 0) != item.rises or not set(item.interventions) & set(interventions):
            continue
        if any(fnmatch(key, pattern) for pattern in item.indicators):
            return item
    return None
