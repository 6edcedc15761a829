"""Adversarial scenario files (issue #15), generated: bad names, NaN/inf, duplicate keys,
alias bombs, huge grids, tiny steps, bad CRSs, FIFOs, devices, folders and missing files.

Through ``metrotwin validate`` (in process) each one either is a valid scenario (exit 0, the
estimate printed) or gets exit status 2 with one bounded message and no traceback; nothing is
written in the working folder, and each example ends in bounded time. A handful of real runs
on tiny grids end the same way: results, or exit 2 with nothing written.

(``test_scenario_fuzz.py`` mutates the parsed demo; this file writes the YAML text itself, so
that what the YAML loader sees is adversarial too.)
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrotwin.cli import main
from metrotwin.scenario.messages import MAX_MESSAGE
from metrotwin.scenario.scenario import demo_scenario_path, read_yaml

BASE = read_yaml(demo_scenario_path())
PREFIX = "metrotwin: error: "
#: seconds one validate may take: loading, validation and the estimate; the old loader took
#: 44 s on a 547-byte alias bomb and the old validation 75 s before a MemoryError
VALIDATE_SECONDS = 5.0


def _numeric_paths(node, prefix=()):
    if isinstance(node, bool):
        return
    if isinstance(node, (int, float)):
        yield prefix
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _numeric_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _numeric_paths(value, (*prefix, i))


NUMERIC = list(_numeric_paths(BASE))
NON_FINITE = [".nan", ".inf", "-.inf", ".NaN", "1e999", "-1e999", "nan", "inf", "1e999 s"]


def _set(data, path, value):
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _text(data) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10**6)


# -- the kinds of adversarial input ----------------------------------------------------------------
names = st.one_of(
    st.sampled_from([".", "..", ".hidden", ".metrotwin-work", "comparison", "COMPARISON", "-x",
                     "a/b", "../up", "x" * 65, "x" * 5000, "", " ", "con", "a\x00b", "ok-name"]),
    st.text(max_size=70),
)  # fmt: skip


@st.composite
def bad_names(draw):
    data = dict(BASE)
    if draw(st.booleans()):
        data["name"] = draw(names)
    else:
        data["variants"] = {**BASE["variants"], draw(names): {}}
    return _text(data)


@st.composite
def non_finite(draw):
    data = yaml.safe_load(_text(BASE))
    _set(data, draw(st.sampled_from(NUMERIC)), "@@")
    return _text(data).replace("'@@'", draw(st.sampled_from(NON_FINITE)))


@st.composite
def duplicate_keys(draw):
    """The demo with one key of some mapping given twice (the YAML text, not the data)."""
    lines = _text(dict(BASE, description="one line")).splitlines()
    keyed = [i for i, line in enumerate(lines) if ":" in line and not line.lstrip().startswith("-")
             and not line.rstrip().endswith(":")]  # fmt: skip
    i = draw(st.sampled_from(keyed))
    key = lines[i].split(":", 1)[0]
    lines.insert(i + 1, f"{key}: {draw(st.sampled_from(['1', '20', 'x', '.nan', '[]']))}")
    return "\n".join(lines) + "\n", i + 1, i + 2


@st.composite
def alias_bombs(draw):
    width, levels = draw(st.integers(2, 12)), draw(st.integers(2, 10))
    text = "x0: &a0 [" + ", ".join(['"lol"'] * width) + "]\n"
    for level in range(1, levels):
        text += f"x{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]\n"
    where = draw(st.sampled_from(["description", "flood_inflows", "interventions", "variant"]))
    data = dict(BASE, name="bomb")
    body = _text(data)
    ref = f"*a{levels - 1}"
    if where == "description":
        body = body.replace("description:", f"description: {ref}\nx_description:", 1)
    elif where == "flood_inflows":
        body = body.replace("  flood:\n", f"  flood:\n    inflows: {ref}\n    x_inflows:\n", 1)
    elif where == "interventions":
        body = body.replace("interventions: []", f"interventions: {ref}", 1)
    else:
        body += f"  bomb_variant: {{interventions: {ref}}}\n"
    return text + body


@st.composite
def huge_grids(draw):
    data = yaml.safe_load(_text(BASE))
    generated = data["domain"]["generated"]
    generated["size_x"] = draw(st.sampled_from([320, 3000, 50_000, 100_000, 199_999, 200_000]))
    generated["size_y"] = draw(st.sampled_from([320, 2400, 50_000, 100_000, 200_000, 10**9]))
    generated["resolution"] = draw(st.sampled_from([0.001, 0.5, 1, 2, 10, 20, 1000]))
    return _text(data)


@st.composite
def tiny_steps(draw):
    data = yaml.safe_load(_text(BASE))
    period = data["period"]
    period.pop("end")
    period["duration"] = draw(st.sampled_from(["1 h", "10 d", "3650 d", "36500 d", "1e6 d"]))
    period["coupling_interval"] = draw(
        st.sampled_from([1e-9, 0.001, 0.5, 1, 10, "1 min", "5 min", "0 s", "-1 s"]))
    period["output_interval"] = draw(st.sampled_from([1e-9, 1, 60, "30 min", "1 d"]))
    model = draw(st.sampled_from(["flood", "heat", "mobility"]))
    field = {"flood": "fixed_time_step", "heat": "time_step", "mobility": "dt"}[model]
    data["models"][model][field] = draw(st.sampled_from([1e-9, 1e-3, 0.05, 0.5, 1, 10]))
    return _text(data)


@st.composite
def bad_crs(draw):
    data = yaml.safe_load(_text(BASE))
    data["domain"]["generated"]["crs"] = draw(st.sampled_from(
        ["garbage", "EPSG:4326", "EPSG:0", "+proj=longlat +datum=WGS84", "EPSG:2263", "", 5,
         None, "EPSG:32632", "EPSG:3035", "x" * 3000, 'GEOGCS["x"]']))  # fmt: skip
    return _text(data)


@st.composite
def bad_files(draw):
    """A data domain whose files are FIFOs, devices, folders, missing, or named through
    environment variables."""
    data = yaml.safe_load(_text(BASE))
    path = draw(st.sampled_from(["FIFO", "/dev/zero", "/dev/null", "FOLDER", "missing.tif",
                                 "${HOME}/dem.tif", "${METROTWIN_FUZZ_SECRET}/dem.tif", "",
                                 "/etc/passwd", "a\x00b.tif", "x" * 5000]))  # fmt: skip
    where = draw(st.sampled_from(["elevation", "rainfall", "weather"]))
    if where == "elevation":
        data["domain"] = {"data": {"crs": "EPSG:32632", "resolution": 20,
                                   "extent": [690000, 5333600, 690320, 5333920],
                                   "elevation": {"path": path}}}  # fmt: skip
    elif where == "rainfall":
        data["forcing"]["rainfall"] = {"file": path}
    else:
        data["forcing"]["weather"] = {"file": path}
    return _text(data)


#: (whether the input must be refused, the scenario text): a NaN, a duplicate key or an alias
#: bomb is never valid; the other kinds hold valid values too
scenario_texts = st.one_of(
    non_finite().map(lambda t: (True, t)),
    duplicate_keys().map(lambda t: (True, t[0])),
    alias_bombs().map(lambda t: (True, t)),
    st.one_of(bad_names(), huge_grids(), tiny_steps(), bad_crs(), bad_files()).map(
        lambda t: (False, t)
    ),
)


# -- the checks ------------------------------------------------------------------------------------
def _validate(folder: Path, text: str):
    """Exit status, stdout and stderr of ``metrotwin validate`` of ``text`` run in ``folder``
    (with a FIFO and a folder beside it), and the seconds it took."""
    scenario = folder / "s.yaml"
    scenario.write_text(text.replace("FIFO", str(folder / "fifo")).replace(
        "FOLDER", str(folder / "folder")), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    # the memory check must not depend on the machine running the tests
    with contextlib.chdir(folder), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err), \
            mock.patch("metrotwin.run.estimate.available_memory", return_value=16 * 2**30):  # fmt: skip
        start = time.perf_counter()
        code = main(["validate", str(scenario)])
        seconds = time.perf_counter() - start
    return code, out.getvalue(), err.getvalue(), seconds


def _check(code, out, err, seconds, before, folder):
    assert seconds < VALIDATE_SECONDS, f"validate took {seconds:.1f} s"
    assert code in (0, 2), err
    assert "Traceback" not in err and "Traceback" not in out
    if code == 2:
        assert err.startswith(PREFIX), err
        assert len(err) <= len(PREFIX) + MAX_MESSAGE + 1, len(err)  # one message, its newline
        assert err.count(PREFIX) == 1
        assert "s3cr3t" not in err and "nologin" not in err  # no expanded variable, no file
    else:
        assert "estimate: " in out
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    os.mkfifo(folder / "fifo")
    (folder / "folder").mkdir()
    return folder


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=scenario_texts)
def test_adversarial_scenarios_are_valid_or_refused_cleanly(fuzz_folder, case):
    must_refuse, text = case
    with mock.patch.dict(os.environ, {"METROTWIN_FUZZ_SECRET": "/s3cr3t"}):
        code, out, err, seconds = _validate(fuzz_folder, text)
    _check(code, out, err, seconds, ["fifo", "folder", "s.yaml"], fuzz_folder)
    assert code == 2 or not must_refuse, "accepted: " + text[:300]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=duplicate_keys())
def test_duplicate_keys_are_refused_naming_both_lines(fuzz_folder, case):
    text, first, second = case
    code, _, err, _ = _validate(fuzz_folder, text)
    assert code == 2 and "given twice" in err
    assert f"line {second}" in err and f"line {first}" in err


# -- a handful of real runs on tiny grids -----------------------------------------------------
TINY = {
    "name": "tiny",
    "domain": {"generated": {"size_x": 320, "size_y": 320, "resolution": 20}},
    "period": {"start": "2026-07-15T06:00:00", "duration": "10 min",
               "coupling_interval": "5 min", "output_interval": "5 min"},
    "forcing": {"rainfall": {"hyetograph": [[0, 10.0], [300, 20.0]]}},
    "models": {"flood": {}},
}  # fmt: skip


@st.composite
def tiny_runs(draw):
    data = yaml.safe_load(_text(TINY))
    kind = draw(st.sampled_from(["valid", "rain", "level", "name", "variant"]))
    if kind == "rain":
        data["forcing"]["rainfall"]["hyetograph"][1][1] = draw(st.sampled_from(
            [float("nan"), float("inf"), -1.0, 1e6, 5.0]))  # fmt: skip
    elif kind == "level":
        data["models"]["flood"]["initial_water"] = {"level": draw(st.sampled_from(
            [float("nan"), float("-inf"), 1e308]))}  # fmt: skip
    elif kind == "name":
        data["name"] = draw(st.sampled_from([".", "..", ".x", "comparison", "ok"]))
    elif kind == "variant":
        data["variants"] = {draw(st.sampled_from(["comparison", "..", ".work", "wet"])): {}}
    return data


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=tiny_runs())
def test_tiny_runs_publish_results_or_refuse_cleanly(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("run")
    (folder / "s.yaml").write_text(yaml.safe_dump(data))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(folder), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):  # fmt: skip
        code = main(["run", "s.yaml", "--no-progress", "--no-report", "-o", "out"])
    assert code in (0, 2), err.getvalue()
    assert "Traceback" not in err.getvalue()
    if code == 2:
        assert err.getvalue().startswith(PREFIX) and len(err.getvalue()) <= 2 * MAX_MESSAGE
        assert sorted(p.name for p in folder.iterdir()) == ["s.yaml"]
    else:
        assert (folder / "out" / "baseline" / "fields.nc").is_file()


def test_the_tiny_run_itself_publishes_results(tmp_path, monkeypatch):
    """The base of the runs above is valid: a refusal there is the input's, not the base's."""
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(TINY))
    monkeypatch.chdir(tmp_path)
    assert main(["run", "s.yaml", "--no-progress", "--no-report", "-o", "out"]) == 0
    assert (tmp_path / "out" / "baseline" / "fields.nc").is_file()
