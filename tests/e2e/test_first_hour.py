"""A new user's first hour (issue #16): the install survives the README's two commands,
the CLI answers quickly and says what it is doing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import yaml

import metrotwin
import metrotwin.hpc
import metrotwin.models
import metrotwin.viz

SMALL_FLOOD = {
    "name": "smallflood",
    "seed": 3,
    "domain": {"generated": {"size_x": 600, "size_y": 480, "resolution": 20}},
    "period": {"start": "2026-07-15T06:00:00", "duration": "10 min",
               "coupling_interval": "5 min", "output_interval": "5 min"},
    "forcing": {"rainfall": {"hyetograph": [["0 min", 30]]}},
    "models": {"flood": {}},
}  # fmt: skip


def _package_folders() -> list[Path]:
    """Every folder the installed package's files live in (one per import root)."""
    packages = (metrotwin, metrotwin.models, metrotwin.hpc, metrotwin.viz)
    return [Path(m.__file__).parent for m in packages]


def _numba_cache_files(folder: Path) -> list[Path]:
    return [p for pattern in ("*.nbi", "*.nbc") for p in folder.rglob(pattern)]


def _metrotwin(args, env, cwd, timeout=600):
    return subprocess.run([sys.executable, "-m", "metrotwin", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def test_a_run_leaves_no_numba_cache_inside_the_package(tmp_path):
    """numba's default cache is ``__pycache__`` beside the kernels: inside site-packages after
    ``pip install .``, where it outlives the package and hides a later editable install."""
    before = {p: p.stat().st_mtime for f in _package_folders() for p in _numba_cache_files(f)}
    scenario = tmp_path / "small.yaml"
    scenario.write_text(yaml.safe_dump(SMALL_FLOOD), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(XDG_CACHE_HOME=str(tmp_path / "xdg"), NUMBA_NUM_THREADS="1")
    run = ["run", str(scenario), "--no-report", "-o"]
    done = _metrotwin([*run, str(tmp_path / "out")], env, tmp_path)
    assert done.returncode == 0, done.stderr
    after = {p: p.stat().st_mtime for f in _package_folders() for p in _numba_cache_files(f)}
    written = sorted(str(p) for p, mtime in after.items() if before.get(p) != mtime)
    assert written == [], f"numba cache files written inside the package: {written[:5]}"
    # ... and the kernels were cached in the user's cache folder instead, which it said
    cache = tmp_path / "xdg" / "metrotwin" / "numba"
    assert _numba_cache_files(cache)
    assert f"compiling the flood kernels (first run only, cached in {cache})" in done.stderr
    again = _metrotwin([*run, str(tmp_path / "again")], env, tmp_path)
    assert again.returncode == 0 and "compiling" not in again.stderr  # warm: nothing to say


def test_the_numba_cache_folder_respects_the_user_and_falls_back(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    code = ("import numba.core.config as c, metrotwin; print(c.CACHE_DIR); "
            "print(metrotwin.numba_cache_dir())")
    mine = {**env, "NUMBA_CACHE_DIR": str(tmp_path / "mine")}
    own = subprocess.run([sys.executable, "-c", code], env=mine,
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert own == [str(tmp_path / "mine")] * 2
    # numba imported before metrotwin still gets the folder; an unwritable cache home falls
    # back to the temp directory
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache home would be")
    out = subprocess.run([sys.executable, "-c", code], env={**env, "XDG_CACHE_HOME": str(blocked)},
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert out[0] == out[1]
    assert Path(out[0]).name.startswith("metrotwin-numba-") and not out[0].startswith(str(blocked))


def test_help_does_not_import_the_heavy_libraries():
    """``metrotwin --help`` answers without numpy, xarray, numba or pydantic (issue #16: 3.9 s
    on a cold machine). Checked by module, not by the clock, which a shared machine blurs."""
    code = ("import sys\nfrom metrotwin.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\n"
            "heavy = ('numpy', 'xarray', 'numba', 'pydantic', 'rich')\n"
            "print(sorted(m for m in heavy if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def _sections(text: str) -> dict[str, list[str]]:
    """The lines of ``metrotwin models`` under each heading: a model (no indent) or an
    intervention type (2 spaces, apart from a model's reads/writes/parameters lines)."""
    sections, current = {}, None
    for line in text.splitlines():
        words, indent = line.split(), len(line) - len(line.lstrip())
        if not words:
            continue
        if indent == 0 or (indent == 2 and words[0] not in ("reads", "writes", "parameters")):
            current = words[0]
            sections[current] = []
        elif current:
            sections[current].append(line.strip())
    return sections


def test_models_lists_every_parameter_and_intervention_field(capsys):
    """Issue #16: the README sends users to ``metrotwin models`` for the parameters and the
    intervention fields, and it listed neither."""
    from metrotwin.cli import main
    from metrotwin.city.interventions import INTERVENTIONS
    from metrotwin.run.registry import list_models

    assert main(["models"]) == 0
    sections = _sections(capsys.readouterr().out)
    for name, cls in list_models().items():
        for field, info in cls.Params.model_fields.items():
            line = next((s for s in sections[name] if s.startswith(f"{field}: ")), None)
            assert line is not None, f"{name}.{field} not listed"
            assert (info.description or "") in line
            if info.is_required():
                assert " = required" in line
            elif isinstance(info.default, (int, float)) and not isinstance(info.default, bool):
                assert f" = {info.default}" in line  # the default, as the scenario would give it
    assert INTERVENTIONS
    for kind, cls in INTERVENTIONS.items():
        listed = {s.split(":")[0] for s in sections[kind]}
        assert set(cls.model_fields) - {"type"} <= listed, kind


def test_a_run_of_some_variants_says_what_its_report_covers(toy_registry, small_scenario_data,
                                                             tmp_path, capsys):  # fmt: skip
    """Issue #16: `--variant X` made no report without saying so. Now it makes the report of
    the variants that ran, and says which did not and how to compare them."""
    from metrotwin.cli import main

    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_scenario_data), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "-o", str(out), "--variant", "more", "--no-progress"]) == 0
    said = capsys.readouterr().out
    assert "the report covers more only; run the others with --variant baseline" in said
    assert f"metrotwin compare {out} OTHER_OUT" in said
    assert (out / "comparison" / "report.html").is_file()


@pytest.mark.parametrize("field", ["universal_thermal_comfort_index", "surface_temperature"])
def test_the_comparison_maps_say_no_all_nan_warning(field):
    """Issue #16: numpy's "All-NaN slice encountered" on every run, from the peak maps of a
    field with cells that never have a value (UTCI under a building)."""
    import warnings
    from types import SimpleNamespace

    import numpy as np
    import xarray as xr

    from metrotwin.results.compare import map_summaries
    from metrotwin.viz.colors import style_of

    values = np.random.default_rng(1).uniform(290, 320, (4, 3, 5)).astype("float32")
    values[:, 1, 2] = np.nan  # a cell without a value at any time
    values[2, 0, 0] = np.nan  # and one that lacks one output
    ds = xr.Dataset({field: (("time", "y", "x"), values)})
    run = SimpleNamespace(name="a", ds=ds, has=lambda name: name in ds)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (summary,) = map_summaries([run])
    style = style_of(field)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = (np.nanmax if style.summary == "max" else np.nanmin)(values, axis=0)
    np.testing.assert_array_equal(summary.values["a"], style.display(expected).astype("float32"))
    assert np.isnan(summary.values["a"][1, 2]) and not np.isnan(summary.values["a"][0, 0])


def test_the_dropped_commuters_are_said_once_not_once_per_variant(monkeypatch, caplog):
    """Issue #16: every variant draws the same population and repeated the same warning."""
    import logging
    import warnings

    import numpy as np

    from metrotwin.models.mobility import demand
    from metrotwin.models.mobility.model import MobilityModel
    from metrotwin.models.mobility.network import Network
    from tests.models.mobility.test_model import city_with_buildings

    monkeypatch.setattr(demand, "_WARNED", set(), raising=False)
    state = city_with_buildings()
    params = MobilityModel.Params(sample_fraction=1.0)
    net = Network.from_state(state)
    with warnings.catch_warnings(record=True) as said, caplog.at_level(logging.INFO, "metrotwin"):
        warnings.simplefilter("always")  # no help from the warnings module's own de-duplication
        for _variant in range(3):  # a start at 8 h drops the commuters who left before it
            rng = np.random.default_rng(7)
            demand.synthetic_population(state, net, params, rng, start_hour=8.0)
    dropped = [w for w in said if "commuters dropped" in str(w.message)]
    assert len(dropped) == 1
    assert sum("commuters dropped" in r.getMessage() for r in caplog.records) == 2  # run.log


def test_the_progress_bar_says_it_is_compiling_until_the_first_step(monkeypatch):
    """Issue #16: ~58 s frozen at "eta -:--" while numba compiled, with nothing said."""
    from types import SimpleNamespace

    from metrotwin.run import registry
    from metrotwin.run.context import Clock
    from metrotwin.run.variant_run import ProgressBar as _progress_bar

    monkeypatch.setattr(registry, "_UNCOMPILED", {"flood": True, "heat": False})
    monkeypatch.setattr(_progress_bar, "compiled", set())
    clock = Clock(start=datetime(2026, 7, 15, 6), end=600.0, coupling_interval=300.0,
                  output_interval=300.0)  # fmt: skip
    models = [SimpleNamespace(name="flood"), SimpleNamespace(name="heat")]
    variant = SimpleNamespace(name="baseline", coupler=SimpleNamespace(models=models),
                              ctx=SimpleNamespace(clock=clock))  # fmt: skip
    bar = _progress_bar(variant, True)
    show = bar.__enter__()
    try:
        said = bar.bar.tasks[0].description
        assert said == "baseline [dim](first run: compiling the flood kernels)[/dim]"
        show(300.0)
        assert bar.bar.tasks[0].description == "baseline"
    finally:
        bar.__exit__(None, None, None)
    second = _progress_bar(SimpleNamespace(**{**vars(variant), "name": "green"}), True)
    second.__enter__()
    second.__exit__(None, None, None)
    assert second.bar.tasks[0].description == "green"  # compiled by the first variant


def test_the_report_says_it_is_being_written(toy_registry, small_scenario_data, tmp_path, capsys):
    """Issue #16: the report (~36 s for the demo) and animations printed nothing meanwhile."""
    from metrotwin.cli import main

    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_scenario_data), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "-o", str(out), "--no-progress"]) == 0
    said = capsys.readouterr()
    assert "metrotwin: writing the comparison report of 2 variants ..." in said.err
    assert re.search(r"writing the comparison report of 2 variants: done in \d+ s", said.err)
    assert (out / "comparison" / "report.html").is_file()
    assert main(["compare", str(out), "--no-3d", "-o", str(tmp_path / "again")]) == 0
    assert re.search(r"writing the comparison report: done in \d+ s", capsys.readouterr().err)
