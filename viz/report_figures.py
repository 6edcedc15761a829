"""The report's pictures: where each variant changes the city, the summary maps and their
differences, side-by-side 3D views, and the indicators over time (PNG/JPEG, inlined)."""

from __future__ import annotations

import io
import logging
import time

from metrotwin.results.fields import label_in_sentence
from metrotwin.results.indicators import change_units
from metrotwin.results.rundata import time_index
from metrotwin.viz.colors import cmap_of, shared_range, style_of
from metrotwin.viz.maps import (
    change_map,
    difference_map,
    road_map,
    time_series_chart,
    value_map,
)
from metrotwin.viz.report_format import E, figure, row_unit

log = logging.getLogger("metrotwin.report")

#: Size of the 3D views in the report (pixels).
REPORT_RENDER_SIZE = (1024, 768)
#: At most this many indicators get a time-series chart.
MAX_CHARTS = 8

THEME_TITLES = {
    "flood": "Flooding at its peak",
    "heat": "Heat at its peak",
    "city": "The city and its changes (roofs and ground coloured by type)",
}


def change_section(comp, base) -> str:
    """A map per variant of the cells it changes, by kind of change, over ``base``
    (``metrotwin.viz.maps.BaseMap``)."""
    figs = []
    for v in comp.others:
        cat = comp.changes.get(v)
        if cat is None:
            continue
        labels = comp.change_labels if (cat > 0).any() else []
        figs.append(figure(change_map(base, cat, labels, title=f"{v}: what changes"),
                           f"{v}: cells the variant changes, by kind of change"))  # fmt: skip
    if not figs:
        return ""
    return (
        "<h2 id='changes'>Where each variant changes the city</h2>"
        f"<div class='grid'>{''.join(figs)}</div>"
    )


def difference_maps(comp, base) -> str:
    """Each summary map of the reference and each variant's difference from it."""
    if not comp.maps:
        return ""
    if not comp.others:
        out = ["<h2 id='maps'>Maps</h2><p class='small mute'>The run's peak (or lowest) value of "
               "each quantity, cell by cell.</p>"]  # fmt: skip
    else:
        out = ["<h2 id='maps'>Difference maps (variant minus reference)</h2>",
               "<p class='small mute'>Each map shows, cell by cell, the variant's value minus "
               f"the {E(comp.baseline)}'s, on one scale per quantity: green where the variant "
               "is better, pink where it is worse, no colour where nothing changes. "
               "Temperatures change by a difference in K.</p>"]  # fmt: skip
    for m in comp.maps:
        if m.on_links and comp.road_segments is None:
            continue
        draw = _road_figures if m.on_links else _grid_figures
        figs = draw(comp, base, m)
        out.append(f"<h3>{E(m.label)} ({E(m.units)})</h3><div class='grid'>{''.join(figs)}</div>")
    return "".join(out)


def _limit(comp, m) -> float:
    """The half-width of the difference scale shared by every variant's map of ``m``."""
    diffs = [m.change(v, comp.baseline) for v in comp.others]
    lo, hi = shared_range(diffs, symmetric=True, robust=99.5) if diffs else (-1, 1)
    return max(abs(lo), abs(hi))


def _road_figures(comp, base, m) -> list[str]:
    limit, du = _limit(comp, m), change_units(m.units)
    label = label_in_sentence(m.label)
    return [figure(road_map(base, comp.road_segments, m.change(v, comp.baseline),
                            title=f"{v}: {label}", units=du, better=m.better, limit=limit),
                   f"{v} minus {comp.baseline}: {label} ({du})")
            for v in comp.others]  # fmt: skip


def _grid_figures(comp, base, m) -> list[str]:
    style = style_of(m.name)
    label = label_in_sentence(m.label)
    is_depth = m.name == "flood_water_thickness"
    clim = shared_range(list(m.values.values()), robust=99.5, floor=0.0 if is_depth else None)
    figs = [figure(value_map(base, m.values[comp.baseline], cmap=cmap_of(style.cmap),
                             title=f"{comp.baseline}: {label}", units=m.units, clim=clim,
                             hide_below=style.threshold),
                   f"{comp.baseline} (reference): {label} ({m.units})")]  # fmt: skip
    limit, du = _limit(comp, m), change_units(m.units)
    tiny = 1e-3 if is_depth else 0.05
    figs += [figure(difference_map(base, m.change(v, comp.baseline), title=f"{v}: change",
                                   units=du, better=m.better, limit=limit or 1.0, tiny=tiny),
                    f"{v} minus {comp.baseline}: {label} ({du})")
             for v in comp.others]  # fmt: skip
    return figs


def renders(comp) -> str:
    """Side-by-side 3D views of every variant, per theme, at the reference's peak time."""
    # inside: it loads PyVista, which a report without 3D views never needs
    from metrotwin.viz.render import Scales, themes_of

    t0 = time.perf_counter()
    runs = comp.runs
    base = runs[0]
    out = ["<h2 id='views'>3D views, side by side</h2><p class='small mute'>Same camera, same "
           "time and same colour scales for every variant. Heights are exaggerated 1.5×; "
           "roofs and ground are coloured by their type where no other layer covers them."
           "</p>"]  # fmt: skip
    same_times = all(
        len(r.times) == len(base.times) and (r.times == base.times).all() for r in runs
    )
    for theme in themes_of(base):
        index = _peak(base, theme)
        scales = Scales.of(runs, index if same_times else None)
        figs = [_view(run, theme, index if same_times else _peak(run, theme), scales)
                for run in runs]  # fmt: skip
        out.append(
            f"<h3>{E(THEME_TITLES.get(theme, theme))}</h3><div class='grid'>{''.join(figs)}</div>"
        )
    log.info("3D views rendered in %.1f s", time.perf_counter() - t0)
    return "".join(out)


def _peak(run, theme: str) -> int:
    # inside: it loads PyVista (see renders)
    from metrotwin.viz.render import peak_field

    return time_index(run, "peak", peak_field=peak_field(run, theme))


def _view(run, theme: str, index: int, scales) -> str:
    """One variant's 3D view of ``theme`` at output ``index``, as an inlined JPEG figure."""
    from PIL import Image

    # inside: it loads PyVista (see renders)
    from metrotwin.viz.render import SceneRenderer, title_of

    r = SceneRenderer(run, theme=theme, scales=scales, size=REPORT_RENDER_SIZE)
    try:
        img = r.frame(index, view="overview", title=title_of(run, index, theme))
    finally:
        r.close()
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=82, optimize=True)
    return figure(buf.getvalue(), f"{run.name}: {THEME_TITLES.get(theme, theme)}", "image/jpeg")


def chosen_series(comp) -> list[str]:
    """The indicators charted over time: round robin over the models (each model's first
    main indicator, then its second...), at most ``MAX_CHARTS``."""
    rows = {r.key: r for r in comp.rows}
    by_model: dict[str, list[str]] = {}
    for k in comp.series:
        if k in rows and comp.is_main(rows[k]):
            by_model.setdefault(k.split(".")[0], []).append(k)
    chosen = []
    for rank in range(max((len(v) for v in by_model.values()), default=0)):
        chosen += [v[rank] for v in by_model.values() if rank < len(v)]
    return chosen[:MAX_CHARTS]


def time_series(comp) -> str:
    chosen = chosen_series(comp)
    if not chosen:
        return ""
    rows = {r.key: r for r in comp.rows}
    figs = []
    for k in chosen:
        row = rows[k]
        f, u = row_unit(row, comp)
        series = {v: (comp.series_time[v][: len(vals)],
                      [None if x is None else x * f for x in vals])
                  for v, vals in comp.series[k].items() if v in comp.series_time}  # fmt: skip
        figs.append(figure(time_series_chart(series, title=row.description or row.name, units=u),
                           f"{row.description or row.name} ({u or 'count'})"
                           + (", every variant" if len(comp.variants) > 1 else "")))  # fmt: skip
    return f"<h2 id='time'>The indicators over time</h2><div class='grid'>{''.join(figs)}</div>"
