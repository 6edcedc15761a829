"""The files of a checkpoint folder, and the checks a restart makes of them before it uses
anything in them (``checkpoint.read_checkpoint`` runs these, then reads the fields).

Each check raises ``CheckpointError`` naming the file and saying what is wrong: a file
missing, extra, changed since it was saved (its SHA-256 in ``manifest.json``), unreadable, of
the wrong shape or type; metadata that does not fit what the models hold now; another
metrotwin version; another scenario (the changed fields listed); the old pickle format
(``meta.pkl``, never opened).
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import h5py
import netCDF4
import numpy as np

from metrotwin import __version__
from metrotwin.errors import CheckpointError
from metrotwin.results import checkpoint_codec as codec
from metrotwin.results.indicators import IndicatorSeries

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


def state_file(rank: int) -> str:
    """The file of rank ``rank``'s blocks of the fields."""
    return f"state.{rank:05d}.h5"


def outputs_file(rank: int) -> str:
    """The copy of rank ``rank``'s output tile."""
    return f"outputs.{rank:05d}.nc"


def scenario_content(scenario) -> dict:
    """What a restart must find unchanged: the resolved variant as JSON, without
    ``UNCHECKED_SCENARIO_PARTS``."""
    data = scenario.model_dump(mode="json", exclude=set(UNCHECKED_SCENARIO_PARTS))
    return codec.encode(data, {}, "scenario")


def digest(content) -> str:
    """The SHA-256 (hex) of an ``encode``d tree's canonical JSON."""
    return hashlib.sha256(codec.dumps(content)).hexdigest()


def sha256(path: Path) -> str:
    """The SHA-256 (hex) of a file, read in pieces of 1 MiB."""
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


def checkpointed(p) -> dict[str, tuple[np.ndarray, bool]]:
    """The arrays a checkpoint of variant ``p`` keeps, by dataset name: each with whether it
    is a grid field (of which every rank keeps its owned block). The state variables its
    models write, and those a coupler with runs of its own lists (``checkpoint_arrays()``:
    an assimilating coupler's members and control, under ``member0/...``, ``control/...``)."""
    out = {}
    for model in p.coupler.models:
        for name in model.writes():
            if name in p.state.ds and name not in out:
                out[name] = (p.state[name], p.state.ds[name].dims == ("y", "x"))
    extra = getattr(p.coupler, "checkpoint_arrays", None)
    if extra is not None:
        out.update(extra())
    return out


def checkpointed_models(p) -> dict:
    """What keeps the rest of variant ``p``'s state in ``checkpoint()`` and takes it back in
    ``restore()``, by key: its models, and the parts a coupler lists (``checkpoint_models()``:
    an assimilating coupler's member models and the filter's own state)."""
    out = {model.name: model for model in p.coupler.models}
    extra = getattr(p.coupler, "checkpoint_models", None)
    if extra is not None:
        out.update(extra())
    return out


# -- reading ---------------------------------------------------------------------------------
def refuse(path: Path, problem: str):
    """Raise the ``CheckpointError`` of ``problem`` in file ``path``."""
    raise CheckpointError(f"{path}: {problem}; {RESTART_HINT}")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        refuse(path, "missing")
    except OSError as err:
        refuse(path, f"cannot be read ({err.strerror or err})")


def read_meta(ck: Path, p) -> tuple[dict, dict]:
    """The manifest and the decoded metadata, once the folder's files, the metadata's hashes,
    the version, the scenario and the models' saved state have been checked."""
    legacy = ck / LEGACY_META_FILE
    if legacy.exists() and not (ck / MANIFEST_FILE).exists():
        refuse(legacy, "a checkpoint of an older metrotwin, saved with pickle; it is not read, "
                       "as unpickling a file can run any code it holds")  # fmt: skip
    manifest = _read_manifest(ck)
    files = manifest["files"]
    present = {f.name for f in ck.iterdir()} - {MANIFEST_FILE}
    for name in sorted(present - set(files)):
        refuse(ck / name, f"not listed in {MANIFEST_FILE}; a checkpoint holds only the files "
                          "its manifest lists")  # fmt: skip
    for name in sorted(set(files) - present):
        refuse(ck / name, f"missing (listed in {MANIFEST_FILE})")
    if manifest["metrotwin_version"] != __version__:
        refuse(ck / MANIFEST_FILE, f"saved by metrotwin {manifest['metrotwin_version']}, this is "
                                   f"{__version__} (a run continues with the version that "
                                   "started it)")  # fmt: skip
    path = ck / META_FILE
    raw = _read_bytes(path)
    _check_hash(path, raw, files[META_FILE])
    try:
        meta = codec.loads(raw)
    except codec.FormatError as err:
        refuse(path, str(err))
    if not isinstance(meta, dict) or set(meta) != _META_KEYS:
        refuse(path, f"not checkpoint metadata (expected the keys {sorted(_META_KEYS)})")
    for key in ("scenario_sha256", "metrotwin_version", "ranks"):
        if meta[key] != manifest[key]:
            refuse(ck / MANIFEST_FILE, f"its {key} {manifest[key]!r} differs from that of "
                                       f"{META_FILE} ({meta[key]!r})")  # fmt: skip
    _check_scenario(ck, meta, p)
    arrays_path = ck / ARRAYS_FILE
    _check_hash(arrays_path, None, files[ARRAYS_FILE])
    try:
        arrays = codec.read_arrays(arrays_path)
    except codec.FormatError as err:
        refuse(arrays_path, str(err))
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as err:
        refuse(arrays_path, f"not a readable HDF5 file ({err})")
    meta["models"] = _decode_models(ck, meta["models"], arrays, p)
    try:
        meta["series"] = IndicatorSeries.from_json(meta["series"])
    except ValueError as err:
        refuse(path, str(err))
    t, records = meta["t"], meta["records"]
    end = p.ctx.clock.end
    if not (isinstance(t, float) and math.isfinite(t) and 0.0 <= t <= end + 1e-9):
        refuse(path, f"t = {t!r}; valid: a time in seconds from 0 to the end of the run ({end:g})")
    if type(records) is not int or records != len(meta["series"].time):
        refuse(path, f"records = {records!r}; valid: the number of output times of its "
                     f"indicator series ({len(meta['series'].time)})")  # fmt: skip
    return manifest, meta


def _read_manifest(ck: Path) -> dict:
    path = ck / MANIFEST_FILE
    try:
        manifest = codec.loads(_read_bytes(path))
    except codec.FormatError as err:
        refuse(path, str(err))
    if not isinstance(manifest, dict) or set(manifest) != _MANIFEST_KEYS:
        refuse(path, f"not a checkpoint manifest (expected the keys {sorted(_MANIFEST_KEYS)})")
    if manifest["format"] != FORMAT or manifest["format_version"] != FORMAT_VERSION:
        refuse(path, f"format {manifest['format']!r} version {manifest['format_version']!r}; "
                     f"this metrotwin reads {FORMAT!r} version {FORMAT_VERSION}")  # fmt: skip
    ranks, files = manifest["ranks"], manifest["files"]
    if type(ranks) is not int or ranks < 1:
        refuse(path, f"ranks = {ranks!r}; valid: a whole number of at least 1")
    if not isinstance(manifest["metrotwin_version"], str) or \
            not isinstance(manifest["scenario_sha256"], str) or \
            not _SHA256.match(manifest["scenario_sha256"]):  # fmt: skip
        refuse(path, "metrotwin_version and scenario_sha256 must be a string and a SHA-256")
    if not isinstance(files, dict):
        refuse(path, "'files' must map file names to their SHA-256")
    for name, hexdigest in files.items():
        if not (name in (META_FILE, ARRAYS_FILE) or _DATA_FILE.match(name)):
            refuse(path, f"lists a file {name!r}; valid: {META_FILE}, {ARRAYS_FILE}, "
                         "state.NNNNN.h5, outputs.NNNNN.nc")  # fmt: skip
        if not isinstance(hexdigest, str) or not _SHA256.match(hexdigest):
            refuse(path, f"the SHA-256 of {name} is {hexdigest!r}, not 64 hexadecimal digits")
    states = {state_file(r) for r in range(ranks)}
    outputs = {outputs_file(r) for r in range(ranks)}
    listed = set(files) - {META_FILE, ARRAYS_FILE}
    if {META_FILE, ARRAYS_FILE} - set(files) or listed not in (states, states | outputs):
        refuse(path, f"its files do not make a checkpoint of {ranks} rank(s) ({META_FILE}, "
                     f"{ARRAYS_FILE}, state.NNNNN.h5 and outputs.NNNNN.nc for ranks 0 to "
                     f"{ranks - 1})")  # fmt: skip
    return manifest


def _check_hash(path: Path, raw: bytes | None, expected: str) -> None:
    if raw is None and not path.is_file():
        refuse(path, f"missing (listed in {MANIFEST_FILE})")
    try:
        actual = hashlib.sha256(raw).hexdigest() if raw is not None else sha256(path)
    except OSError as err:
        refuse(path, f"cannot be read ({err.strerror or err})")
    if actual != expected:
        refuse(path, f"does not match its SHA-256 in {MANIFEST_FILE} (changed, damaged or "
                     "truncated since it was saved)")  # fmt: skip


def _check_scenario(ck: Path, meta: dict, p) -> None:
    saved = meta["scenario"]
    if not isinstance(saved, dict) or digest(saved) != meta["scenario_sha256"]:
        refuse(ck / META_FILE, "its scenario does not match its scenario_sha256")
    now = scenario_content(p.scenario)
    if digest(now) == meta["scenario_sha256"]:
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
        refuse(ck / META_FILE, str(err))
    holders = checkpointed_models(p)
    if not isinstance(models, dict) or sorted(models) != sorted(holders):
        found = sorted(models) if isinstance(models, dict) else models
        refuse(ck / META_FILE, f"holds the models {found}; this run has {sorted(holders)}")
    for key, model in holders.items():
        try:
            template = model.checkpoint()
        except Exception:  # noqa: BLE001 - a model that can only save later: its restore checks
            continue
        try:
            codec.check_like(models[key], template, f"models.{key}")
        except codec.FormatError as err:
            raise CheckpointError(f"{where}: {err}; {RESTART_HINT}") from None
    if set(arrays) - used:
        refuse(ck / ARRAYS_FILE, f"arrays that {META_FILE} does not refer to: "
                                 f"{sorted(set(arrays) - used)[:5]}")  # fmt: skip
    return models


def _data_files(manifest: dict, p) -> list[str]:
    """This rank's share of the state and output files (for the checks)."""
    dec = p.state.decomposition
    return sorted(n for n in manifest["files"] if _DATA_FILE.match(n))[dec.rank::dec.size]


def verify_hashes(ck: Path, manifest: dict, p) -> None:
    for name in _data_files(manifest, p):
        _check_hash(ck / name, None, manifest["files"][name])


def verify_data_files(ck: Path, manifest: dict, records: int, p) -> None:
    """Check what is in this rank's share of the (hash-checked) state and output files: the
    blocks' places and shapes, the datasets' types, the output records."""
    for name in _data_files(manifest, p):
        path = ck / name
        try:
            if name.startswith("state."):
                _check_state_file(path, p)
            else:
                _check_outputs_file(path, ck / state_file(int(name.split(".")[1])), records)
        except codec.FormatError as err:
            refuse(path, str(err))
        except (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError) as err:
            refuse(path, f"not a readable checkpoint file ({err})")
    if manifest["files"].keys().isdisjoint({outputs_file(0)}) and records > 0:
        refuse(ck / MANIFEST_FILE, f"{records} output time(s) written but no output tiles saved")


def block(f, where: str, global_shape) -> tuple[tuple[int, int], tuple[int, int]]:
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
    with h5py.File(path, "r") as f:
        (r0, r1), (c0, c1) = block(f, "attribute", p.state.decomposition.global_shape)
        arrays = checkpointed(p)
        found = []
        f.visititems(lambda name, item: found.append(name)
                     if isinstance(item, h5py.Dataset) else None)  # fmt: skip
        unexpected = sorted(set(found) - set(arrays))
        if unexpected:
            raise codec.FormatError("", f"datasets this run does not have: {unexpected[:5]}")
        for name, (target, grid) in arrays.items():
            if name not in f or not isinstance(f[name], h5py.Dataset):
                raise codec.FormatError("", f"no dataset {name!r} (this run's models write it)")
            ds = f[name]
            shape = (r1 - r0, c1 - c0) if grid else target.shape
            if ds.dtype != target.dtype or ds.shape != shape or ds.dtype.fields is not None:
                raise codec.FormatError(name, f"{ds.dtype} {ds.shape}; valid: {target.dtype} "
                                              f"{shape}")  # fmt: skip


def _check_outputs_file(path: Path, state_path: Path, records: int) -> None:
    with h5py.File(state_path, "r") as f:
        (r0, r1), (c0, c1) = block(f, "attribute", (np.inf, np.inf))
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


def check_tiling(ck: Path, blocks, global_shape) -> None:
    """The blocks cover the grid once: their areas add up to it and none overlap."""
    area = sum((r1 - r0) * (c1 - c0) for (r0, r1), (c0, c1) in blocks)
    overlap = any(max(a[0][0], b[0][0]) < min(a[0][1], b[0][1]) and
                  max(a[1][0], b[1][0]) < min(a[1][1], b[1][1])
                  for i, a in enumerate(blocks) for b in blocks[i + 1:])  # fmt: skip
    if overlap or area != global_shape[0] * global_shape[1]:
        refuse(ck, f"its state files' blocks do not cover the {global_shape[0]} x "
                   f"{global_shape[1]} grid exactly once")  # fmt: skip
