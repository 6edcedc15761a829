"""The base of every pydantic schema of a scenario (the scenario's sections, data sources,
interventions and the models' ``Params``): unknown keys are errors, and so are NaN and
infinities in any float field (``.nan``, ``.inf``, ``"1e999"``): they would pass every range
check written as a comparison and publish silently wrong results."""

from __future__ import annotations

import math
import re

from pydantic import BaseModel, ConfigDict

from metrotwin.scenario.messages import short_repr

#: highest rain intensity (mm/h), the bound on every rain input (hyetographs here, rain
#: rasters in ``city.layer_bounds``): 1 mm/s, above the world-record minute (38 mm, Barot,
#: Guadeloupe 1970: 2280 mm/h) and the rate of the SWASHES rain benchmarks
MAX_RAIN = 3600.0


class StrictModel(BaseModel):
    """Unknown keys and non-finite floats are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


#: folder names a run directory uses for itself (see runner.WORK_DIR, compare.COMPARISON_DIR)
RESERVED_NAMES = frozenset({"comparison", "baseline"})
#: longest scenario or variant name (characters): one path component, well under 255 bytes
MAX_NAME = 64
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


def check_name(value, what: str, *, reserved=RESERVED_NAMES) -> str:
    """``value`` if it is a safe folder name: letters, digits, ``_``, ``-``, ``.``, starting
    with a letter or digit (so never ``.``, ``..`` or a hidden name), at most MAX_NAME long,
    and not one of ``reserved``; else ValueError saying so."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a text, got {short_repr(value)}")
    rule = (
        f"letters, digits, '_', '-' or '.', starting with a letter or digit, at most "
        f"{MAX_NAME} characters"
    )
    if not value or len(value) > MAX_NAME or not _NAME.fullmatch(value):
        raise ValueError(f"{what} {short_repr(value)} is not a valid name: use {rule}")
    if value.lower() in reserved:
        raise ValueError(
            f"{what} {value!r} is reserved (a run directory uses "
            f"{', '.join(sorted(reserved))}); choose another name"
        )
    return value


def non_finite_paths(data, prefix: str = "", limit: int = 5) -> list[str]:
    """Dotted paths of the NaN/inf floats in parsed YAML ``data`` (at most ``limit``)."""
    found: list[str] = []
    stack = [(prefix, data)]
    while stack and len(found) < limit:
        where, node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            found.append(f"{where or 'value'} = {node!r}")
        elif isinstance(node, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in node.items())
        elif isinstance(node, (list, tuple)):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(node))
    return sorted(found)
