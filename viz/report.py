"""The HTML comparison report: one self-contained page a planner can open on a phone.

Everything is inlined (CSS, images as base64), no script and nothing from the network. The
page reads top-down: what was compared, the headline per variant, the indicator table with
the change from the baseline, per municipality and per population group, where each variant
changes the city, difference maps, side-by-side 3D views, the indicators over time, and
which files hold the numbers.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from metrotwin import __version__
from metrotwin.results.compare import (
    REPORT_FILE,
    change,
    change_units,
    comparison_dir,
    scenario_order,
    write_comparison_tables,
)
from metrotwin.results.fields import label_in_sentence as _lower
from metrotwin.results.output import write_text_atomic
from metrotwin.results.rundata import open_variants, time_index
from metrotwin.viz.colors import (
    IMPROVE_COLOUR,
    WORSEN_COLOUR,
    cmap_of,
    shared_range,
    style_of,
    verdict,
)
from metrotwin.viz.explanations import explain

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

CSS = """
:root{--ok:%s;--bad:%s;--ink:#1d2327;--mute:#5f6b73;--line:#dde3e8;--bg:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:var(--ink);background:#fff}
main{max-width:1180px;margin:0 auto;padding:12px 16px 48px}
h1{font-size:1.6rem;margin:.4em 0 .2em}h2{font-size:1.3rem;margin:1.8em 0 .4em;
border-bottom:2px solid var(--line);padding-bottom:.2em}h3{font-size:1.05rem;margin:1.2em 0 .3em}
p{margin:.4em 0}.mute{color:var(--mute)}.tech{word-break:break-all}.small{font-size:.88rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:10px;padding:12px 14px;background:var(--bg)}
.card h3{margin-top:0}.card ul{margin:.3em 0;padding-left:1.2em}
.tbl{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.5em 0 1em}
table{border-collapse:collapse;min-width:100%%;font-size:.92rem}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:right;vertical-align:top}
th{background:var(--bg);font-weight:600;position:sticky;top:0}
td:first-child,th:first-child{text-align:left;position:sticky;left:0;background:#fff;
min-width:11em;max-width:22em}
th:first-child{background:var(--bg)}
td .d{display:block;font-size:.82rem;color:var(--mute)}
.better{color:var(--ok);font-weight:600}.worse{color:var(--bad);font-weight:600}
.same{color:var(--mute)}.changed{color:var(--ink)}td .d span{white-space:nowrap}
.why{border-left:3px solid var(--line);padding-left:8px;margin:.4em 0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:6px;background:#fff}
figure img{width:100%%;height:auto;display:block}
figcaption{font-size:.85rem;color:var(--mute);padding:4px 2px 0}
.key{display:inline-block;padding:1px 6px;border-radius:4px;color:#fff;font-size:.85rem}
code{background:var(--bg);padding:1px 4px;border-radius:4px;font-size:.88em;word-break:break-all}
nav a{margin-right:.8em;white-space:nowrap}
details{margin:.3em 0 1em}summary{cursor:pointer;color:var(--mute)}
@media (max-width:600px){body{font-size:15px}main{padding:8px 10px 32px}
td:first-child,th:first-child{min-width:8.5em;max-width:11em}.tech{display:none}
h1{font-size:1.3rem}th,td{padding:5px 6px}table{font-size:.85rem}}
@media print{figure,tr,.card{break-inside:avoid}th,td:first-child{position:static}}
""" % (IMPROVE_COLOUR, WORSEN_COLOUR)


# -- formatting ---------------------------------------------------------------------------------
def display_units(units: str, magnitude: float) -> tuple[float, str]:
    """(factor, label) to show values of ``units`` with the given typical magnitude."""
    if units == "m2":
        return (1e-4, "ha") if magnitude >= 1e4 else (1.0, "m²")
    if units == "s" and magnitude >= 600:
        return (1 / 60, "min")
    if units == "h" and 0 < magnitude < 1:
        return (60.0, "min")
    if units == "km2" and magnitude < 0.1:
        return (100.0, "ha")
    table = {"degree_C": "°C", "m3": "m³", "1": "", "m s-1": "m/s", "h-1": "per hour",
             "W m-2": "W/m²", "km h-1": "km/h", "km2": "km²", "K min": "K·min"}  # fmt: skip
    return 1.0, table.get(units, units)


def fmt(v: float | None, unit: str = "") -> str:
    if v is None or not np.isfinite(v):
        return "–"
    a = abs(v)
    if a >= 1000:
        text = f"{v:,.0f}"
    elif a >= 100:
        text = f"{v:.0f}"
    elif a >= 10:
        text = f"{v:.1f}"
    elif a == 0:
        text = "0"
    else:
        text = f"{v:.3g}"
    text = text.replace("-", "−")
    return f"{text} {unit}".strip() if unit else text


def fmt_change(diff: float | None, pct: float | None, better: str, unit: str) -> str:
    """``▼ 1.2 ha (−12 %)`` in green (better) or red (worse), plain where neither direction
    is better. ``unit`` is that of the change (K for a temperature, ``change_units``)."""
    if diff is None:
        return '<span class="same">–</span>'
    v = verdict(diff, better)
    arrow = "▲" if diff > 0 else "▼" if diff < 0 else "="
    sign = "+" if diff > 0 else ""
    p = "" if pct is None else f" ({'+' if pct > 0 else ''}{fmt(pct)} %)"
    if v == "same":
        return '<span class="same">no change</span>'
    return f'<span class="{v}">{arrow} {sign}{fmt(diff, unit)}{p}</span>'


def img_tag(data: bytes, alt: str, mime: str = "image/png") -> str:
    b64 = base64.b64encode(data).decode("ascii")
    # no loading="lazy": a printed page or a screenshot would show lazy images blank
    return f'<img src="data:{mime};base64,{b64}" alt="{html.escape(alt)}">'


def figure(data: bytes, caption: str, mime: str = "image/png") -> str:
    return (f"<figure>{img_tag(data, caption, mime)}<figcaption>{html.escape(caption)}"
            "</figcaption></figure>")  # fmt: skip


E = html.escape


# -- the comparison and its report --------------------------------------------------------------
def compare_runs(run_dirs: list[Path] | Path, out_dir: Path | None = None, *,
                 render: bool = True) -> Path:  # fmt: skip
    """Compare the variants in ``run_dirs`` (a run directory, or several run directories or
    variant folders) and write ``indicators.csv``, ``comparison.nc`` and ``report.html`` into
    ``out_dir`` (default ``<run root>/comparison``). ``render=False`` leaves out the 3D views
    (the tables, maps and charts are always there). Returns the report's path.

    The baseline is the variant named ``baseline`` (else the first one given). The numbers
    are computed by ``metrotwin.results.compare``; this module draws them.
    """
    runs = scenario_order(open_variants(run_dirs))
    out_dir = Path(out_dir) if out_dir is not None else comparison_dir(run_dirs)
    try:
        comp = write_comparison_tables(runs, out_dir)
        return write_report(comp, runs, out_dir / REPORT_FILE, render=render)
    finally:
        for run in runs:
            run.close()


# -- the report ---------------------------------------------------------------------------------
def write_report(comp, runs, path: Path, *, render: bool = True) -> Path:
    """Write the report of a ``metrotwin.results.compare.Comparison`` to ``path``; returns it."""
    t0 = time.perf_counter()
    sections = [
        ("indicators", _indicator_table),
        ("municipalities", _municipalities),
        ("groups", _groups),
        ("changes", _change_section),
        ("maps", _difference_maps),
    ]
    if render:
        sections.append(("views", lambda c: _renders(c, runs)))
    sections.append(("time", _time_series))
    sections.append(("sensors", _sensors))  # hook (observe helper): viz/sensors.py
    body = [(anchor, func(comp)) for anchor, func in sections]
    body = [(a, html_) for a, html_ in body if html_]  # empty sections are left out
    parts = [_header(comp, [a for a, _ in body]), _cards(comp), *[h for _, h in body],
             _files(comp, path)]  # fmt: skip
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{E(comp.scenario)}: comparison of variants</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(parts)}</main></body></html>"
    )
    write_text_atomic(path, page)
    log.info("comparison report %s written in %.1f s", path, time.perf_counter() - t0)
    return path


SECTION_TITLES = {"indicators": "Indicators", "municipalities": "Municipalities",
                  "groups": "Groups", "changes": "Where it changes", "maps": "Maps",
                  "views": "3D views", "time": "Over time", "sensors": "Sensors",
                  "files": "Files"}  # fmt: skip


def _header(comp, anchors: list[str]) -> str:
    variants = [v for v in comp.variants if v != comp.baseline]
    models = ", ".join(comp.models) if comp.models else "none"
    nav = " ".join(f'<a href="#{a}">{SECTION_TITLES[a]}</a>' for a in [*anchors, "files"])
    notes = "".join(f"<p class='mute'>{E(n)}</p>" for n in comp.notes)
    no_models = ""
    if not comp.rows:
        no_models = ("<p><b>No simulation model ran in this scenario</b>, so there are no "
                     "outcome numbers (flooding, heat, travel) yet: this report shows only "
                     "what each variant changes in the city. Add models under "
                     "<code>models:</code> in the scenario to compare outcomes.</p>")  # fmt: skip
    how = ""
    if comp.rows and variants:
        how = (f"<p class='small'>How to read: <span class='better'>green ▼/▲ = better</span> "
               f"than the {E(comp.baseline)}, <span class='worse'>red = worse</span>, "
               "<span class='changed'>black = changed, neither better nor worse</span> (each "
               "indicator says whether lower or higher is better); % is relative to the "
               "reference, given only for quantities with a true zero: temperatures change "
               "by a difference in K.</p>")  # fmt: skip
    if variants:
        title = f"{E(comp.scenario)}: what the variants change"
        compared = (f"Compared: <b>{E(comp.baseline)}</b> (the reference) with "
                    f"{', '.join('<b>' + E(v) + '</b>' for v in variants)}.")  # fmt: skip
    else:
        title = f"{E(comp.scenario)}: results of {E(comp.baseline)}"
        compared = (f"One variant, <b>{E(comp.baseline)}</b>: its indicators, maps and time "
                    "series (run other variants to see what they change).")  # fmt: skip
    return (
        f"<h1>{title}</h1>"
        f"<p>{E(comp.description)}</p>"
        f"<p class='small mute'>{compared} "
        f"{E(comp.period)}. Models: {E(models)}.</p>{notes}{no_models}{how}"
        f"<nav class='small'>{nav}</nav>"
    )


def _why(comp, variant) -> str:
    """The known explanations of the variant's surprising results (``viz.explanations``)."""
    found: dict = {}
    for row in comp.rows:
        if not is_main(row, comp):
            continue
        diff, _ = change(row.values.get(variant), row.values.get(comp.baseline))
        item = explain(comp.intervention_types.get(variant, []), row.key, diff)
        if item is not None:
            found.setdefault(item, []).append(row.description or row.name)
    return "".join(
        f"<div class='small why'><p><b>{E(item.question)}</b> {E(item.text)}</p>"
        f"<p class='mute'>It explains the {'rise' if item.rises else 'fall'} of: "
        f"{E('; '.join(names))}.</p></div>"
        for item, names in found.items()
    )


def _row_unit(row, comp=None) -> tuple[float, str]:
    vals = [abs(v) for v in row.values.values() if v is not None]
    if comp is not None:
        for series in comp.series.get(row.key, {}).values():
            vals += [abs(v) for v in series if v is not None]
    return display_units(row.units, max(vals, default=0.0))


def _gains(row, comp, variant):
    """(municipality, relative improvement %, absolute improvement) that gains most from
    ``variant`` on ``row``; None when no municipality improves."""
    if variant not in row.by_district or comp.baseline not in row.by_district:
        return None
    best = None
    for d, v in row.by_district[variant].items():
        b = row.by_district[comp.baseline].get(d)
        if v is None or b is None:
            continue
        if row.better not in ("lower", "higher"):
            return None
        gain = (b - v) if row.better == "lower" else (v - b)
        if not row.ratio:  # a temperature: ranked by its difference in K, no percent
            rel = gain
        else:
            rel = 100 * gain / abs(b) if b else (np.inf if gain > 0 else 0.0)
        if gain > 1e-12 and (best is None or (rel, gain) > (best[1], best[2])):
            best = (d, rel, gain)
    return best


def _headline(comp, variant) -> str:
    """The largest changes of a variant and the municipality that gains most."""
    items = []
    for row in comp.rows:
        if not is_main(row, comp):
            continue
        diff, pct = change(row.values.get(variant), row.values.get(comp.baseline),
                           ratio=row.ratio)  # fmt: skip
        if diff is None or verdict(diff, row.better) in ("same", "changed"):
            continue
        items.append((abs(pct) if pct is not None else 0.0, row, diff, pct))
    items.sort(key=lambda t: -t[0])
    lines = []
    for _, row, diff, pct in items[:4]:
        f, u = _row_unit(row, comp)
        lines.append(f"<li>{E(row.description or row.name)}: "
                     f"{fmt_change(diff * f, pct, row.better, change_units(u))}</li>")  # fmt: skip
    winners: dict[str, list[float]] = {}
    for row in comp.rows:
        if not is_main(row, comp):
            continue
        g = _gains(row, comp, variant)
        if g:
            winners.setdefault(g[0], []).append(g[1])
    gain_text = ""
    if winners:
        top = max(winners, key=lambda d: (len(winners[d]), np.mean(winners[d])))
        gain_text = (f"<p><b>Gains most: {E(top)}</b> <span class='small mute'>(it improves "
                     f"most on {len(winners[top])} of the "
                     f"{sum(len(v) for v in winners.values())} indicators that improve in some "
                     "municipality)</span></p>")  # fmt: skip
    if not lines:
        return "<p class='mute small'>No indicator changes.</p>" if comp.rows else ""
    return f"<ul>{''.join(lines)}</ul>{gain_text}{_why(comp, variant)}"


def _cards(comp) -> str:
    cards = []
    for v in comp.variants:
        desc = comp.descriptions.get(v, "")
        inter = comp.interventions.get(v, [])
        body = f"<p>{E(desc)}</p>" if desc else ""
        alone = len(comp.variants) == 1
        if inter and (v != comp.baseline or alone):
            body += "<p class='small mute'>Changes: " + "; ".join(E(i) for i in inter) + "</p>"
        area = comp.change_area.get(v, {})
        if area and v != comp.baseline:
            body += "<p class='small'>" + ", ".join(
                f"{E(lab)} {fmt(a['all'], 'ha')}" for lab, a in area.items()) + "</p>"  # fmt: skip
        if v != comp.baseline:
            body += _headline(comp, v)
        cards.append(f"<div class='card'><h3>{E(v)}"
                     f"{' (reference)' if v == comp.baseline and not alone else ''}</h3>"
                     f"{body}</div>")  # fmt: skip
    title = "The variants" if len(comp.variants) > 1 else "The variant"
    return f"<h2>{title}</h2><div class='cards'>{''.join(cards)}</div>"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return (
        f"<div class='tbl'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def is_main(row, comp) -> bool:
    """Indicators a planner reads first: those split by municipality or group (the others,
    such as volume budgets and solver counters, go to a folded "technical" table)."""
    if not any(r.by_district or r.by_group for r in comp.rows):
        return True
    return bool(row.by_district or row.by_group) or row.model == "maps"


def _values_table(comp, rows, get, first: str = "Indicator") -> str:
    """Indicator rows (grouped by model) x variants; ``get(row, variant)`` gives a value.
    Each variant's cell holds its value and, below, its change from the reference."""
    others = [v for v in comp.variants if v != comp.baseline]
    header = [first, f"{E(comp.baseline)}"] + [E(v) for v in others]
    out, model = [], None
    for row in rows:
        f, u = _row_unit(row, comp)
        if row.model != model:
            model = row.model
            title = "derived from the maps" if model == "maps" else f"{model} model"
            out.append([f"<b>{E(title)}</b>"] + [""] * (len(header) - 1))
        better = BETTER_TEXT.get(row.better, "")
        base = get(row, comp.baseline)
        cells = [f"{E(row.description or row.name)}<span class='d'><span class='tech'>"
                 f"{E(row.name)}{' (' + E(u) + ')' if u else ''}, </span>{better}</span>",
                 fmt(_scaled(base, f), u)]  # fmt: skip
        for v in others:
            val = get(row, v)
            diff, pct = change(val, base, ratio=row.ratio)
            cells.append(f"{fmt(_scaled(val, f), u)}<span class='d'>"
                         f"{fmt_change(_scaled(diff, f), pct, row.better, change_units(u))}</span>")
        out.append(cells)
    return _table(header, out)


BETTER_TEXT = {"lower": "lower is better", "higher": "higher is better",
               "neither": "neither direction is better"}  # fmt: skip


def _indicator_table(comp) -> str:
    if not comp.rows:
        return ""
    main = [r for r in comp.rows if is_main(r, comp)]
    tech = [r for r in comp.rows if not is_main(r, comp)]
    total = lambda row, v: row.values.get(v)  # noqa: E731
    others = [v for v in comp.variants if v != comp.baseline]
    intro = ("Each variant's value, with its change from the reference below it."
             if others else "The run's value of each indicator.")  # fmt: skip
    if "night" not in comp.parts_of_day or "day" not in comp.parts_of_day:
        intro += (f" The run covers {'daytime' if 'day' in comp.parts_of_day else 'night'} "
                  "only: indicators of the other part of the day are left out.")  # fmt: skip
    out = ["<h2 id='indicators'>Indicators for the whole city</h2>"
           f"<p class='small mute'>{intro}</p>", _values_table(comp, main, total)]  # fmt: skip
    if tech:
        out.append(f"<details><summary class='small'>{len(tech)} technical indicators (water "
                   "budgets, model checks)</summary>" + _values_table(comp, tech, total)
                   + "</details>")  # fmt: skip
    return "".join(out)


def _scaled(v, f):
    return None if v is None else v * f


def _municipalities(comp) -> str:
    rows_with = [r for r in comp.rows if r.by_district]
    out = ["<h2 id='municipalities'>Per municipality</h2>"]
    if not comp.districts:
        return out[0] + "<p class='mute'>This city has no municipalities in its district layer.</p>"
    if not rows_with and not any(comp.change_area.values()):
        return ""
    if rows_with and len(comp.variants) > 1:
        out.append(_gains_table(comp, rows_with))
    elif not rows_with and comp.rows:
        out.append("<p class='mute'>No indicator is given per municipality in these runs.</p>")
    if rows_with:
        out.append("<p class='small mute'>Every indicator in each municipality (tap to open):</p>")
    for d in comp.districts:
        get = lambda row, v, d=d: (row.by_district.get(v) or {}).get(d)  # noqa: E731
        if rows_with:
            out.append(f"<details><summary><b>{E(d)}</b>: {_tally(comp, rows_with, get)}"
                       "</summary>" + _values_table(comp, rows_with, get) + "</details>")  # fmt: skip
    if comp.change_area and any(comp.change_area.values()):
        out.append(_change_area_table(comp))
    return "".join(out)


def _tally(comp, rows, get) -> str:
    """``green_blue better on 15, worse on 3 indicators; ...`` for a summary line."""
    parts = []
    for v in comp.variants:
        if v == comp.baseline:
            continue
        verdicts = [verdict(change(get(r, v), get(r, comp.baseline))[0], r.better) for r in rows]
        parts.append(f"{E(v)} <span class='better'>better on {verdicts.count('better')}</span>, "
                     f"<span class='worse'>worse on {verdicts.count('worse')}</span>")  # fmt: skip
    return "; ".join(parts) + f" of {len(rows)} indicators" if parts else f"{len(rows)} indicators"


def _gains_table(comp, rows) -> str:
    """Which municipality gains most from each variant, indicator by indicator."""
    others = [v for v in comp.variants if v != comp.baseline]
    table = []
    for row in rows:
        cells = [E(row.description or row.name)]
        for v in others:
            g = _gains(row, comp, v)
            if g is None:
                cells.append("<span class='same'>none</span>")
            else:
                if not row.ratio:  # a temperature: its difference in K
                    pct = f" ({'+' if row.better == 'higher' else '−'}{fmt(abs(g[2]))} K)"
                else:
                    pct = f" ({'+' if row.better == 'higher' else '−'}{fmt(abs(g[1]))} %)" \
                        if np.isfinite(g[1]) else ""
                cells.append(f"<span class='better'>{E(g[0])}</span><span class='d'>{pct}</span>")
        table.append(cells)
    return ("<h3>Which municipality gains most</h3><p class='small mute'>For each indicator, "
            "the municipality whose value improves most (relative to its own reference value) "
            "under each variant; the tables below give every municipality's numbers.</p>"
            + _table(["Indicator", *[E(v) for v in others]], table))  # fmt: skip


def _change_area_table(comp) -> str:
    header = ["Variant: change", *[E(d) for d in comp.districts], "whole city"]
    rows = []
    for v in comp.variants:
        for label, per in comp.change_area.get(v, {}).items():
            rows.append([f"{E(v)}: {E(label)}", *[fmt(per.get(d), "ha") for d in comp.districts],
                         fmt(per.get("all"), "ha")])  # fmt: skip
    return ("<h3>Where each variant changes the city (area, hectares)</h3>"
            "<p class='small mute'>An area can count under more than one change (a green roof "
            "in a district whose drains are upgraded).</p>" + _table(header, rows))  # fmt: skip


def _groups(comp) -> str:
    """One table: for each indicator given by population group, a row per group."""
    rows_with = [r for r in comp.rows if r.by_group]
    if not rows_with:
        return ""
    others = [v for v in comp.variants if v != comp.baseline]
    header = ["Group", E(comp.baseline)] + [E(v) for v in others]
    table = []
    for row in rows_with:
        f, u = _row_unit(row, comp)
        better = BETTER_TEXT.get(row.better, "")
        table.append([f"<b>{E(row.description or row.name)}</b><span class='d'>"
                      f"{E(u) + ', ' if u else ''}{better}</span>"] + [""] * len(header[1:]))
        for g in comp.groups:
            b = (row.by_group.get(comp.baseline) or {}).get(g)
            cells = [E(g), fmt(_scaled(b, f), u)]
            for v in others:
                val = (row.by_group.get(v) or {}).get(g)
                diff, pct = change(val, b, ratio=row.ratio)
                cells.append(f"{fmt(_scaled(val, f), u)}<span class='d'>"
                             f"{fmt_change(_scaled(diff, f), pct, row.better, change_units(u))}"
                             "</span>")  # fmt: skip
            table.append(cells)
    return ("<h2 id='groups'>By population group</h2><p class='small mute'>Travel and heat "
            "exposure of each group of people, as the mobility model reports them: who gains "
            "and who loses under each variant.</p>" + _table(header, table))  # fmt: skip


def _change_section(comp) -> str:
    from metrotwin.viz.maps import BaseMap, change_map  # inside: it loads matplotlib

    base = BaseMap(comp.grid)
    comp._basemap = base
    figs = []
    for v in comp.variants:
        if v == comp.baseline:
            continue
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


def _difference_maps(comp) -> str:
    from metrotwin.viz.maps import difference_map, road_map, value_map  # loads matplotlib

    base = getattr(comp, "_basemap", None)
    others = [v for v in comp.variants if v != comp.baseline]
    out = ["<h2 id='maps'>Difference maps (variant minus reference)</h2>"]
    if not comp.maps:
        return ""
    if not others:
        out = ["<h2 id='maps'>Maps</h2><p class='small mute'>The run's peak (or lowest) value of "
               "each quantity, cell by cell.</p>"]  # fmt: skip
    else:
        out.append("<p class='small mute'>Each map shows, cell by cell, the variant's value minus "
               f"the {E(comp.baseline)}'s, on one scale per quantity: green where the variant "
               "is better, pink where it is worse, no colour where nothing changes. "
               "Temperatures change by a difference in K.</p>")  # fmt: skip
    ds = comp.grid
    for m in comp.maps:
        style = style_of(m.name)
        diffs = {v: m.change(v, comp.baseline) for v in others}
        lo, hi = (
            shared_range(list(diffs.values()), symmetric=True, robust=99.5) if diffs else (-1, 1)
        )
        limit = max(abs(lo), abs(hi))
        figs = []
        if m.on_links:
            if "node_x" not in comp_static(comp):
                continue
            seg = comp_static(comp)["segments"]
            for v in others:
                du = change_units(m.units)
                picture = road_map(base, seg, diffs[v], title=f"{v}: {_lower(m.label)}",
                                   units=du, better=m.better, limit=limit)  # fmt: skip
                figs.append(figure(picture, f"{v} minus {comp.baseline}: {_lower(m.label)} ({du})"))
        else:
            clim = shared_range(list(m.values.values()), robust=99.5,
                                floor=0.0 if m.name == "flood_water_thickness" else None)  # fmt: skip
            figs.append(figure(value_map(base, m.values[comp.baseline], cmap=cmap_of(style.cmap),
                                         title=f"{comp.baseline}: {_lower(m.label)}",
                                         units=m.units, clim=clim,
                                         hide_below=style.threshold),
                               f"{comp.baseline} (reference): {_lower(m.label)} ({m.units})"))  # fmt: skip
            tiny = 1e-3 if m.name == "flood_water_thickness" else 0.05
            for v in others:
                figs.append(
                    figure(
                        difference_map(
                            base,
                            diffs[v],
                            title=f"{v}: change",
                            units=change_units(m.units),
                            better=m.better,
                            limit=limit or 1.0,
                            tiny=tiny,
                        ),
                        f"{v} minus {comp.baseline}: {_lower(m.label)} "
                        f"({change_units(m.units)})",
                    )
                )
        out.append(f"<h3>{E(m.label)} ({E(m.units)})</h3><div class='grid'>{''.join(figs)}</div>")
    del ds
    return "".join(out)


def comp_static(comp) -> dict:
    """Road segments (n, 2, 2) of the baseline, cached on the comparison."""
    if not hasattr(comp, "_static"):
        import xarray as xr

        path = comp.run_paths[comp.baseline] / "fields.nc"
        with xr.open_dataset(path) as ds:
            st = {}
            if all(n in ds for n in ("node_x", "node_y", "link_from", "link_to")):
                nx_, ny_ = ds["node_x"].values, ds["node_y"].values
                a, b = ds["link_from"].values.astype(int), ds["link_to"].values.astype(int)
                st["node_x"] = nx_
                st["segments"] = np.stack([np.column_stack([nx_[a], ny_[a]]),
                                           np.column_stack([nx_[b], ny_[b]])], axis=1)  # fmt: skip
        comp._static = st
    return comp._static


def _renders(comp, runs) -> str:
    """Side-by-side 3D views of every variant, per theme, at the reference's peak time."""
    from PIL import Image

    # inside: it loads PyVista, which a report without 3D views never needs
    from metrotwin.viz.render import Scales, SceneRenderer, peak_field, themes_of, title_of

    t0 = time.perf_counter()
    base = runs[0]
    out = ["<h2 id='views'>3D views, side by side</h2><p class='small mute'>Same camera, same "
           "time and same colour scales for every variant. Heights are exaggerated 1.5×; "
           "roofs and ground are coloured by their type where no other layer covers them."
           "</p>"]  # fmt: skip
    same_times = all(
        len(r.times) == len(base.times) and (r.times == base.times).all() for r in runs
    )
    for theme in themes_of(base):
        index = time_index(base, "peak", peak_field=peak_field(base, theme))
        scales = Scales.of(runs, index if same_times else None)
        figs = []
        for run in runs:
            i = index if same_times else time_index(run, "peak", peak_field=peak_field(run, theme))
            r = SceneRenderer(run, theme=theme, scales=scales, size=REPORT_RENDER_SIZE)
            try:
                img = r.frame(i, view="overview", title=title_of(run, i, theme))
            finally:
                r.close()
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="JPEG", quality=82, optimize=True)
            figs.append(figure(buf.getvalue(), f"{run.name}: {THEME_TITLES.get(theme, theme)}",
                               "image/jpeg"))  # fmt: skip
        out.append(
            f"<h3>{E(THEME_TITLES.get(theme, theme))}</h3><div class='grid'>{''.join(figs)}</div>"
        )
    log.info("3D views rendered in %.1f s", time.perf_counter() - t0)
    return "".join(out)


def _time_series(comp) -> str:
    from metrotwin.viz.maps import time_series_chart  # inside: it loads matplotlib

    rows = {r.key: r for r in comp.rows}
    keys = [k for k in comp.series if k in rows and is_main(rows[k], comp)]
    # the main indicators: the first two of every model, up to MAX_CHARTS
    by_model: dict[str, list[str]] = {}
    for k in keys:
        by_model.setdefault(k.split(".")[0], []).append(k)
    chosen = []  # round robin over the models: each model's first, then second...
    for rank in range(max((len(v) for v in by_model.values()), default=0)):
        chosen += [v[rank] for v in by_model.values() if rank < len(v)]
    chosen = chosen[:MAX_CHARTS]
    out = ["<h2 id='time'>The indicators over time</h2>"]
    if not chosen:
        return ""
    figs = []
    for k in chosen:
        row = rows[k]
        f, u = _row_unit(row, comp)
        series = {v: (comp.series_time[v][: len(vals)], [None if x is None else x * f for x in vals])
                  for v, vals in comp.series[k].items() if v in comp.series_time}  # fmt: skip
        figs.append(
            figure(
                time_series_chart(series, title=row.description or row.name, units=u),
                f"{row.description or row.name} ({u or 'count'})"
                + (", every variant" if len(comp.variants) > 1 else ""),
            )
        )
    out.append(f"<div class='grid'>{''.join(figs)}</div>")
    return "".join(out)


def _sensors(comp) -> str:  # hook (observe helper): variants with an observations.nc
    from metrotwin.viz.sensors import sensor_section  # inside: it loads matplotlib

    return sensor_section(comp.grid, comp.run_paths)


def _files(comp, path: Path) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    runs = "".join(
        f"<li><b>{E(v)}</b>: <code>{E(str(p))}</code></li>" for v, p in comp.run_paths.items()
    )
    return (
        "<h2 id='files'>Files and how to go further</h2><ul class='small'>"
        "<li><code>indicators.csv</code> (beside this page): every number of the tables, one "
        "row per variant, indicator and area, for a spreadsheet.</li>"
        "<li><code>comparison.nc</code>: the same on a <code>variant</code> dimension, the maps "
        "and their changes, for GIS or Python (<code>xarray.open_dataset</code>).</li>"
        f"{runs}"
        "<li>More pictures: <code>metrotwin render RUN_DIR --time 08:30 --view oldtown</code>, "
        "animations: <code>metrotwin animate RUN_DIR</code>; ParaView: open "
        "<code>paraview/fields.pvd</code> in a variant's folder.</li></ul>"
        f"<p class='small mute'>Made by metrotwin {E(__version__)} on {now}.</p>"
    )
