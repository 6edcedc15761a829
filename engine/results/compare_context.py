"""What a comparison compares, in a planner's words: the variants in the scenario's order, the
period, the interventions each variant adds to the baseline's, and the parts of the day the
run covers (a morning run has no night-time indicators worth a row)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from metrotwin.results.layout import BASELINE

#: the suffix of an indicator that covers one part of the day only
PART_OF_DAY = ("_day", "_night")


def scenario_order(runs) -> list:
    """The runs in the scenario's order (baseline, then the variants as the file lists them)."""
    order = []
    for r in runs:
        order += [v for v in r.variant_descriptions if v not in order]
    rank = {name: i for i, name in enumerate([BASELINE, *order])}
    return sorted(runs, key=lambda r: rank.get(r.name, len(rank)))


def describe_period(period: dict) -> str:
    """``15 Jul 2026, 06:00 to 12:00`` from a resolved scenario's period."""
    try:
        start = datetime.fromisoformat(str(period["start"]))
        end = period.get("end")
        end = (
            datetime.fromisoformat(str(end))
            if end
            else start + timedelta(seconds=float(period["duration"]))
        )
    except (KeyError, TypeError, ValueError):
        return ""
    same_day = end.date() == start.date()
    return f"{start:%d %b %Y, %H:%M} to " + (
        f"{end:%H:%M}" if same_day else f"{end:%d %b %Y, %H:%M}"
    )


def covered(name: str, parts: set[str]) -> bool:
    """Whether an indicator concerns a part of the day the run covers (a morning run has no
    night: its night-time rows would only show zeros)."""
    return not any(name.endswith(p) and p[1:] not in parts for p in PART_OF_DAY)


def parts_of_day(run) -> set[str]:
    """"day" and/or "night": whether the sun is above or below the horizon at some output
    time of ``run``, at the centre of its grid (local standard time from the scenario's
    ``forcing.weather.utc_offset``, else the longitude). Both when that cannot be told (no
    CRS, no times): nothing is then left out."""
    try:
        sun = _sun_elevation(run)
    except Exception:  # noqa: BLE001 - without a position or times, leave every row in
        sun = None
    if sun is None:
        return {"day", "night"}
    parts = ({"day"} if (sun > 0).any() else set()) | ({"night"} if (sun <= 0).any() else set())
    return parts or {"day", "night"}


def _sun_elevation(run) -> np.ndarray | None:
    """The sun's apparent elevation (degrees) at the centre of the grid at each output time
    of ``run``; None without output times or a finite position."""
    import pvlib  # late: it takes a second to import, and only a run with outputs needs it

    ds = run.ds
    crs = CRS.from_wkt(ds["spatial_ref"].attrs["crs_wkt"])
    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(float(ds["x"].mean()), float(ds["y"].mean()))
    weather = ((run.resolved.get("scenario") or {}).get("forcing") or {}).get("weather") or {}
    offset = weather.get("utc_offset")
    offset = float(offset) if offset is not None else round(lon / 15.0)
    times = pd.DatetimeIndex(run.times)
    if not len(times) or not np.isfinite([lon, lat]).all():
        return None
    stamps = times.tz_localize(f"Etc/GMT{-int(offset):+d}") if offset == int(offset) \
        else times - pd.Timedelta(hours=offset)  # fmt: skip
    if stamps.tz is None:
        stamps = stamps.tz_localize("UTC")
    sun = pvlib.solarposition.get_solarposition(stamps, lat, lon)["apparent_elevation"]
    return np.asarray(sun, dtype=float)


def added_interventions(items: list[dict], base_items: list[dict]) -> list[dict]:
    """The interventions a variant adds to the baseline's (all of them when the variant does
    not start from the baseline's)."""
    return items[len(base_items) :] if items[: len(base_items)] == base_items else items


def added_types(items: list[dict], base_items: list[dict]) -> list[str]:
    """The types of the interventions a variant adds to the baseline's."""
    return [str(item.get("type", "")) for item in added_interventions(items, base_items)]


def describe_interventions(items: list[dict], base_items: list[dict]) -> list[str]:
    """One line per intervention a variant adds to the baseline's: type and where."""
    return [_describe(item) for item in added_interventions(items, base_items)]


def _describe(item: dict) -> str:
    """``label: green roof in Oldtown; roof (fraction 0.5)``: one intervention."""
    kind = str(item.get("type", "?")).replace("_", " ")
    places = _places(item.get("where") or {})
    extras = [f"{k.replace('_', ' ')} {_plain(v)}" for k, v in item.items()
              if k not in ("type", "where", "label") and v not in (None, "", 1.0, [])]  # fmt: skip
    text = kind + (" in " + "; ".join(places) if places else " everywhere")
    if item.get("label"):
        text = f"{item['label']}: {text}"
    return text + (f" ({', '.join(extras)})" if extras else "")


def _places(where: dict) -> list[str]:
    """Where an intervention applies: its districts, land-cover classes, drawn areas."""
    places = []
    for key in ("district", "land_cover"):
        val = where.get(key)
        if val:
            places.append(", ".join(val) if isinstance(val, list) else str(val))
    if where.get("polygon"):
        places.append("a drawn area")
    if where.get("bbox"):
        places.append("a box")
    return places


def _plain(v) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(_plain(x).replace("_", " ") for x in v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
