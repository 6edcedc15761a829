"""Quality flags: every reading keeps exactly one, the first reason that applies, in this order.

``good`` readings are assimilated; ``withheld`` ones are good but kept out of the analysis to
verify it; every other flag is a rejection, counted by reason in the run log and in
``observations.nc`` (CF ``flag_values`` / ``flag_meanings``)."""

from __future__ import annotations

import numpy as np

#: flag meanings, in order of precedence after ``good`` and ``withheld``; a flag's value is its
#: index here
FLAG_MEANINGS: tuple[str, ...] = (
    "good",
    "withheld",
    "malformed",          # the time or value does not parse
    "non_finite",         # NaN or infinite value
    "bad_units",          # units unknown or not convertible to the variable's
    "unknown_variable",   # the variable is not one metrotwin observes
    "unknown_sensor",     # no sensor of that id (measuring that variable) is declared
    "outside_domain",     # the sensor lies outside the grid
    "inside_building",    # a ground sensor in a building cell
    "far_from_link",      # a link sensor farther than max_link_distance from any link
    "out_of_range",       # outside the variable's plausible range
    "duplicate",          # a second reading of the same sensor and variable at the same time
    "non_monotonic",      # earlier than a reading before it in the same series
)  # fmt: skip
FLAG = {name: np.uint8(i) for i, name in enumerate(FLAG_MEANINGS)}
GOOD = FLAG["good"]
WITHHELD = FLAG["withheld"]
#: reasons for rejection (everything that is neither good nor withheld)
REJECTIONS = FLAG_MEANINGS[2:]


def counts(flag: np.ndarray) -> dict[str, int]:
    """Number of readings per flag meaning (every meaning present, zeros included)."""
    numbers = np.bincount(np.asarray(flag, dtype=np.int64), minlength=len(FLAG_MEANINGS))
    return {name: int(n) for name, n in zip(FLAG_MEANINGS, numbers)}


def rejection_summary(flag: np.ndarray) -> str:
    """One line for the run log: how many readings were kept and why the others were not."""
    c = counts(flag)
    rejected = {k: c[k] for k in REJECTIONS if c[k]}
    text = f"{c['good']} good, {c['withheld']} withheld, {sum(rejected.values())} rejected"
    if rejected:
        text += " (" + ", ".join(f"{k}: {n}" for k, n in rejected.items()) + ")"
    return text
