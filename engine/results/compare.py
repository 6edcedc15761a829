"""Compare the variants of a run: indicators, their change from the baseline, maps.

``compare(run_dir)`` reads every variant folder of a run (``fields.nc`` and
``indicators.json``, through ``metrotwin.results.rundata``) and returns a ``Comparison``
(``metrotwin.results.comparison``); ``write_comparison_tables`` writes it into
``<run_dir>/comparison/``:

- ``indicators.csv``  one row per variant, indicator and area (whole city, each
  municipality, each population group): value, baseline value, change (absolute and %), and
  whether that is better, worse or only "changed" (the indicator's direction:
  ``metrotwin.results.indicators.direction``); temperatures change by a difference in K,
  without percent (``compare_csv``);
- ``comparison.nc``   the same numbers on a ``variant`` dimension, the time series of the
  indicators, and the summary maps of the main fields (peak water depth, highest felt
  temperature, lowest road speed...) with their change from the baseline (variant minus
  baseline), plus where each variant changes the city (``compare_netcdf``);
- ``report.html``     a self-contained page for planners (images inlined), drawn by
  ``metrotwin.viz.report`` from the ``Comparison``.

Fields a run does not have are left out (a flood-only run has no heat map), never an error.

    >>> from metrotwin.viz.report import compare_runs                   # doctest: +SKIP
    >>> compare_runs("runs/demo")                                       # doctest: +SKIP
    PosixPath('runs/demo/comparison/report.html')
"""

from __future__ import annotations

import logging
from pathlib import Path

from metrotwin.errors import DataSourceError
from metrotwin.results.compare_context import (
    added_types,
    covered,
    describe_interventions,
    describe_period,
    parts_of_day,
    scenario_order,
)
from metrotwin.results.compare_csv import CSV_FILE, write_csv
from metrotwin.results.compare_maps import (
    change_maps,
    district_names,
    map_summaries,
    road_segments,
)
from metrotwin.results.compare_netcdf import NETCDF_FILE, write_netcdf
from metrotwin.results.compare_rows import derived_rows, indicator_rows, indicator_series
from metrotwin.results.comparison import Comparison
from metrotwin.results.layout import BASELINE, FIELDS_FILE
from metrotwin.results.rundata import open_variants

log = logging.getLogger("metrotwin.results.compare")

COMPARISON_DIR = "comparison"
REPORT_FILE = "report.html"
#: the static layers of the baseline a comparison keeps (to draw its maps on)
GRID_LAYERS = ("district", "land_cover", "building_height", "surface_altitude")


def comparison_dir(run_dirs: list[Path] | Path) -> Path:
    """Where the comparison of ``run_dirs`` goes by default: ``<run root>/comparison``."""
    first = Path(run_dirs if isinstance(run_dirs, (str, Path)) else run_dirs[0])
    root = first if not (first / FIELDS_FILE).is_file() else first.parent
    return root / COMPARISON_DIR


def compare(run_dirs) -> Comparison:
    """Compare the variants in ``run_dirs`` (a run directory, or several run directories or
    variant folders), in the scenario's order; the baseline is the variant named
    ``baseline`` (else the first one). The comparison keeps the variants open for the
    report's 3D views: close it (or use it in a ``with``) when done.

    Raises DataSourceError naming the folder or file that cannot be compared (no variant,
    an unreadable file, a decomposed run with a lost tile, variants on different grids).
    """
    runs = scenario_order(open_variants(run_dirs))
    try:
        return build_comparison(runs)
    except BaseException:
        for run in runs:
            run.close()
        raise


def write_comparison_tables(comp: Comparison, out_dir: Path) -> None:
    """Write ``indicators.csv`` and ``comparison.nc`` of ``comp`` into ``out_dir``."""
    out_dir = Path(out_dir)
    write_csv(comp, out_dir / CSV_FILE)
    write_netcdf(comp, out_dir / NETCDF_FILE)


def build_comparison(runs) -> Comparison:
    """The comparison of the opened variants ``runs`` (``open_variants``, baseline first)."""
    if not runs:
        raise DataSourceError("nothing to compare: no variant folders given")
    _check_same_grid(runs)
    names = [r.name for r in runs]
    base = runs[0]
    parts = parts_of_day(base)
    rows = [r for r in indicator_rows(runs) if covered(r.name, parts)]
    districts = district_names(base.ds)
    maps = map_summaries(runs)
    rows += derived_rows(maps, base.ds, districts, names)
    changes, labels, area = change_maps(runs, districts)
    series_time, series = indicator_series(runs)
    sc = base.resolved.get("scenario") or {}
    # a variant alone is described by all its interventions; others by what they add
    reference = base.interventions if len(runs) > 1 or base.name == BASELINE else []
    return Comparison(
        scenario=" / ".join(sorted({r.scenario_name for r in runs})),
        description=str(sc.get("description") or "").strip(),
        baseline=base.name,
        variants=names,
        descriptions=_descriptions(runs),
        interventions={r.name: describe_interventions(r.interventions, reference) for r in runs},
        models=_models(runs, sc),
        period=describe_period(sc.get("period") or {}),
        rows=rows,
        districts=districts,
        groups=_groups(rows),
        series_time=series_time,
        series=series,
        maps=maps,
        changes=changes,
        change_labels=labels,
        change_area=area,
        grid=base.ds[[v for v in GRID_LAYERS if v in base.ds]],  # x, y and the CRS come along
        run_paths={r.name: r.path for r in runs},
        notes=_notes(runs),
        intervention_types={r.name: added_types(r.interventions, reference) for r in runs},
        parts_of_day=parts,
        road_segments=road_segments(base.ds),
        runs=list(runs),
    )


def _groups(rows) -> list[str]:
    """The population groups any indicator is given for, sorted."""
    return sorted({g for r in rows for d in r.by_group.values() for g in (d or {})})


def _check_same_grid(runs) -> None:
    shapes = {r.name: (r.ds.sizes.get("y"), r.ds.sizes.get("x")) for r in runs}
    if len(set(shapes.values())) > 1:
        raise DataSourceError(
            "the variants are on different grids and cannot be compared: "
            + ", ".join(f"{k} {v[0]}x{v[1]}" for k, v in shapes.items())
        )


def _notes(runs) -> list[str]:
    """What a reader must know about what was compared."""
    notes = []
    if runs[0].name != BASELINE and len(runs) > 1:
        notes.append(f"No variant is named 'baseline'; changes are measured from "
                     f"{runs[0].name!r}.")  # fmt: skip
    scenarios = {r.scenario_name for r in runs}
    if len(scenarios) > 1:
        notes.append("These runs come from different scenarios: " + ", ".join(sorted(scenarios)))
    return notes


def _descriptions(runs) -> dict[str, str]:
    """Variant -> its description in the scenario."""
    descriptions = {r.name: "" for r in runs}
    for r in runs:
        descriptions.update({k: v for k, v in r.variant_descriptions.items() if k in descriptions})
    if runs[0].name == BASELINE:
        descriptions[BASELINE] = "The city as it is today, without the variants' changes."
    return descriptions


def _models(runs, scenario: dict) -> list[str]:
    """The models that ran in any variant or that the scenario names."""
    ran = {m for r in runs for m in (r.indicators.get("models") or {})}
    return sorted(ran | set(scenario.get("models") or {}))
