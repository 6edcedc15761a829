"""The text of the scenario ``metrotwin init`` writes: every section, commented with what each
value means and which defaults it took (the schema: README "Your own city", reference below)."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field

#: a 40 mm, one-hour cloudburst (block hyetograph: [min since start, mm/h])
CLOUDBURST = ((15, 15), (30, 45), (45, 90), (55, 45), (65, 15), (75, 0))
#: the hot design day (°C, %, m/s, degrees)
HOT_DAY = {"air_temperature_max": 33.0, "air_temperature_min": 20.0, "relative_humidity": 40.0,
           "wind_speed": 2.0, "wind_direction": 225.0}  # fmt: skip


@dataclass
class Plan:
    """Everything the scenario says, decided from the inputs (paths as written in the YAML)."""

    name: str
    crs: str
    resolution: float
    extent: tuple[float, float, float, float]
    dem: str
    models: list[str]
    start: str = "2026-07-15T16:00:00"
    duration_min: float = 180.0
    dsm: str | None = None
    buildings: dict | None = None  # path, height_attribute, storeys_attribute, default_height
    roads: str | None = None
    land_cover: dict | None = None  # path, mapping, attribute
    districts: dict | None = None  # path, name_attribute, names
    weather: str | None = None
    dem_nodata: str = "error"
    notes: list[str] = field(default_factory=list)


def _q(value) -> str:
    """A YAML scalar (JSON strings are YAML)."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def _n(value: float) -> str:
    """A coordinate (m) written exactly enough to stay a multiple of the resolution."""
    return f"{value:.12g}"


def _box(w, s, e, n) -> str:
    return f"[{_n(w)}, {_n(s)}, {_n(e)}, {_n(n)}]"


def _c(code: str, comment: str = "") -> str:
    """A YAML line with its comment aligned at column 34."""
    return f"{code:<33} # {comment}" if comment else code


def _wrapped(text: str, prefix: str) -> list[str]:
    """A comment of ``text`` in lines of at most 96 characters."""
    return textwrap.wrap(text, 96, initial_indent=prefix, subsequent_indent=prefix)


def _opt(value) -> str:
    return _q(value) if value else "null"


def scenario_text(plan: Plan) -> str:
    lines = [
        f"# {plan.name}: written by `metrotwin init` from your files. Edit freely; check it with",
        f"#   metrotwin validate {plan.name}.yaml   and   metrotwin inspect {plan.name}.yaml",
        *(line for note in plan.notes for line in _wrapped(note, "# ")),
        f"name: {plan.name}",
        f"description: {_q(f'{plan.name}: a cloudburst on the evening commute of a hot day')}",
        _c("seed: 1", "every random choice (agents, interventions) follows it"),
        "",
        *_domain(plan),
        "",
        *_period_forcing(plan),
        "",
        *_models(plan),
        "",
        _c("interventions: []", "applied to the baseline and every variant"),
        "",
        *_variants(plan),
    ]
    return "\n".join(lines) + "\n"


def _domain(plan: Plan) -> list[str]:
    out = [
        "domain:",
        "  data:",
        _c(f"    crs: {plan.crs}", "projected CRS of the grid (metres)"),
        _c(f"    resolution: {plan.resolution:g}", "cell size (m)"),
        _c(f"    extent: {_box(*plan.extent)}", "west, south, east, north (m)"),
        _c("    elevation:", "the ground (DEM)"),
        f"      path: {_q(plan.dem)}",
        _c(f"      nodata: {plan.dem_nodata}", "no-data cells: error (default) | fill | close"),
    ]
    if plan.dsm:
        out += [_c("    dsm:", "ground + buildings: buildings where DSM - DEM >= 2.5 m"),
                f"      path: {_q(plan.dsm)}"]  # fmt: skip
    if plan.buildings:
        out += _buildings(plan.buildings)
    if plan.roads:
        out += [_c("    roads:", "drivable roads: lanes, speed, capacity from the tags, else"),
                "      # from the class defaults (MATSim); the largest strongly connected part",
                f"      path: {_q(plan.roads)}"]  # fmt: skip
    if plan.land_cover:
        lc = plan.land_cover
        out += ["    land_cover:", f"      path: {_q(lc['path'])}",
                f"      mapping: {json.dumps(lc['mapping'])}"]  # fmt: skip
        if lc.get("attribute"):
            out.append(f"      attribute: {_q(lc['attribute'])}")
    out.append(_c("    default_land_cover: grass", "where no land cover is given (default)"))
    if plan.districts:
        d = plan.districts
        out += [_c("    districts:", "indicators per district; cells in none: 'outside'"),
                f"      path: {_q(d['path'])}", f"      name_attribute: {_q(d['name_attribute'])}"]
    out.append(_c("    drainage_capacity: 10.0", "mm/h taken by storm drains (assumed; default 0)"))
    return out


def _buildings(b: dict) -> list[str]:
    out = [
        _c("    buildings:", "footprints: a cell is the building holding its centre"),
        f"      path: {_q(b['path'])}",
        _c(f"      height_attribute: {_opt(b['height_attribute'])}", "m above ground"),
        _c(f"      storeys_attribute: {_opt(b['storeys_attribute'])}",
           "where no height: storeys x storey_height"),
        _c("      storey_height: 3.0", "m (default)"),
        _c(f"      default_height: {b['default_height']:g}",
           f"m where neither is given ({b['defaulted']} of {b['count']} footprints)"),
    ]
    if b.get("use_attribute"):
        out += _wrapped(b["use_note"], "      # ")
        out.append(_c(f"      use_attribute: {_q(b['use_attribute'])}", "building use column"))
        out.append(_c("      use_mapping:", "value -> residential|commercial|industrial|public"))
        out += [f"        {_q(str(k))}: {v}" for k, v in b["use_mapping"].items()]
    out.append(_c("      default_use: residential", "use of the footprints not mapped (default)"))
    return out


def _period_forcing(plan: Plan) -> list[str]:
    out = [
        "period:",
        _c(f"  start: {_q(plan.start)}", "local time of the weather (design day: solar time)"),
        f"  duration: {plan.duration_min:g} min",
        _c("  coupling_interval: 5 min", "models exchange data this often"),
        _c("  output_interval: 15 min", "fields written this often"),
        "",
        "forcing:",
        _c("  rainfall:", "a design cloudburst: 40 mm in one hour, peak 90 mm/h"),
        _c("    hyetograph:", "[time since start, mm/h], held until the next entry"),
        "      - [0 min, 0]",
        *(f"      - [{t} min, {r}]" for t, r in CLOUDBURST),
        "  weather:",
    ]
    if plan.weather:
        out.append(_c(f"    file: {_q(plan.weather)}", "EPW: the hours of the period are read"))
    else:
        out.append(_c("    design_day:", "a hot clear day (a design day's default: 33/20 °C)"))
        out += [f"      {k}: {v:g}" for k, v in HOT_DAY.items()]
    return out


def _models(plan: Plan) -> list[str]:
    out = [_c("models:", "the models your data supports (`metrotwin models`)")]
    if "flood" in plan.models:
        out += ["  flood:",
                _c("    buildings: raised", "buildings: raised blocks water flows around"),
                _c("    boundaries:", "water leaves the domain freely (default: closed)"),
                "      north: {type: free}", "      south: {type: free}",
                "      east: {type: free}", "      west: {type: free}"]  # fmt: skip
    if "heat" in plan.models:
        out += ["  heat:",
                _c("    time_step: 300", "s: energy-balance step (default)"),
                _c("    azimuths: 32", "horizon directions for the sky view (default)"),
                _c("    air_cell_size: 100", "m: the air-temperature grid (default)")]  # fmt: skip
    if "mobility" in plan.models:
        out += [_c("  mobility:", "a synthetic population from the buildings"),
                _c("    sample_fraction: 0.1", "share of commuters simulated (default)"),
                _c(f"    departure_peak: {_peak(plan):g}", "h: mid-period (default 7.5)"),
                _c("    departure_spread: 0.5", "h (default)")]  # fmt: skip
    return out


def _peak(plan: Plan) -> float:
    """The departures' peak (h of the day): the middle of the period, so trips fall in it."""
    hour, minute = (int(v) for v in plan.start[11:16].split(":"))
    return round(hour + minute / 60 + plan.duration_min / 120, 2) % 24


def _variants(plan: Plan) -> list[str]:
    if plan.districts:
        names = plan.districts["names"]
        first, second = names[0], names[1 % len(names)]
        where1, where2 = f"{{district: {_q(first)}}}", f"{{district: {_q(second)}}}"
        in1, in2 = f"in {first}", f"in {second}"
    else:
        w, s, e, n = plan.extent
        mid = w + (e - w) / 2
        where1, where2 = f"{{bbox: {_box(w, s, mid, n)}}}", f"{{bbox: {_box(mid, s, e, n)}}}"
        in1, in2 = "in the western half", "in the eastern half"
    return [
        _c("variants:", "what-ifs compared with the baseline (the above)"),
        "  green_blue:",
        f"    description: {_q(f'Green roofs, permeable paving and bigger drains {in1}.')}",
        "    interventions:",
        f"      - {{type: green_roof, where: {where1}}}",
        f"      - {{type: permeable_paving, where: {where1}}}",
        f"      - {{type: drainage_upgrade, where: {where1}, capacity: 30}}  # mm/h",
        "  cool_streets:",
        f"    description: {_q(f'Cool roofs and pavements, and street trees {in2}.')}",
        "    interventions:",
        f"      - {{type: cool_roof, where: {where2}}}",
        f"      - {{type: cool_pavement, where: {where2}}}",
        f"      - {{type: trees, where: {where2}, fraction: 0.3, height: 10}}  # share, m",
    ]
