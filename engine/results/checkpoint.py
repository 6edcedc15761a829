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
(``meta.pkl``, never opened: unpickling can run any code); ``checkpoint_files`` holds these
checks. Under MPI every rank reaches the same verdict (the problems are gathered), so all
stop with the same message.

A restarted run on any number of ranks reads, on each rank, only the old blocks that overlap
its new window, so nothing of grid size passes through one rank; the files' hashes are
checked by the ranks in turn (each a share of the files).

Models keep per-cell state in state variables (declared ``out``) and make the rest global
(reduced over ranks) so that ``checkpoint()`` of rank 0 is the model's whole state.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import netCDF4
import numpy as np

from metrotwin import __version__
from metrotwin.errors import CheckpointError, ModelError
from metrotwin.results import checkpoint_codec as codec
from metrotwin.results.checkpoint_files import (
    ARRAYS_FILE,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_FILE,
    META_FILE,
    block,
    check_tiling,
    checkpointed,
    checkpointed_models,
    digest,
    outputs_file,
    read_meta,
    refuse,
    scenario_content,
    sha256,
    state_file,
    verify_data_files,
    verify_hashes,
)

CHECKPOINT_DIR = "checkpoint"


# -- writing ---------------------------------------------------------------------------------
def write_checkpoint(folder: Path, p, *, t: float, records: int, series, tile: Path | None) -> Path:
    """Save variant ``p`` at simulation time ``t`` into ``folder/checkpoint`` (atomically:
    the previous checkpoint stays until the new one is complete). A model whose
    ``checkpoint()`` holds something the format cannot keep stops the run on every rank
    (``ModelError`` naming the model and the key)."""
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
    written = [state_file(dec.rank)]
    with h5py.File(part / written[0], "w") as f:
        f.attrs["rows"] = np.array([rows.start, rows.stop], "int64")
        f.attrs["cols"] = np.array([cols.start, cols.stop], "int64")
        for name, (values, grid) in checkpointed(p).items():
            f.create_dataset(name, data=values[dec.owned] if grid else values)
    if tile is not None:
        written.append(outputs_file(dec.rank))
        shutil.copyfile(tile, part / written[-1])
    if dec.rank == 0:
        codec.write_arrays(part / ARRAYS_FILE, arrays)
        (part / META_FILE).write_bytes(codec.dumps(meta))
        written += [ARRAYS_FILE, META_FILE]
    hashes = {name: sha256(part / name) for name in written}
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
    arrays: dict[str, np.ndarray] = {}
    models = {}
    for key, model in checkpointed_models(p).items():
        try:
            saved = model.checkpoint()
        except Exception as err:  # noqa: BLE001 - named for the user; the other ranks are told
            raise ModelError(f"model {key!r}: checkpoint() failed ({err!r})") from err
        try:
            models[key] = codec.encode(saved, arrays, f"models.{key}")
        except codec.FormatError as err:
            raise ModelError(f"model {key!r}: its checkpoint() cannot be saved: {err}") \
                from None  # fmt: skip
    scenario = scenario_content(p.scenario)
    meta = {"t": float(t), "records": int(records), "ranks": int(ranks),
            "series": series.to_json(), "scenario": scenario,
            "scenario_sha256": digest(scenario), "metrotwin_version": __version__,
            "models": models}  # fmt: skip
    return meta, arrays


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


def saved_time(folder: Path) -> float | None:
    """The simulated time (s) of the checkpoint a restart of ``folder`` takes (None: there
    is none, or it does not say): read before anything is checked, to prepare the run it
    restores (a live twin's readings of that time); ``read_checkpoint`` checks everything."""
    ck = _folder(folder)
    try:
        t = json.loads((ck / META_FILE).read_bytes())["t"]
    except (TypeError, OSError, ValueError, KeyError):
        return None
    return float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else None


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
    manifest, meta = _on_every_rank(dec, lambda: read_meta(ck, p))
    _on_every_rank(dec, lambda: verify_hashes(ck, manifest, p))
    _on_every_rank(dec, lambda: verify_data_files(ck, manifest, meta["records"], p))
    _on_every_rank(dec, lambda: _read_fields(ck, manifest, p))
    for key, model in checkpointed_models(p).items():
        try:
            model.restore(meta["models"][key])
        except (KeyError, IndexError, TypeError, ValueError) as err:
            refuse(ck / META_FILE, f"model {key!r} cannot restore what it holds ({err})")
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


def _read_fields(ck: Path, manifest: dict, p) -> None:
    """Fill this rank's window of every checkpointed field from the old blocks that overlap
    it, once the blocks are known to tile the grid exactly."""
    dec = p.state.decomposition
    paths = [ck / state_file(r) for r in range(manifest["ranks"])]
    blocks = []
    for path in paths:
        with h5py.File(path, "r") as f:
            blocks.append(block(f, f"{path.name} attribute", dec.global_shape))
    check_tiling(ck, blocks, dec.global_shape)
    rows, cols = dec.local_window
    arrays = checkpointed(p)
    for path, ((r0, r1), (c0, c1)) in zip(paths, blocks):
        lo_r, hi_r = max(r0, rows.start), min(r1, rows.stop)
        lo_c, hi_c = max(c0, cols.start), min(c1, cols.stop)
        with h5py.File(path, "r") as f:
            for name, (target, grid) in arrays.items():
                if not grid:
                    if path == paths[0]:  # the same on every rank: take the first
                        target[...] = codec.read_numeric(f[name], name)
                    continue
                if lo_r >= hi_r or lo_c >= hi_c:
                    continue
                target[lo_r - rows.start:hi_r - rows.start, lo_c - cols.start:hi_c - cols.start] = \
                    f[name][lo_r - r0:hi_r - r0, lo_c - c0:hi_c - c0]  # fmt: skip


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
        refuse(ck, f"{records} output time(s) written but no output tiles saved")
    times, network_found = None, set()
    for path in tiles:
        with h5py.File(ck / state_file(int(path.name.split(".")[1])), "r") as f:
            (r0, r1), (c0, c1) = block(f, "attribute", dec.global_shape)
        with netCDF4.Dataset(path) as src:
            src.set_auto_mask(False)
            tile_times = np.asarray(src["time"][:records])
            if times is not None and not np.array_equal(times, tile_times):
                refuse(path, "its output times differ from those of the other tiles")
            times = tile_times
            lo_r, hi_r = max(r0, rows.start), min(r1, rows.stop)
            lo_c, hi_c = max(c0, cols.start), min(c1, cols.stop)
            for name, var in writer._vars.items():
                grid = var.dimensions[-2:] == ("y", "x")
                if name not in src.variables:
                    if grid:
                        refuse(path, f"no output variable {name!r} (this run writes it)")
                    continue
                if grid:
                    if lo_r >= hi_r or lo_c >= hi_c:
                        continue
                    var[:records, lo_r - rows.start:hi_r - rows.start, lo_c - cols.start:hi_c - cols.start] = \
                        src[name][:records, lo_r - r0:hi_r - r0, lo_c - c0:hi_c - c0]  # fmt: skip
                elif writer.with_network:
                    if src[name].shape[1:] != var.shape[1:]:
                        refuse(path, f"{name}: {src[name].shape[1:]} values per time; this run "
                                     f"has {var.shape[1:]}")  # fmt: skip
                    var[:records, ...] = src[name][:records, ...]
                    network_found.add(name)
    if records:
        writer.nc["time"][:records] = times
    if writer.with_network:
        missing = sorted(n for n, v in writer._vars.items()
                         if v.dimensions[-2:] != ("y", "x") and n not in network_found)  # fmt: skip
        if records and missing:
            refuse(ck, f"no saved tile holds the output variables {missing[:5]}")
