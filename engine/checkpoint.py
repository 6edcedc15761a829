"""Checkpoints: everything a variant needs to continue, independent of the decomposition.

A checkpoint folder holds one HDF5 file per rank with the rank's owned block of every field
the models write (float64, exact), a copy of the rank's output tile as written so far, and
``meta.pkl`` (rank 0) with the clock, the indicator series and each model's ``checkpoint()``.
A restarted run on any number of ranks reads, on each rank, only the old blocks that overlap
its new window, so nothing of grid size passes through one rank.

Models keep per-cell state in state variables (declared ``out``) and make the rest global
(reduced over ranks) so that ``checkpoint()`` of rank 0 is the model's whole state.
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import h5py
import netCDF4
import numpy as np

CHECKPOINT_DIR = "checkpoint"
META_FILE = "meta.pkl"


def _state_file(rank: int) -> str:
    return f"state.{rank:05d}.h5"


def write_checkpoint(folder: Path, p, *, t: float, records: int, series, tile: Path | None) -> Path:
    """Save variant ``p`` at simulation time ``t`` into ``folder/checkpoint`` (atomically:
    the previous checkpoint stays until the new one is complete)."""
    dec = p.state.decomposition
    final = folder / CHECKPOINT_DIR
    part = folder / f"{CHECKPOINT_DIR}.part"
    if dec.rank == 0:
        shutil.rmtree(part, ignore_errors=True)
        part.mkdir(parents=True)
    dec.barrier()
    rows, cols = dec.glb_slices
    with h5py.File(part / _state_file(dec.rank), "w") as f:
        f.attrs["rows"] = (rows.start, rows.stop)
        f.attrs["cols"] = (cols.start, cols.stop)
        for name in _checkpointed(p):
            da = p.state.ds[name]
            values = p.state[name]
            f.create_dataset(name, data=p.state.owned(values) if da.dims == ("y", "x") else values)
        if tile is not None:
            f.attrs["tile"] = tile.name
    if tile is not None:
        shutil.copyfile(tile, part / f"outputs.{dec.rank:05d}.nc")
    dec.barrier()  # every rank's part is on disk before the checkpoint replaces the last one
    if dec.rank == 0:
        meta = {
            "t": t,
            "records": records,
            "series": series,
            "ranks": dec.size,
            "models": {m.name: m.checkpoint() for m in p.coupler.models},
        }
        (part / META_FILE).write_bytes(pickle.dumps(meta, protocol=pickle.HIGHEST_PROTOCOL))
        old = folder / f"{CHECKPOINT_DIR}.old"
        if final.exists():
            final.rename(old)
        part.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    dec.barrier()
    return final


def _checkpointed(p) -> list[str]:
    names = []
    for model in p.coupler.models:
        names += [n for n in model.writes() if n in p.state.ds and n not in names]
    return names


def has_checkpoint(folder: Path) -> bool:
    return (folder / CHECKPOINT_DIR / META_FILE).exists()


def read_checkpoint(folder: Path, p) -> dict:
    """Restore variant ``p`` from its checkpoint; returns the metadata (time, records, series).

    Every field is assembled over this rank's window (owned block and halo) from the old
    blocks that overlap it; then each model's ``restore`` gets its saved dictionary.
    """
    ck = folder / CHECKPOINT_DIR
    meta = pickle.loads((ck / META_FILE).read_bytes())
    dec = p.state.decomposition
    rows, cols = dec.local_window
    filled = {}
    for path in sorted(ck.glob("state.*.h5")):
        with h5py.File(path, "r") as f:
            (r0, r1), (c0, c1) = f.attrs["rows"], f.attrs["cols"]
            lo_r, hi_r = max(r0, rows.start), min(r1, rows.stop)
            lo_c, hi_c = max(c0, cols.start), min(c1, cols.stop)
            for name in _checkpointed(p):
                if name not in f:
                    raise FileNotFoundError(f"{path}: no {name!r} in this checkpoint")
                target = p.state[name]
                if p.state.ds[name].dims != ("y", "x"):
                    target[...] = f[name][...]
                    continue
                if lo_r >= hi_r or lo_c >= hi_c:
                    continue
                target[lo_r - rows.start:hi_r - rows.start, lo_c - cols.start:hi_c - cols.start] = \
                    f[name][lo_r - r0:hi_r - r0, lo_c - c0:hi_c - c0]  # fmt: skip
                filled[name] = filled.get(name, 0) + (hi_r - lo_r) * (hi_c - lo_c)
    expected = (rows.stop - rows.start) * (cols.stop - cols.start)
    for name, count in filled.items():
        if count != expected:
            raise FileNotFoundError(f"{ck}: the checkpoint's blocks cover {count} of {expected} cells of {name!r}")
    for model in p.coupler.models:
        model.restore(meta["models"].get(model.name, {}))
    p.ctx.clock.now = meta["t"]
    return meta


def copy_output_records(folder: Path, writer, records: int) -> None:
    """Write the first ``records`` output times into a new tile ``writer`` from the tiles
    saved with the checkpoint (which may be laid out on another number of ranks)."""
    ck = folder / CHECKPOINT_DIR
    dec = writer.state.decomposition
    rows, cols = dec.glb_slices
    for i in range(records):
        writer.nc["time"][i] = np.nan  # placeholder, set below from a saved tile
    for path in sorted(ck.glob("outputs.*.nc")):
        with h5py.File(ck / path.name.replace("outputs", "state").replace(".nc", ".h5"), "r") as f:
            (r0, r1), (c0, c1) = f.attrs["rows"], f.attrs["cols"]
        with netCDF4.Dataset(path) as src:
            src.set_auto_mask(False)
            if "time" in src.variables:
                writer.nc["time"][:records] = src["time"][:records]
            lo_r, hi_r = max(r0, rows.start), min(r1, rows.stop)
            lo_c, hi_c = max(c0, cols.start), min(c1, cols.stop)
            for name, var in writer._vars.items():
                if name not in src.variables:
                    continue
                if var.dimensions[-2:] == ("y", "x"):
                    if lo_r >= hi_r or lo_c >= hi_c:
                        continue
                    var[:records, lo_r - rows.start:hi_r - rows.start, lo_c - cols.start:hi_c - cols.start] = \
                        src[name][:records, lo_r - r0:hi_r - r0, lo_c - c0:hi_c - c0]  # fmt: skip
                elif writer.with_network:
                    var[:records, ...] = src[name][:records, ...]
