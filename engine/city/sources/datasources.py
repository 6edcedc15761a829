"""What the readers of ``metrotwin.city.sources`` share: the warning a repaired file raises,
the building-use codes and how figures are printed in messages. The schema of the
``domain.data`` section they read is ``metrotwin.scenario.data``."""

from __future__ import annotations

import warnings

from metrotwin.city import tiling

#: Building use codes of the ``building_use`` layer.
BUILDING_USES = {"residential": 1, "commercial": 2, "industrial": 3, "public": 4}


class DataSourceWarning(UserWarning):
    """A data file was used, but something in it was repaired or left out (counts given)."""


def warn(message: str) -> None:
    """Report a repair made to the data (a count of cells, features...), once per domain."""
    if tiling.reporting():
        warnings.warn(message, DataSourceWarning, stacklevel=3)


def fmt_bounds(bounds) -> str:
    return "[" + ", ".join(f"{v:.6g}" if abs(v) < 1e3 else f"{v:.1f}" for v in bounds) + "]"


def share(n: int, total: int) -> str:
    return f"{n} of {total} cells ({100.0 * n / max(total, 1):.3g}%)"
