"""Checkpoints that run nothing and cannot be silently wrong (issue #15): a pickle put in a
checkpoint is refused unread, any missing, changed, truncated or reshaped file stops the
restart with exit status 2 naming it (nothing published), a changed scenario is refused with
the change listed, and a restart through the JSON/HDF5 format is bit for bit the run that
was not interrupted. All through the CLI in this process (one rank)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr
import yaml
from pydantic import BaseModel, ConfigDict

from metrotwin import Indicator, Model, VarSpec
from metrotwin.results import checkpoint_codec as codec
from metrotwin.results.checkpoint_files import sha256
from metrotwin.cli import main
from metrotwin.run.registry import list_models

STOP_AT = "MT_KEEPER_STOP_AT"
BAD_CHECKPOINT = "MT_KEEPER_BAD_CHECKPOINT"


class KeeperParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: float = 1.0


class Keeper(Model):
    """A model whose state has every kind a checkpoint keeps: floats (nan, inf), integers, a
    numpy generator's state, float and boolean arrays, strings, nested dicts and lists. It
    signals its own process (SIGUSR1, as Slurm does) once past ``$MT_KEEPER_STOP_AT`` s."""

    name = "keeper"
    variables = {
        "surface_altitude": VarSpec("in", "m", "ground elevation",
                                    standard_name="surface_altitude"),
        "keeper_level": VarSpec("out", "1", "a level raised by random amounts"),
    }
    Params = KeeperParams

    def initialize(self, state, ctx):
        self.t, self.count, self.peak = 0.0, 0, float("nan")
        self.rng = ctx.rng(self.name)
        self.history = np.zeros(3)
        self.flags = np.zeros(4, bool)
        self.low = state["surface_altitude"] < np.median(state["surface_altitude"])
        self.sent = False

    def advance(self, state, until):
        step = self.rng.random() * self.params.rate * (until - self.t) / 60.0
        state["keeper_level"][self.low] += step
        self.history = np.roll(self.history, 1)
        self.history[0] = step
        self.flags[self.count % 4] = step > 0.5
        self.count += 1
        self.peak = step if np.isnan(self.peak) else max(self.peak, step)
        self.t = until
        stop_at = os.environ.get(STOP_AT)
        if stop_at is not None and until >= float(stop_at) and not self.sent:
            self.sent = True
            import signal

            os.kill(os.getpid(), signal.SIGUSR1)

    def indicators(self, state):
        return {"level_total": Indicator(float(state["keeper_level"].sum()), "1", "level sum"),
                "steps": Indicator(float(self.count), "1", "steps taken")}  # fmt: skip

    def checkpoint(self):
        saved = {"t": self.t, "count": self.count, "peak": self.peak,
                 "rng": self.rng.bit_generator.state, "history": self.history.copy(),
                 "flags": self.flags.copy(),
                 "nested": {"note": "kept", "limits": [float("inf"), -float("inf")]}}  # fmt: skip
        if os.environ.get(BAD_CHECKPOINT):
            saved["nested"]["agent"] = object()  # not representable: the write must refuse it
        return saved

    def restore(self, saved):
        self.t, self.count, self.peak = saved["t"], saved["count"], saved["peak"]
        self.rng.bit_generator.state = saved["rng"]
        self.history[...] = saved["history"]
        self.flags[...] = saved["flags"]


SCENARIO = {
    "name": "keep",
    "seed": 3,
    "domain": {"generated": {"size_x": 600, "size_y": 480, "resolution": 20}},
    "period": {"start": "2026-07-15T06:00:00", "duration": "30 min",
               "coupling_interval": "5 min", "output_interval": "10 min"},
    "models": {"keeper": {"rate": 1.0}},
}  # fmt: skip
FILES = ["manifest.json", "meta.json", "meta.h5", "state.00000.h5", "outputs.00000.nc"]


@pytest.fixture(scope="module")
def keeper_registry():
    with pytest.MonkeyPatch.context() as mp:
        models = dict(list_models())
        models["keeper"] = Keeper
        mp.setattr("metrotwin.run.registry.list_models", lambda: models)
        mp.delenv(STOP_AT, raising=False)
        mp.delenv(BAD_CHECKPOINT, raising=False)
        yield models


def _run(scenario: Path, out: Path, *extra: str) -> int:
    return main(["run", str(scenario), "-o", str(out), "--no-progress", "--no-report", *extra])


@pytest.fixture(scope="module")
def stopped(keeper_registry, tmp_path_factory):
    """(scenario file, reference run, a run stopped by a signal at 15 simulated minutes)."""
    root = tmp_path_factory.mktemp("trust")
    scenario = root / "keep.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO))
    assert _run(scenario, root / "reference") == 0
    os.environ[STOP_AT] = "900"
    try:
        assert _run(scenario, root / "stopped") == 75
    finally:
        del os.environ[STOP_AT]
    assert (root / "stopped" / ".metrotwin-work" / "baseline" / "checkpoint").is_dir()
    return scenario, root / "reference", root / "stopped"


@pytest.fixture
def run(stopped, tmp_path, keeper_registry):
    """A fresh copy of the stopped run: (scenario, reference, out, its checkpoint folder)."""
    scenario, reference, source = stopped
    out = tmp_path / "out"
    shutil.copytree(source, out)
    mine = tmp_path / scenario.name  # a test may change it
    shutil.copyfile(scenario, mine)
    return mine, reference, out, out / ".metrotwin-work" / "baseline" / "checkpoint"


def _restart_refused(run, capsys, *names: str) -> str:
    """Restart; assert exit 2, every name in the message, and nothing published."""
    scenario, _, out, ck = run
    capsys.readouterr()
    assert _run(scenario, out, "--restart") == 2
    err = capsys.readouterr().err
    assert err.startswith("metrotwin: error: ") and "Traceback" not in err, err
    for name in names:
        assert name in err, err
    assert not (out / "baseline").exists()  # nothing published, no NaN/NaT record anywhere
    assert ck.is_dir()  # and the user's checkpoint is kept
    return err


def _rehash(ck: Path, name: str) -> None:
    """Make the manifest agree with a file changed on purpose (to reach the checks after
    the hashes: someone who edits both)."""
    manifest = json.loads((ck / "manifest.json").read_text())
    manifest["files"][name] = sha256(ck / name)
    (ck / "manifest.json").write_text(json.dumps(manifest))


# -- a restart through the format is the uninterrupted run -------------------------------
def test_restart_is_bit_identical_to_the_uninterrupted_run(run):
    scenario, reference, out, ck = run
    assert sorted(p.name for p in ck.iterdir()) == sorted(FILES)
    meta = json.loads((ck / "meta.json").read_text())
    assert meta["t"] == 900.0 and meta["records"] == 2
    assert set(meta["models"]["keeper"]["history"]) == {"__array__"}  # the array is in meta.h5
    assert meta["models"]["keeper"]["nested"]["limits"] == [{"__float__": "inf"},
                                                            {"__float__": "-inf"}]  # fmt: skip
    assert _run(scenario, out, "--restart") == 0
    with xr.open_dataset(reference / "baseline" / "fields.nc") as a, \
            xr.open_dataset(out / "baseline" / "fields.nc") as b:  # fmt: skip
        assert a.sizes["time"] == b.sizes["time"] == 4
        assert np.array_equal(a["time"].values, b["time"].values)
        assert np.array_equal(a["keeper_level"].values, b["keeper_level"].values)
    ia = json.loads((reference / "baseline" / "indicators.json").read_text())
    ib = json.loads((out / "baseline" / "indicators.json").read_text())
    assert ia["models"] == ib["models"] and ia["time_series"] == ib["time_series"]
    assert ib["models"]["keeper"]["steps"]["value"] == 6  # 3 steps before the stop, 3 after


def test_a_changed_parallel_section_is_not_a_changed_scenario(run):
    """Layout and checkpoint interval say how the run uses the machine, not what it
    computes (restarts on other numbers of ranks rely on it)."""
    scenario, reference, out, _ = run
    scenario.write_text(yaml.safe_dump({**SCENARIO, "parallel": {"checkpoint_interval": "5 min"}}))
    assert _run(scenario, out, "--restart") == 0
    assert "restarted at t = 900 s" in (out / "baseline" / "run.log").read_text()


# -- pickle is never read ------------------------------------------------------------------
class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickled_checkpoint_is_refused_without_running_it(run, capsys, tmp_path):
    """A checkpoint in the old layout (meta.pkl) whose pickle runs a shell command."""
    *_, ck = run
    marker = tmp_path / "pwned"
    for name in ("manifest.json", "meta.json", "meta.h5"):
        (ck / name).unlink(missing_ok=True)  # (also on the old layout)
    (ck / "meta.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    scenario, _, out, _ = run
    status = _run(scenario, out, "--restart")
    assert not marker.exists(), "the pickle was loaded: it ran its command"
    assert status == 2
    err = _restart_refused(run, capsys, "meta.pkl", "pickle", "without --restart")
    assert "older metrotwin" in err and not marker.exists()


def test_a_pickle_beside_a_valid_checkpoint_is_refused_unread(run, capsys, tmp_path):
    *_, ck = run
    marker = tmp_path / "pwned"
    (ck / "meta.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    _restart_refused(run, capsys, "meta.pkl", "not listed in manifest.json")
    assert not marker.exists()


# -- damaged files ---------------------------------------------------------------------------
def _damage(path: Path, kind: str) -> None:
    data = path.read_bytes()
    if kind == "deleted":
        path.unlink()
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "flipped":
        i = len(data) // 2
        path.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:])
    elif kind == "emptied":
        path.write_bytes(b"")


@pytest.mark.parametrize("kind", ["deleted", "truncated", "flipped", "emptied"])
@pytest.mark.parametrize("name", FILES)
def test_a_damaged_file_stops_the_restart_naming_it(run, capsys, name, kind):
    *_, ck = run
    _damage(ck / name, kind)
    _restart_refused(run, capsys, name, "without --restart")


def test_an_extra_file_in_the_checkpoint_is_refused(run, capsys):
    *_, ck = run
    (ck / "state.00001.h5").write_bytes((ck / "state.00000.h5").read_bytes())
    _restart_refused(run, capsys, "state.00001.h5", "not listed in manifest.json")


# -- edits that keep the manifest consistent: the checks behind the hashes -----------------
def _edit_meta(ck: Path, edit) -> None:
    meta = json.loads((ck / "meta.json").read_text())
    edit(meta)
    (ck / "meta.json").write_text(json.dumps(meta))
    _rehash(ck, "meta.json")


def _set(path: str, value):
    def edit(meta):
        *parents, last = path.split(".")
        node = meta
        for key in parents:
            node = node[key]
        node[last] = value

    return edit


@pytest.mark.parametrize("edit, says", [
    (_set("models.keeper.count", "3"), "models.keeper.count: a string where this run has a number"),
    (_set("models.keeper.history", [0.0, 0.0, 0.0]), "models.keeper.history: a list"),
    (_set("models.keeper.extra", 1), "unexpected: ['extra']"),
    (_set("models.keeper.peak", {"__float__": "nan", "x": 1}), "a tag with other keys"),
    (_set("models.keeper.peak", {"__class__": "os.system"}), "models.keeper.peak: a dict"),
    (_set("models.keeper.flags", {"__array__": "../../etc/passwd"}), "does not hold"),
    (_set("models.keeper.flags", {"__array__": "a000000"}), "a second time"),
    (_set("records", 3), "records = 3"),
    (_set("t", 1e9), "t = 1000000000.0"),
    (lambda m: m["series"]["values"].update({"keeper.steps": ["many", 2.0]}),
     "neither a finite number nor null"),
    (_set("models.keeper.rng.bit_generator", "MT19937"), "cannot restore"),
])  # fmt: skip
def test_a_tampered_meta_json_is_refused_naming_it(run, capsys, edit, says):
    *_, ck = run
    _edit_meta(ck, edit)
    _restart_refused(run, capsys, "meta.json", says)


def test_a_meta_json_changed_without_the_manifest_is_refused(run, capsys):
    *_, ck = run
    text = (ck / "meta.json").read_text()
    (ck / "meta.json").write_text(text.replace('"t":900.0', '"t":600.0'))
    _restart_refused(run, capsys, "meta.json", "does not match its SHA-256 in manifest.json")


def test_a_nan_literal_in_meta_json_is_refused(run, capsys):
    *_, ck = run
    text = (ck / "meta.json").read_text()
    (ck / "meta.json").write_text(text.replace('"t":900.0', '"t":NaN'))
    _rehash(ck, "meta.json")
    _restart_refused(run, capsys, "meta.json", "NaN")


def _rewrite_h5(path: Path, name: str, data) -> None:
    with h5py.File(path, "a") as f:
        del f[name]
        f.create_dataset(name, data=data)


@pytest.mark.parametrize("file, dataset, data, says", [
    ("state.00000.h5", "keeper_level", np.zeros((23, 30)), "(23, 30); valid: float64 (24, 30)"),
    ("state.00000.h5", "keeper_level", np.zeros((24, 30), "float32"), "valid: float64"),
    ("meta.h5", "a000000", np.zeros(4), "models.keeper.history: an array of float64 (4,)"),
    ("meta.h5", "a000001", np.zeros(4, "int8"), "models.keeper.flags: an array of int8"),
    ("meta.h5", "a000000", np.array([b"os.system"], dtype=h5py.string_dtype()),
     "only booleans and numbers"),
])  # fmt: skip
def test_a_wrong_shape_or_type_is_refused_naming_the_file(run, capsys, file, dataset, data, says):
    *_, ck = run
    _rewrite_h5(ck / file, dataset, data)
    _rehash(ck, file)
    _restart_refused(run, capsys, file, says)


def test_blocks_that_do_not_tile_the_grid_are_refused(run, capsys):
    *_, ck = run
    with h5py.File(ck / "state.00000.h5", "a") as f:
        f.attrs["rows"] = np.array([1, 25], "int64")
    _rehash(ck, "state.00000.h5")
    _restart_refused(run, capsys, "state.00000.h5", "rows")


def test_an_output_tile_with_a_record_missing_is_refused(run, capsys):
    """The defect of issue #15: a tile with fewer times than the checkpoint's records was
    copied with NaT times and NaN fields."""
    *_, ck = run
    import netCDF4

    src = ck / "outputs.00000.nc"
    short = ck / "short.nc"
    with netCDF4.Dataset(src) as a, netCDF4.Dataset(short, "w") as b:
        b.createDimension("time", None)
        for dim, size in a.dimensions.items():
            if dim != "time":
                b.createDimension(dim, len(size))
        for name, var in a.variables.items():
            copy = b.createVariable(name, var.dtype, var.dimensions)
            copy[...] = var[:1] if var.dimensions[:1] == ("time",) else var[...]
    short.replace(src)
    _rehash(ck, "outputs.00000.nc")
    _restart_refused(run, capsys, "outputs.00000.nc", "output times; valid: 2")


@pytest.mark.parametrize("edit, says", [
    (lambda m: m.update(metrotwin_version="0.0.1"), "saved by metrotwin 0.0.1"),
    (lambda m: m["files"].pop("outputs.00000.nc"), "outputs.00000.nc: not listed"),
    (lambda m: m["files"].update({"../../escape.h5": "0" * 64}), "lists a file '../../escape.h5'"),
    (lambda m: m.update(format_version=2), "format 'metrotwin checkpoint' version 2"),
    (lambda m: m.update(ranks=2), "do not make a checkpoint of 2 rank(s)"),
    (lambda m: m.update(scenario_sha256="0" * 64), "differs from that of meta.json"),
])  # fmt: skip
def test_an_edited_manifest_is_refused(run, capsys, edit, says):
    *_, ck = run
    manifest = json.loads((ck / "manifest.json").read_text())
    edit(manifest)
    (ck / "manifest.json").write_text(json.dumps(manifest))
    _restart_refused(run, capsys, says)


# -- the scenario ------------------------------------------------------------------------
def test_a_changed_scenario_is_refused_listing_the_change(run, capsys):
    scenario, *_ = run
    data = json.loads(json.dumps(SCENARIO))
    data["models"]["keeper"]["rate"] = 2.5
    data["period"]["duration"] = "40 min"
    scenario.write_text(yaml.safe_dump(data))
    err = _restart_refused(run, capsys, "the scenario changed", "models.keeper.rate: 1.0 -> 2.5",
                           "period.duration: 1800.0 -> 2400.0", "without --restart")
    assert err.count(" -> ") == 2, err


def test_the_list_of_changes_is_bounded(run, capsys):
    scenario, *_ = run
    data = json.loads(json.dumps(SCENARIO))
    data["description"] = "x" * 5000
    data["seed"] = 4
    data["models"]["keeper"]["rate"] = 3.0
    data["domain"]["generated"].update(size_x=640, size_y=500, resolution=10)
    data["period"].update(start="2026-07-16T06:00:00", duration="40 min",
                          coupling_interval="10 min", output_interval="20 min")
    data["interventions"] = [{"type": "trees", "fraction": 0.5}]
    scenario.write_text(yaml.safe_dump(data))
    err = _restart_refused(run, capsys, 'description: "" -> "xxx',
                           "models.keeper.rate: 1.0 -> 3.0", "and 3 more")
    assert err.count(" -> ") == 8 and len(err) < 1200, err


def test_a_checkpoint_of_an_unrepresentable_state_is_refused_when_written(
        keeper_registry, stopped, tmp_path, capsys, monkeypatch):  # fmt: skip
    scenario, *_ = stopped
    monkeypatch.setenv(STOP_AT, "900")
    monkeypatch.setenv(BAD_CHECKPOINT, "1")
    capsys.readouterr()
    assert _run(scenario, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "model 'keeper'" in err and "models.keeper.nested.agent: a builtins.object" in err, err
    assert not list((tmp_path / "out").glob("**/checkpoint*"))


# -- the codec on its own ----------------------------------------------------------------
def test_codec_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(1)
    rng.random()
    tree = {"a": rng.random((3, 2)), "x": 0.1 + 0.2, "n": 2**100, "f": np.float32(0.5),
            "i": np.int64(-3), "b": True, "nan": float("nan"), "v": [1, "a", None, (2, 3)],
            "rng": rng.bit_generator.state,
            "m": np.array([True, False]), "e": np.zeros(0, "int8"), "z": np.array(2.5)}  # fmt: skip
    arrays = {}
    data = codec.dumps(codec.encode(tree, arrays))
    codec.write_arrays(tmp_path / "a.h5", arrays)
    back = codec.decode(codec.loads(data), codec.read_arrays(tmp_path / "a.h5"))
    assert back["x"] == 0.1 + 0.2 and back["n"] == 2**100 and np.isnan(back["nan"])
    assert back["v"] == [1, "a", None, [2, 3]] and back["rng"] == tree["rng"]
    for key in ("a", "m", "e", "z"):
        assert isinstance(back[key], np.ndarray) and back[key].shape == tree[key].shape
        assert back[key].dtype == tree[key].dtype and np.array_equal(back[key], tree[key])


@pytest.mark.parametrize("value, says", [
    ({"s": {1, 2}}, "s: a builtins.set"),
    ({"o": np.array([None], object)}, "o: an array of dtype object"),
    ({1: 0}, "a key 1 of type int"),
    ({"__array__": "a000000"}, "reserved"),
])  # fmt: skip
def test_codec_refuses_what_it_cannot_keep(value, says):
    with pytest.raises(codec.FormatError, match=None) as err:
        codec.encode(value, {})
    assert says in str(err.value)


@pytest.mark.parametrize("raw, says", [
    (b'{"a": NaN}', "NaN"), (b'{"a": 1, "a": 2}', "appears twice"), (b"\xff{}", "not valid JSON"),
    (b"[" * 65 + b"]" * 65, "nested deeper than 64"), (b"[" * 100000 + b"]" * 100000, "JSON"),
])  # fmt: skip
def test_codec_reads_only_strict_json(raw, says):
    with pytest.raises(codec.FormatError) as err:
        codec.loads(raw)
    assert says in str(err.value)


@pytest.mark.parametrize("make, says", [
    (lambda f: f.create_dataset("a000000", data=h5py.Empty("f8")), "null dataspace"),
    (lambda f: f.create_dataset("a000000", data=np.array([(1, 2.0)], "i4,f8")), "only booleans"),
    (lambda f: f.create_dataset("a000000", (2,), dtype=h5py.vlen_dtype("i4")), "only booleans"),
    (lambda f: f.create_group("a000000"), "not an array of this format"),
    (lambda f: f.create_dataset("payload", data=np.zeros(2)), "not an array of this format"),
])  # fmt: skip
def test_codec_reads_only_plain_numeric_datasets(tmp_path, make, says):
    with h5py.File(tmp_path / "a.h5", "w") as f:
        make(f)
    with pytest.raises(codec.FormatError) as err:
        codec.read_arrays(tmp_path / "a.h5")
    assert says in str(err.value)
