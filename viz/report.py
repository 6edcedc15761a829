"""The HTML comparison report: one self-contained page a planner can open on a phone.

Everything is inlined (CSS, images as base64), no script and nothing from the network. The
page reads top-down: what was compared, the headline per variant, the indicator table with
the change from the baseline, per municipality and per population group, where each variant
changes the city, difference maps, side-by-side 3D views, the indicators over time, and
which files hold the numbers. The numbers are the ``Comparison`` that
``metrotwin.results.compare`` computes; the modules ``report_tables`` and ``report_figures``
draw its sections.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path

from metrotwin import __version__
from metrotwin.results.compare import (
    REPORT_FILE,
    compare,
    comparison_dir,
    write_comparison_tables,
)
from metrotwin.results.output import write_text_atomic
from metrotwin.results.risk.risk_comparison import is_risk_folder
from metrotwin.results.rundata import variant_dirs
from metrotwin.viz.maps import BaseMap
from metrotwin.viz.report_figures import change_section, difference_maps, renders, time_series
from metrotwin.viz.report_format import E
from metrotwin.viz.report_risk import write_risk_report
from metrotwin.viz.report_style import CSS
from metrotwin.viz.report_tables import cards, groups, indicator_table, municipalities
from metrotwin.viz.sensors import sensor_section

log = logging.getLogger("metrotwin.report")


def compare_runs(run_dirs: list[Path] | Path, out_dir: Path | None = None, *,
                 render: bool = True) -> Path:  # fmt: skip
    """Compare the variants in ``run_dirs`` (a run directory, or several run directories or
    variant folders) and write ``indicators.csv``, ``comparison.nc`` and ``report.html`` into
    ``out_dir`` (default ``<run root>/comparison``). ``render=False`` leaves out the 3D views
    (the tables, maps and charts are always there). Returns the report's path.

    The baseline is the variant named ``baseline`` (else the first one given). The numbers
    are computed by ``metrotwin.results.compare``; this module draws them.
    """
    folders = variant_dirs(run_dirs)
    if all(is_risk_folder(f) for f in folders):  # a risk run: its own report (issue 19)
        out_dir = Path(out_dir) if out_dir is not None else comparison_dir(run_dirs)
        return write_risk_report(folders, out_dir / REPORT_FILE)
    with compare(run_dirs) as comp:
        out_dir = Path(out_dir) if out_dir is not None else comparison_dir(run_dirs)
        write_comparison_tables(comp, out_dir)
        return write_report(comp, out_dir / REPORT_FILE, render=render)


def write_report(comp, path: Path, *, render: bool = True) -> Path:
    """Write the report of a ``metrotwin.results.comparison.Comparison`` to ``path`` (its 3D
    views, with ``render``, from the variants it holds open); returns ``path``."""
    t0 = time.perf_counter()
    base = BaseMap(comp.grid)
    sections = [
        ("indicators", indicator_table),
        ("municipalities", municipalities),
        ("groups", groups),
        ("changes", lambda c: change_section(c, base)),
        ("maps", lambda c: difference_maps(c, base)),
    ]
    if render:
        sections.append(("views", renders))
    sections.append(("time", time_series))
    sections.append(("sensors", lambda c: sensor_section(c.grid, c.run_paths)))
    body = [(anchor, func(comp)) for anchor, func in sections]
    body = [(a, html_) for a, html_ in body if html_]  # empty sections are left out
    parts = [_header(comp, [a for a, _ in body]), cards(comp), *[h for _, h in body],
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
