"""The report's sensor section: for a variant folder with an ``observations.nc`` (an
assimilated run), each sensor group's time series (the readings, the free run, the analysis
mean with its +-1 spread band), a map of the sensors over the city and a table of the skill
indicators (:mod:`metrotwin.observe.skill`). Pictures are matplotlib Agg figures inlined as
PNG, like the rest of the report; :func:`sensor_section` returns HTML ("" without sensors).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from metrotwin.observe.flags import GOOD, WITHHELD
from metrotwin.observe.skill import skill_indicators
from metrotwin.observe.variables import OBSERVED
from metrotwin.observe.write import OBSERVATIONS_FILE, read_observations_nc
from metrotwin.physics import KELVIN_OFFSET
from metrotwin.viz.maps import BaseMap

#: sensors drawn per group (the held-back ones first), so that a figure stays readable
MAX_PANELS = 6
DPI = 100
#: colour of each observed variable on the map (and of its readings in the time series)
VARIABLE_COLOURS = {"water_depth": "#1f5fbf", "water_level": "#1f9fbf", "rain_rate": "#6a3d9a",
                    "air_temperature": "#d95f02", "vehicle_count": "#333333",
                    "vehicle_speed": "#777777"}  # fmt: skip
FREE, ANALYSIS, BAND = "#888888", "#1b7837", "#a6dba0"
#: two figures a row at most (the report's own grid puts three in a row, which shrinks these
#: figures' 6.4-inch width to ~370 px and their 8-9 pt labels to 5-6 px: unreadable)
FIGURE_GRID = "display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:12px"
TICK_PT, LABEL_PT, TITLE_PT = 9, 10, 13  # font sizes (points at DPI)
E = html.escape


def sensor_section(grid, variant_paths: dict[str, Path]) -> str:
    """The section for every variant (name -> folder) that has an ``observations.nc``;
    ``grid``: the city's static layers (x, y, buildings...: the report's base map)."""
    parts = [variant_sensors(path / OBSERVATIONS_FILE, grid, name)
             for name, path in variant_paths.items()
             if (Path(path) / OBSERVATIONS_FILE).is_file()]  # fmt: skip
    if not parts:
        return ""
    return ("<h2 id='sensors'>Sensors and assimilation</h2><p class='small mute'>What the "
            "sensors measured beside the model: the free run (no assimilation, grey dashes) "
            "and the analysis (green, band: the ensemble mean +- one spread). Held-back "
            "sensors were kept out of the filter: their numbers are the honest check.</p>"
            + "".join(parts))  # fmt: skip


def variant_sensors(path: Path, grid, name: str) -> str:
    """HTML of one variant's ``observations.nc``: skill table, map, one figure per group."""
    obs, model, attrs = read_observations_nc(path)
    members = int(attrs["ensemble_members"]) if "ensemble_members" in attrs else None
    skill = skill_indicators(obs, model, members=members)
    charted = {v: _chosen(obs, v) for v in dict.fromkeys(obs.variable)}
    named = [s for shown in charted.values() for s in shown]
    figures = [_embed(sensor_map(obs, grid, named),
                      f"{name}: sensor positions (named: the sensors whose series are drawn)")]
    for variable, shown in charted.items():
        figures.append(_embed(group_chart(obs, model, variable, shown),
                              f"{name}: {_label(variable)}, {len(shown)} of "
                              f"{int((obs.variable == variable).sum())} sensors"))  # fmt: skip
    counts = obs.counts()
    note = (f"{counts['good']} readings assimilated, {counts['withheld']} held back, "
            f"{obs.n_obs - counts['good'] - counts['withheld']} rejected")
    return (f"<h3>{E(name)}</h3><p class='small mute'>{E(note)}.</p>"
            f"{skill_table(skill, members)}<div style='{FIGURE_GRID}'>{''.join(figures)}</div>")


def skill_table(skill: dict[str, float], members: int | None) -> str:
    """Per variable and set of readings: RMSE and bias of the free run and the analysis, the
    RMSE reduction and the spread-skill ratio."""
    header = ["Variable", "Readings", "n", "RMSE free run", "RMSE analysis", "RMSE reduction",
              "Bias free run", "Bias analysis", "Spread / skill"]  # fmt: skip
    rows = []
    for key in [k for k in skill if k.endswith(".n")]:
        variable, where = key.split(".")[:2]
        get = lambda k: skill.get(f"{variable}.{where}.{k}")  # noqa: E731
        units = _display(variable)[1]
        rows.append([E(_label(variable)), "held back" if where == "withheld" else where,
                     f"{get('n'):.0f}", *[_num(get(k), units) for k in (
                         "rmse_free", "rmse_analysis")],
                     _num(None if get("rmse_reduction") is None else 100 * get("rmse_reduction"),
                          "%"),
                     *[_num(get(k), units) for k in ("bias_free", "bias_analysis")],
                     _num(get("spread_skill"), "")])  # fmt: skip
    if not rows:
        return ""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    corrected = (f"with the finite-ensemble factor sqrt((M+1)/M), M = {members}" if members
                 else "ensemble size unknown: no finite-ensemble factor")  # fmt: skip
    return (f"<div class='tbl'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
            "</table></div><p class='small mute'>Bias: mean of (model − reading). "
            "Spread / skill: "
            "the forecast ensemble's spread, with the readings' own error variance added, over "
            f"the RMSE of its mean against the readings (Fortin et al. 2014, {corrected}), "
            "after the first analysis (the first forecast is the prior's); 1 is a reliable "
            "ensemble, below 1 over-confident.</p>")


def sensor_map(obs, grid, named=None) -> bytes:
    """The sensors over the city's base map: colour by variable, filled if assimilated,
    hollow if held back; the stations ``named`` (indices; default all) with their ids (all
    50 of a network's ids at a readable size cover the map)."""
    base = BaseMap(grid)
    fig = Figure(figsize=(6.4, 5.6))
    ax = fig.add_axes((0.02, 0.09, 0.96, 0.83))
    fig.text(0.02, 0.975, "Sensors (filled: assimilated, hollow: held back)",
             fontsize=TITLE_PT, ha="left", va="top")  # fmt: skip
    base.draw(ax)
    x, y = _positions(obs, grid)
    held = np.array([np.any(obs.flag[obs.station == s] == WITHHELD) for s in range(obs.n_station)])
    for variable in dict.fromkeys(obs.variable):
        colour = VARIABLE_COLOURS.get(variable, "#000000")
        for mask, face, label in ((~held, colour, _short(variable)), (held, "white", None)):
            mine = mask & (obs.variable == variable) & np.isfinite(x)
            if mine.any():
                ax.scatter((x[mine] - base.west) / 1000, (y[mine] - base.south) / 1000, s=70,
                           marker="o", facecolors=face, edgecolors=colour, linewidths=2,
                           zorder=5, label=label)  # fmt: skip
    named = np.arange(obs.n_station) if named is None else np.asarray(named, int)
    for s in named[np.isfinite(x[named])]:
        ax.annotate(str(obs.sensor_id[s]), ((x[s] - base.west) / 1000, (y[s] - base.south) / 1000),
                    xytext=(6, 4), textcoords="offset points", fontsize=TICK_PT, zorder=6,
                    annotation_clip=False,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
    fig.legend(loc="lower center", ncol=3, fontsize=LABEL_PT, frameon=False)
    return _png(fig)


def group_chart(obs, model, variable: str, shown: list[int]) -> bytes:
    """Small multiples, one per sensor of ``shown``: readings (filled: assimilated, hollow:
    held back), free run, analysis mean and its +-1 spread band, over time."""
    cols = 1 if len(shown) == 1 else 2
    rows = -(-len(shown) // cols)
    title_in, panel_in, legend_in = 0.45, 2.1, 0.65  # heights (inches)
    height = title_in + panel_in * rows + legend_in
    fig = Figure(figsize=(6.4, height))
    fig.text(0.02, 1 - 0.08 / height, f"{_label(variable)}: readings and model",
             fontsize=TITLE_PT, ha="left", va="top")  # fmt: skip
    offset, units = _display(variable)
    colour = VARIABLE_COLOURS.get(variable, "#000000")
    width = 0.84 if cols == 1 else 0.36
    for n, s in enumerate(shown):
        bottom = height - title_in - panel_in * (n // cols + 1) + 0.35  # room for the times
        ax = fig.add_axes((0.12 + 0.5 * (n % cols), bottom / height, width,
                           (panel_in - 0.72) / height))  # fmt: skip
        _sensor_panel(ax, obs, model, s, offset, colour)
        ax.set_title(f"{obs.sensor_id[s]}"
                     + (" (held back)" if np.any(obs.flag[obs.station == s] == WITHHELD) else ""),
                     fontsize=LABEL_PT, loc="left")  # fmt: skip
        ax.set_ylabel(units, fontsize=LABEL_PT)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=LABEL_PT, frameon=False)
    return _png(fig)


def _sensor_panel(ax, obs, model, s, offset, colour) -> None:
    rows = np.flatnonzero((obs.station == s) & np.isfinite(obs.value)
                          & ((obs.flag == GOOD) | (obs.flag == WITHHELD)))  # fmt: skip
    rows = rows[np.argsort(obs.time[rows], kind="stable")]
    t = obs.time[rows].astype("datetime64[ms]").astype(object)
    if "analysis_mean" in model:
        mean = model["analysis_mean"][rows] + offset
        if "analysis_spread" in model:
            spread = model["analysis_spread"][rows]
            ax.fill_between(t, mean - spread, mean + spread, color=BAND, alpha=0.7, lw=0,
                            label="analysis +- spread")  # fmt: skip
        ax.plot(t, mean, color=ANALYSIS, lw=1.8, label="analysis mean")
    if "free_run" in model:
        ax.plot(t, model["free_run"][rows] + offset, color=FREE, lw=1.6, ls="--",
                label="free run")  # fmt: skip
    good = obs.flag[rows] == GOOD
    ax.scatter(np.array(t)[good], obs.value[rows][good] + offset, s=14, color=colour, zorder=4,
               label="reading")  # fmt: skip
    ax.scatter(np.array(t)[~good], obs.value[rows][~good] + offset, s=16, facecolors="white",
               edgecolors=colour, zorder=4, label="held-back reading")  # fmt: skip
    ax.xaxis.set_major_locator(AutoDateLocator(minticks=2, maxticks=4))
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M"))
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.tick_params(labelsize=TICK_PT)
    ax.grid(alpha=0.3)


def _chosen(obs, variable: str) -> list[int]:
    """The group's sensors to draw: held back first, then the others, up to MAX_PANELS."""
    stations = np.flatnonzero(obs.variable == variable)
    held = [s for s in stations if np.any(obs.flag[obs.station == s] == WITHHELD)]
    used = [s for s in stations if s not in held and np.any(obs.flag[obs.station == s] == GOOD)]
    return (held + used)[:MAX_PANELS] or list(stations[:1])


def _positions(obs, grid):
    """Sensor positions (scenario CRS, m): given, else their cell's centre; NaN if neither."""
    x, y = obs.x.copy(), obs.y.copy()
    gx, gy = np.asarray(grid["x"].values), np.asarray(grid["y"].values)
    from_cell = ~np.isfinite(x) & (obs.cell >= 0) & (obs.cell < gx.size * gy.size)
    x[from_cell] = gx[obs.cell[from_cell] % gx.size]
    y[from_cell] = gy[obs.cell[from_cell] // gx.size]
    return x, y


def _label(variable: str) -> str:
    spec = OBSERVED.get(variable)
    text = spec.long_name if spec else variable
    return text[0].upper() + text[1:]


def _short(variable: str) -> str:
    return variable.replace("_", " ")


def _display(variable: str) -> tuple[float, str]:
    """Offset added to values for display, and the units shown (kelvin as degrees Celsius)."""
    units = OBSERVED[variable].units if variable in OBSERVED else ""
    if units == "K":
        return -KELVIN_OFFSET, "°C"
    return 0.0, {"1": "count", "m s-1": "m/s", "mm h-1": "mm/h"}.get(units, units)


def _num(v, units: str) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    return f"{v:.3g}" + (f" {units}" if units and units != "%" else units)


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _embed(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{E(caption)}">'
            f"<figcaption>{E(caption)}</figcaption></figure>")
