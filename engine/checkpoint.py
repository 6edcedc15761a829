"""Checkpoints: everything a variant needs to continue, independent of the decomposition,
in files that are checked before anything of them is used and that run nothing when read.

A checkpoint folder holds
- ``state.NNNNN.h5``, one per rank: the rank's owned block of every field the models write
  (exact values; attributes ``rows`` and ``cols`` say where the block lies in the grid);
- ``outputs.NNNNN.nc``: a copy of the rank's output tile as written so far;
- ``meta.json`` and ``meta.h5`` (rank 0): the clock, the output records, the number of
  ranks, the indicator series, the scenario (resolved variant) and each model's
  ``checkpoint()``, in the strict format of ``checkpoint_codec`` (JSON, arrays in HDF5);
- ``manifest.json``: the SHA-256 of every other file, the scenario's hash and the metrotwin
  version.

A restart refuses (``CheckpointError``: exit status 2, the file named) a checkpoint with a
file missing, changed, unreadable or of the wrong shape, an extra file, one saved by another
metrotwin version or with another scenario (the change listed), and the old pickle format
(``meta.pkl``, never opened: unpickling can run any code). Under MPI every rank reaches the
same verdict (the problems are gathered), so all stop with the same message.

A restarted run on any number of ranks reads, on each rank, only the old blocks that overlap
its new window, so nothing of grid size passes through one rank; the files' hashes are
checked by the ranks in turn (each a share of the files).

Models keep per-cell state in state variables (declared ``out``) and make the rest global
(reduced over ranks) so that ``checkpoint()`` of rank 0 is the model's whole state.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
from pathlib import Path

import h5py
import netCDF4
import numpy as np

from metrotwin import checkpoint_codec as codec
from metrotwin.errors import CheckpointError, ModelError
from metrotwin.indicators import IndicatorSeries

CHECKPOINT_DIR = "checkpoint"
MANIFEST_FILE = "manifest.json"
META_FILE = "meta.json"
ARRAYS_FILE = "meta.h5"
#: the metadata of checkpoints before this format: a pickle, refused unread
LEGACY_META_FILE = "meta.pkl"
FORMAT = "metrotwin checkpoint"
FORMAT_VERSION = 1
RESTART_HINT = "this checkpoint cannot be used; start again without --restart"
#: parts of the scenario a restart may change: how the run uses the machine (layout,
#: checkpoint interval; results are the same on any number of ranks) and the other variants
UNCHECKED_SCENARIO_PARTS = ("parallel", "variants")
_DATA_FILE = re.compile(r"^(state|outputs)\.([0-9]{5})\.(h5|nc)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_META_KEYS = {"t", "records", "ranks", "series", "scenario", "scenario_sha256",
              "metrotwin_version", "models"}  # fmt: skip
_MANIFEST_KEYS = {"format", "format_version", "metrotwin_version", "scenario_sha256", "ranks",
                  "files"}  # fmt: skip
_MAX_CHANGES_SHOWN = 8


def _state_file(rank: int) -> str:
    return f"state.{rank:05d}.h5"


def _outputs_file(rank: int) -> str:
    return f"outputs.{rank:05d}.nc"


# -- writing ---------------------------------------------------------------------------------
def write_checkpoint(folder: Path, p, *, t: float, records: int, series, tile: Path | None) -> Path:
    """Save variant ``p`` at simulation time ``t`` into ``folder/checkpoint`` (atomically:
    the previous checkpoint stays until the new one is complete). A model whose
    ``checkpoint()`` holds something the format cannot keep stops the run on every rank
    (``ModelError`` naming the model and the key)."""
    from metrotwin import __version__

    dec = p.state.decomposition
    final = folder / CHECKPOINT_DIR
    part = folder / f"{CHECKPOINT_DIR}.part"
    meta = arrays = problem = None
    if dec.rank == 0:
        try:
            meta, arrays = _encode_meta(p, t=t, records=records, series=series, ranks=dec.size)
        except ModelError as err:
            problem = str(err)
    _agree(dec, problem, ModelError)
    if dec.rank == 0:
        shutil.rmtree(part, ignore_errors=True)
        part.mkdir(parents=True)
    dec.barrier()
    rows, cols = dec.glb_slices
    written = [_state_file(dec.rank)]
    with h5py.File(part / written[0], "w") as f:
        f.attrs["rows"] = np.array([rows.start, rows.stop], "int64")
        f.attrs["cols"] = np.array([cols.start, cols.stop], "int64")
        for name in _checkpointed(p):
            da = p.state.ds[name]
            values = p.state[name]
            f.create_dataset(name, data=p.state.owned(values) if da.dims == ("y", "x") else values)
    if tile is not None:
        written.append(_outputs_file(dec.rank))
        shutil.copyfile(tile, part / written[-1])
    if dec.rank == 0:
        codec.write_arrays(part / ARRAYS_FILE, arrays)
        (part / META_FILE).write_bytes(codec.dumps(meta))
        written += [ARRAYS_FILE, META_FILE]
    hashes = {name: _sha256(part / name) for name in written}
    every = dec.gather_object(hashes)  # also: every rank's part is on disk from here
    if dec.rank == 0:
        files = {name: digest for h in every for name, digest in h.items()}
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                    "metrotwin_version": __version__, "scenario_sha256": meta["scenario_sha256"],
                    "ranks": dec.size, "files": dict(sorted(files.items()))}  # fmt: skip
        (part / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        old = folder / f"{CHECKPOINT_DIR}.old"
        if final.exists():
            final.rename(old)
        part.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    dec.barrier()
    return final


def _encode_meta(p, *, t: float, records: int, series, ranks: int) -> tuple[dict, dict]:
    from metrotwin import __version__

    arrays: dict[str, np.ndarray] = {}
    models = {}
    for model in p.coupler.models:
        try:
            saved = model.checkpoint()
        except Exception as err:  # noqa: BLE001 - named for the user; the other ranks are told
            raise ModelError(f"model {model.name!r}: checkpoint() failed ({err!r})") from err
        try:
            models[model.name] = codec.encode(saved, arrays, f"models.{model.name}")
        except codec.FormatError as err:
            raise ModelError(f"model {model.name!r}: its checkpoint() cannot be saved: {err}") \
                from None  # fmt: skip
    scenario = scenario_content(p.scenario)
    meta = {"t": float(t), "records": int(records), "ranks": int(ranks),
            "series": series.to_json(), "scenario": scenario,
            "scenario_sha256": _digest(scenario), "metrotwin_version": __version__,
            "models": models}  # fmt: skip
    return meta, arrays


def scenario_content(scenario) -> dict:
    """What a restart must find unchanged: the resolved variant as JSON, without
    ``UNCHECKED_SCENARIO_PARTS``."""
    data = scenario.model_dump(mode="json", exclude=set(UNCHECKED_SCENARIO_PARTS))
    return codec.encode(data, {}, "scenario")


def _digest(content) -> str:
    return hashlib.sha256(codec.dumps(content)).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _checkpointed(p) -> list[str]:
    names = []
    for model in p.coupler.models:
        names += [n for n in model.writes() if n in p.state.ds and n not in names]
    return names


# -- reading ---------------------------------------------------------------------------------
def _folder(folder: Path) -> Path | None:
    """The checkpoint to continue from: ``checkpoint``, or ``checkpoint.old`` where a run
    stopped between the two renames of ``write_checkpoint`` (that one is complete)."""
    for name in (CHECKPOINT_DIR, f"{CHECKPOINT_DIR}.old"):
        if (folder / name).is_dir():
            return folder / name
    return None


def has_checkpoint(folder: Path) -> bool:
    """Whether ``folder`` holds a checkpoint (of any state: ``read_checkpoint`` checks it and
    refuses one that cannot be used, so a damaged one is never taken for none)."""
    return _folder(folder) is not None


def read_checkpoint(folder: Path, p) -> dict:
    """Restore variant ``p`` from its checkpoint; returns the metadata: ``t`` (s), ``records``
    (output times written), ``series`` (an ``IndicatorSeries``), ``ranks`` and ``models``.

    Everything is checked first (``CheckpointError`` on every rank if anything is wrong):
    the manifest, each file's SHA-256, the scenario, the metadata against what the models
    hold now, the shapes of the blocks. Then every field is assembled over this rank's
    window (owned block and halo) from the old blocks that overlap it, and each model's
    ``restore`` gets its saved dictionary.
    """
    dec = p.state.decomposition
    ck = _folder(folder)
    if ck is None:
        raise CheckpointError(f"{folder / CHECKPOINT_DIR}: no checkpoint to restart from; "
                              "start again without --restart")  # fmt: skip
    manifest, meta = _on_every_rank(dec, lambda: _read_meta(ck, p))
    _on_every_rank(dec, lambda: _verify_hashes(ck, manifest, p))
    _on_every_rank(dec, lambda: _verify_data_files(ck, manifest, meta["records"], p))
    _on_every_rank(dec, lambda: _read_fields(ck, manifest, p))
    for model in p.coupler.models:
        try:
            model.restore(meta["models"][model.name])
        except (KeyError, IndexError, TypeError, ValueError) as err:
            _refuse(ck / META_FILE, f"model {model.name!r} cannot restore what it holds ({err})")
    p.ctx.clock.now = meta["t"]
    return meta


def _on_every_rank(dec, step):
    """``step()``; if it raises ``CheckpointError`` on any rank, every rank raises it (no
    rank is left waiting in a collective for one that stopped)."""
    try:
        result, problem = step(), None
    except CheckpointError as err:
        result, problem = None, str(err)
    _agree(dec, problem)
    return result


def _agree(dec, problem: str | None, error=CheckpointError) -> None:
    problems = [message for message in dec.gather_object(problem) if message]
    if problems:
        raise error(problems[0])


def _refuse(path: Path, problem: str):
    raise CheckpointError(f"{path}: {problem}; {RESTART_HINT}")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        _refuse(path, "missing")
    except OSError as err:
        _refuse(path, f"cannot be read ({err.strerror or err})")


def _read_meta(ck: Path, p) -> tuple[dict, dict]:
    """The manifest and the decoded metadata, once the folder's files, the metadata's hashes,
    the version, the scenario and the models' saved state have been checked."""
    from metrotwin import __version__

    legacy = ck / LEGACY_META_FILE
    if legacy.exists() and not (ck / MANIFEST_FILE).exists():
        _refuse(legacy, "a checkpoint of an older metrotwin, saved with pickle; it is not read, "
                        "as unpickling a file can run any code it holds")  # fmt: skip
    manifest = _read_manifest(ck)
    files = manifest["files"]
    present = {f.name for f in ck.iterdir()} - {MANIFEST_FILE}
    for name in sorted(present - set(files)):
        _refuse(ck / name, f"not listed in {MANIFEST_FILE}; a checkpoint holds only the files "
                           "its manifest lists")  # fmt: skip
    for name in sorted(set(files) - present):
        _refuse(ck / name, f"missing (listed in {MANIFEST_FILE})")
    if manifest["metrotwin_version"] != __version__:
        _refuse(ck / MANIFEST_FILE, f"saved by metrotwin {manifest['metrotwin_version']}, this is "
                                    f"{__version__} (a run continues with the version that "
                                    "started it)")  # fmt: skip
    path = ck / META_FILE
    raw = _read_bytes(path)
    _check_hash(path, raw, files[META_FILE])
    try:
        meta = codec.loads(raw)
    except codec.FormatError as err:
        _refuse(path, str(err))
    if not isinstance(meta, dict) or set(meta) != _META_KEYS:
        _refuse(path, f"not checkpoint metadata (expected the keys {sorted(_META_KEYS)})")
    for key in ("scenario_sha256", "metrotwin_version", "ranks"):
        if meta[key] != manifest[key]:
            _refuse(ck / MANIFEST_FILE, f"its {key} {manifest[key]!r} differs from that of "
                                        f"{META_FILE} ({meta[key]!r})")  # fmt: skip
    _check_scenario(ck, meta, p)
    arrays_path = ck / ARRAYS_FILE
    _check_hash(arrays_path, None, files[ARRAYS_FILE])
    try:
        arrays = codec.read_arrays(arrays_path)
    except codec.FormatError as err:
        _refuse(arrays_path, str(err))
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as err:
        _refuse(arrays_path, f"not a readable HDF5 file ({err})")
    meta["models"] = _decode_models(ck, meta["models"], arrays, p)
    try:
        meta["series"] = IndicatorSeries.from_json(meta["series"])
    except ValueError as err:
        _refuse(path, str(err))
    t, records = meta["t"], meta["records"]
    end = p.ctx.clock.end
    if not (isinstance(t, float) and math.isfinite(t) and 0.0 <= t <= end + 1e-9):
        _refuse(path, f"t = {t!r}; valid: a time in seconds from 0 to the end of the run ({end:g})")
    if type(records) is not int or records != len(meta["series"].time):
        _refuse(path, f"records = {records!r}; valid: the number of output times of its "
                      f"indicator series ({len(meta['series'].time)})")  # fmt: skip
    return manifest, meta


def _read_manifest(ck: Path) -> dict:
    path = ck / MANIFEST_FILE
    try:
        manifest = codec.loads(_read_bytes(path))
    except codec.FormatError as err:
        _refuse(path, str(err))
    if not isinstance(manifest, dict) or set(manifest) != _MANIFEST_KEYS:
        _refuse(path, f"not a checkpoint manifest (expected the keys {sorted(_MANIFEST_KEYS)})")
    if manifest["format"] != FORMAT or manifest["format_version"] != FORMAT_VERSION:
        _refuse(path, f"format {manifest['format']!r} version {manifest['format_version']!r}; "
                      f"this metrotwin reads {FORMAT!r} version {FORMAT_VERSION}")  # fmt: skip
    ranks, files = manifest["ranks"], manifest["files"]
    if type(ranks) is not int or ranks < 1:
        _refuse(path, f"ranks = {ranks!r}; valid: a whole number of at least 1")
    if not isinstance(manifest["metrotwin_version"], str) or \
            not isinstance(manifest["scenario_sha256"], str) or \
            not _SHA256.match(manifest["scenario_sha256"]):  # fmt: skip
        _refuse(path, "metrotwin_version and scenario_sha256 must be a string and a SHA-256")
    if not isinstance(files, dict):
        _refuse(path, "'files' must map file names to their SHA-256")
    for name, digest in files.items():
        if not (name in (META_FILE, ARRAYS_FILE) or _DATA_FILE.match(name)):
            _refuse(path, f"lists a file {name!r}; valid: {META_FILE}, {ARRAYS_FILE}, "
                          "state.NNNNN.h5, outputs.NNNNN.nc")  # fmt: skip
        if not isinstance(digest, str) or not _SHA256.match(digest):
            _refuse(path, f"the SHA-256 of {name} is {digest!r}, not 64 hexadecimal digits")
    states = {_state_file(r) for r in range(ranks)}
    outputs = {_outputs_file(r) for r in range(ranks)}
    listed = set(files) - {META_FILE, ARRAYS_FILE}
    if {META_FILE, ARRAYS_FILE} - set(files) or listed not in (states, states | outputs):
        _refuse(path, f"its files do not make a checkpoint of {ranks} rank(s) ({META_FILE}, "
                      f"{ARRAYS_FILE}, state.NNNNN.h5 and outputs.NNNNN.nc for ranks 0 to "
                      f"{ranks - 1})")  # fmt: skip
    return manifest


def _check_hash(path: Path, raw: bytes | None, expected: str) -> None:
    if raw is None and not path.is_file():
        _refuse(path, f"missing (listed in {MANIFEST_FILE})")
    try:
        actual = hashlib.sha256(raw).hexdigest() if raw is not None else _sha256(path)
    except OSError as err:
        _refuse(path, f"cannot be read ({err.strerror or err})")
    if actual != expected:
        _refuse(path, f"does not match its SHA-256 in {MANIFEST_FILE} (changed, damaged or "
                      "truncated since it was saved)")  # fmt: skip


def _check_scenario(ck: Path, meta: dict, p) -> None:
    saved = meta["scenario"]
    if not isinstance(saved, dict) or _digest(saved) != meta["scenario_sha256"]:
        _refuse(ck / META_FILE, "its scenario does not match its scenario_sha256")
    now = scenario_content(p.scenario)
    if _digest(now) == meta["scenario_sha256"]:
        return
    changes = scenario_changes(saved, now)
    shown = "; ".join(changes[:_MAX_CHANGES_SHOWN])
    more = len(changes) - _MAX_CHANGES_SHOWN
    raise CheckpointError(
        f"{ck}: the scenario changed since this checkpoint was saved ({shown}"
        f"{f'; and {more} more' if more > 0 else ''}); a restart continues the run it "
        "stopped: use the scenario it started with, or start again without --restart"
    )


def scenario_changes(old, new, path: str = "") -> list[str]:
    """``path: old -> new`` for each value that differs between two scenario dumps (dotted
    paths, list items as ``[i]``; values shortened)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            sub = f"{path}.{key}" if path else key
            if key not in old:
                out.append(f"{sub}: (absent) -> {_short(new[key])}")
            elif key not in new:
                out.append(f"{sub}: {_short(old[key])} -> (absent)")
            else:
                out += scenario_changes(old[key], new[key], sub)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new))
                for c in scenario_changes(a, b, f"{path}[{i}]")]  # fmt: skip
    return [] if codec.dumps(old) == codec.dumps(new) else \
        [f"{path}: {_short(old)} -> {_short(new)}"]  # fmt: skip


def _short(value, limit: int = 40) -> str:
    text = codec.dumps(value).decode("utf-8")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _decode_models(ck: Path, saved, arrays: dict, p) -> dict:
    """Each model's saved dictionary with its arrays, checked against what the model holds
    now (this scenario, freshly initialised): same keys, kinds, dtypes and shapes."""
    where = f"{ck / META_FILE} (arrays in {ARRAYS_FILE})"
    used: set[str] = set()
    try:
        models = codec.decode(saved, arrays, "models", used)
    except codec.FormatError as err:
        _refuse(ck / META_FILE, str(err))
    names = [m.name for m in p.coupler.models]
    if not isinstance(models, dict) or sorted(models) != sorted(names):
        found = sorted(models) if isinstance(models, dict) else models
        _refuse(ck / META_FILE, f"holds the models {found}; this run has {sorted(names)}")
    for model in p.coupler.models:
        try:
            template = model.checkpoint()
        except Exception:  # noqa: BLE001 - a model that can only save later: its restore checks
            continue
        try:
            codec.check_like(models[model.name], template, f"models.{model.name}")
        except codec.FormatError as err:
            raise CheckpointError(f"{where}: {err}; {RESTART_HINT}") from None
    if set(arrays) - used:
        _refuse(ck / ARRAYS_FILE, f"arrays that {META_FILE} does not refer to: "
                                  f"{sorted(set(arrays) - used)[:5]}")  # fmt: skip
    return models


def _data_files(manifest: dict, p) -> list[str]:
    """This rank's share of the state and output files (for the checks)."""
    dec = p.state.decomposition
    return sorted(n for n in manifest["files"] if _DATA_FILE.match(n))[dec.rank::dec.size]


def _verify_hashes(ck: Path, manifest: dict, p) -> None:
    for name in _data_files(manifest, p):
        _check_hash(ck / name, None, manifest["files"][name])


def _verify_data_files(ck: Path, manifest: dict, records: int, p) -> None:
    """Check what is in this rank's share of the (hash-checked) state and output files: the
    blocks' places and shapes, the datasets' types, the output records."""
    for name in _data_files(manifest, p):
        path = ck / name
        try:
            if name.startswith("state."):
                _check_state_file(path, p)
            else:
                _check_outputs_file(path, ck / _state_file(int(name.split(".")[1])), records)
        except codec.FormatError as err:
            _refuse(path, str(err))
        except (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError) as err:
            _refuse(path, f"not a readable checkpoint file ({err})")
    if manifest["files"].keys().isdisjoint({_outputs_file(0)}) and records > 0:
        _refuse(ck / MANIFEST_FILE, f"{records} output time(s) written but no output tiles saved")


def _block(f, where: str, global_shape) -> tuple[tuple[int, int], tuple[int, int]]:
    """The (rows, cols) of the grid a state file holds, checked to lie in the grid."""
    out = []
    for key, n in zip(("rows", "cols"), global_shape):
        value = np.asarray(f.attrs.get(key, []))
        if value.shape != (2,) or value.dtype.kind not in "iu" or \
                not 0 <= value[0] < value[1] <= n:  # fmt: skip
            raise codec.FormatError(f"{where} {key}", f"{value.tolist()}; valid: [start, stop] "
                                                      f"with 0 <= start < stop <= {n}")  # fmt: skip
        out.append((int(value[0]), int(value[1])))
    return tuple(out)


def _check_state_file(path: Path, p) -> None:
    state = p.state
    with h5py.File(path, "r") as f:
        (r0, r1), (c0, c1) = _block(f, "attribute", state.decomposition.global_shape)
        names = _checkpointed(p)
        unexpected = sorted(set(f) - set(names))
        if unexpected:
            raise codec.FormatError("", f"datasets this run does not have: {unexpected[:5]}")
        for name in names:
            if name not in f or not isinstance(f[name], h5py.Dataset):
                raise codec.FormatError("", f"no dataset {name!r} (this run's models write it)")
            ds, target = f[name], state[name]
            shape = (r1 - r0, c1 - c0) if state.ds[name].dims == ("y", "x") else target.shape
            if ds.dtype != target.dtype or ds.shape != shape or ds.dtype.fields is not None:
                raise codec.FormatError(name, f"{ds.dtype} {ds.shape}; valid: {target.dtype} "
                                              f"{shape}")  # fmt: skip


def _check_outputs_file(path: Path, state_path: Path, records: int) -> None:
    with h5py.File(state_path, "r") as f:
        (r0, r1), (c0, c1) = _block(f, "attribute", (np.inf, np.inf))
    with netCDF4.Dataset(path) as src:
        src.set_auto_mask(False)
        if "time" not in src.variables or src["time"].shape != (records,):
            found = src["time"].shape if "time" in src.variables else "none"
            raise codec.FormatError("time", f"{found} output times; valid: {records}")
        if not np.all(np.isfinite(src["time"][:])):
            raise codec.FormatError("time", "an output time that is not a number")
        for name, var in src.variables.items():
            if var.dimensions[:1] == ("time",) and var.shape[0] != records:
                raise codec.FormatError(name, f"{var.shape[0]} records; valid: {records}")
            if var.dimensions[-2:] == ("y", "x") and var.shape[-2:] != (r1 - r0, c1 - c0):
                raise codec.FormatError(name, f"a block of {var.shape[-2:]} cells; valid: "
                                              f"{(r1 - r0, c1 - c0)}")  # fmt: skip


def _read_fields(ck: Path, manifest: dict, p) -> None:
    """Fill this rank's window of every checkpointed field from the old blocks that overlap
    it, once the blocks are known to tile the grid exactly."""
    state = p.state
    dec = state.decomposition
    paths = [ck / _state_file(r) for r in range(manifest["ranks"])]
    blocks = []
    for path in paths:
        with h5py.File(path, "r") as f:
            blocks.append(_block(f, f"{path.name} attribute", dec.global_shape))
    _check_tiling(ck, blocks, dec.global_shape)
    rows, cols = dec.local_window
    names = _checkpointed(p)
    for path, ((r0, r1), (c0, c1)) in zip(paths, blocks):
        lo_r, hi_r = max(r0, rows.start), min(r1, rows.stop)
        lo_c, hi_c = max(c0, cols.start), min(c1, cols.stop)
        with h5py.File(path, "r") as f:
            for name in names:
                target = state[name]
                if state.ds[name].dims != ("y", "x"):
                    if path == paths[0]:  # the same on every rank: take the first
                        target[...] = codec.read_numeric(f[name], name)
                    continue
                if lo_r >= hi_r or lo_c >= hi_c:
                    continue
                target[lo_r - rows.start:hi_r - rows.start, lo_c - cols.start:hi_c - cols.start] = \
                    f[name][lo_r - r0:hi_r - r0, lo_c - c0:hi_c - c0]  # fmt: skip


def _check_tiling(ck: Path, blocks, global_shape) -> None:
    """The blocks cover the grid once: their areas add up to it and none overlap."""
    area = sum((r1 - r0) * (c1 - c0) for (r0, r1), (c0, c1) in blocks)
    overlap = any(max(a[0][0], b[0][0]) < min(a[0][1], b[0][1]) and
                  max(a[1][0], b[1][0]) < min(a[1][1], b[1][1])
                  for i, a in enumerate(blocks) for b in blocks[i + 1:])  # fmt: skip
    if overlap or area != global_shape[0] * global_shape[1]:
        _refuse(ck, f"its state files' blocks do not cover the {global_shape[0]} x "
                    f"{global_shape[1]} grid exactly once")  # fmt: skip


def copy_output_records(folder: Path, writer, records: int) -> None:
    """Write the first ``records`` output times into a new tile ``writer`` from the tiles
    saved with the checkpoint (which may be laid out on another number of ranks). Refuses
    (on every rank) tiles that lack one of this run's output variables or disagree on the
    output times, so no record is left unwritten."""
    dec = writer.state.decomposition
    _on_every_rank(dec, lambda: _copy_records(_folder(folder), writer, records))


def _copy_records(ck: Path, writer, records: int) -> None:
    dec = writer.state.decomposition
    rows, cols = dec.glb_slices
    tiles = sorted(ck.glob("outputs.*.nc"))
    if records and not tiles:
        _refuse(ck, f"{records} output time(s) written but no output tiles saved")
    times, network_found = None, set()
    for path in tiles:
        with h5py.File(ck / _state_file(int(path.name.split(".")[1])), "r") as f:
            (r0, r1), (c0, c1) = _block(f, "attribute", dec.global_shape)
        with netCDF4.Dataset(path) as src:
            src.set_auto_mask(False)
            tile_times = np.asarray(src["time"][:records])
            if times is not None and not np.array_equal(times, tile_times):
                _refuse(path, "its output times differ from those of the other tiles")
            times = tile_times
            lo_r, hi_r = max(r0, rows.start), min(r1, rows.stop)
            lo_c, hi_c = max(c0, cols.start), min(c1, cols.stop)
            for name, var in writer._vars.items():
                grid = var.dimensions[-2:] == ("y", "x")
                if name not in src.variables:
                    if grid:
                        _refuse(path, f"no output variable {name!r} (this run writes it)")
                    continue
                if grid:
                    if lo_r >= hi_r or lo_c >= hi_c:
                        continue
                    var[:records, lo_r - rows.start:hi_r - rows.start, lo_c - cols.start:hi_c - cols.start] = \
                        src[name][:records, lo_r - r0:hi_r - r0, lo_c - c0:hi_c - c0]  # fmt: skip
                elif writer.with_network:
                    if src[name].shape[1:] != var.shape[1:]:
                        _refuse(path, f"{name}: {src[name].shape[1:]} values per time; this run "
                                      f"has {var.shape[1:]}")  # fmt: skip
                    var[:records, ...] = src[name][:records, ...]
                    network_found.add(name)
    if records:
        writer.nc["time"][:records] = times
    if writer.with_network:
        missing = sorted(n for n, v in writer._vars.items()
                         if v.dimensions[-2:] != ("y", "x") and n not in network_found)  # fmt: skip
        if records and missing:
            _refuse(ck, f"no saved tile holds the output variables {missing[:5]}")
