"""The run directory: CF netCDF fields, indicators, the resolved scenario — written atomically.

Layout, per variant: ``OUT/<variant>/fields.nc``, ``indicators.json``,
``scenario.resolved.yaml`` and ``run.log`` (``metrotwin.results.layout``). Reading them back is
``metrotwin.results.rundata``'s job (``open_runs``, offered here too).
"""

from __future__ import annotations

import json
import os
import queue
import threading
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import netCDF4
import numpy as np
import yaml

from metrotwin.city.state import CityState
from metrotwin.city.variables import INTERNAL_ATTR, VarSpec
from metrotwin.errors import ModelError
from metrotwin.results.georef import georeferenced
# the file names, and the one reader of run folders, offered here too: where a run's
# writer has always offered them
from metrotwin.results.layout import (  # noqa: F401
    FIELDS_FILE,
    INDICATORS_FILE,
    LOG_FILE,
    RESOLVED_FILE,
)
from metrotwin.results.rundata import open_runs  # noqa: F401

CF_VERSION = "CF-1.13"
#: deflate level of every variable: level 1 writes a city-scale field at ~157 MB/s against
#: ~112 MB/s at level 4, for files 6 % larger (2.64 M cells, ten heat fields, this machine)
COMPRESSION_LEVEL = 1
#: cells in one chunk of a field: a time slice is cut into bands of whole rows this large,
#: so that a chunk fits the library's chunk cache and compresses as it is written
CHUNK_CELLS = 1 << 20
#: state variables not written to fields.nc: index lists that only make sense in memory
UNWRITTEN = ("link_cell_start", "link_cell_index")


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: Path, data) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def write_yaml(path: Path, data) -> None:
    write_text_atomic(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


class FieldWriter:
    """Appends the output fields at each output time to a CF netCDF file; the file appears
    under its final name only when ``close(success=True)`` is called.

    The fields are written while the models run on: ``append`` copies them (as they will be
    stored, float32) and a writer thread compresses and writes the copy, which on a city of
    millions of cells takes about as long as the models' steps between two output times.
    At most one copy waits while another is written. The netCDF library is not thread-safe:
    the thread holds xarray's netCDF/HDF5 locks while it writes, and everything else of this
    writer (the time axis, checkpoints, closing) first waits for it to finish. An error of
    the thread (a full disk) is raised by the next call."""

    def __init__(self, path: Path, state: CityState, outputs: dict[str, VarSpec], *,
                 start: datetime, attrs: dict, with_network: bool = True):  # fmt: skip
        self.path = Path(path)
        self._ctx = atomic_path(self.path)
        self._tmp = self._ctx.__enter__()
        self.state = state
        self.outputs = outputs
        # a rank writes the cells it owns (its halo belongs to its neighbours); the road
        # network, the same on every rank, is written by one of them
        self.region = state.decomposition.owned
        self.with_network = with_network
        self.nc = netCDF4.Dataset(self._tmp, "w", format="NETCDF4")
        self._define(start, attrs)
        self._next: int | None = None  # the record the next append writes
        self._pending: queue.Queue = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write_records, name=f"write {self.path.name}",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def _wanted(self, da) -> bool:
        if da.name in UNWRITTEN or da.attrs.get(INTERNAL_ATTR):
            return False
        return set(da.dims) <= {"y", "x"} or self.with_network

    def _define(self, start: datetime, attrs: dict) -> None:
        nc, ds = self.nc, self.state.ds.isel(y=self.region[0], x=self.region[1])
        nc.setncatts({"Conventions": CF_VERSION, **attrs})
        nc.createDimension("time", None)
        for dim, size in ds.sizes.items():
            if dim in ("y", "x") or self.with_network:
                nc.createDimension(dim, size)
        t = nc.createVariable("time", "f8", ("time",))
        t.setncatts({
            "units": f"seconds since {start.strftime('%Y-%m-%d %H:%M:%S')}",
            "calendar": "proleptic_gregorian",
            "standard_name": "time",
            "axis": "T",
        })  # fmt: skip
        for name in ("x", "y"):
            var = nc.createVariable(name, "f8", (name,))
            var[:] = ds[name].values
            var.setncatts(ds[name].attrs)
        crs = nc.createVariable("spatial_ref", "i4", ())
        crs_attrs = dict(ds["spatial_ref"].attrs)
        x, y, res = ds["x"].values, ds["y"].values, self.state.grid.resolution
        crs_attrs["GeoTransform"] = f"{x[0] - res / 2} {res} 0 {y[0] + res / 2} 0 {-res}"
        crs.setncatts({k: _nc_attr(v) for k, v in crs_attrs.items()})
        # static layers (and the network): once, without time
        for name, da in ds.data_vars.items():
            if name in self.outputs or not self._wanted(da):
                continue
            var = nc.createVariable(name, da.dtype, da.dims, zlib=True, complevel=COMPRESSION_LEVEL,
                                    chunksizes=field_chunks(da.shape))  # fmt: skip
            var.setncatts({k: _nc_attr(v) for k, v in georeferenced(da.dims, da.attrs).items()})
            var[...] = da.values
        self._vars = {}
        for name, spec in self.outputs.items():
            da = ds[name]
            if not self._wanted(da):
                continue
            dtype = "f4" if np.issubdtype(da.dtype, np.floating) else da.dtype
            chunks = (1, *field_chunks(da.shape)) if da.ndim else None
            fill = np.float32(np.nan) if dtype == "f4" else None
            var = nc.createVariable(name, dtype, ("time", *da.dims), zlib=True,
                                    complevel=COMPRESSION_LEVEL, chunksizes=chunks,
                                    fill_value=fill)  # fmt: skip
            var.setncatts({k: _nc_attr(v) for k, v in georeferenced(da.dims, da.attrs).items()})
            self._vars[name] = var

    def append(self, t: float) -> None:
        """Write the output fields as they are now, at time ``t`` (s since start): copied
        now, written by the writer thread while the run goes on."""
        self._raise_error()
        if self._next is None:
            self._next = self.records  # after the records a restart copied in
        snapshot = {}
        for name, var in self._vars.items():
            values = self.state[name]
            values = values[self.region] if self.state.ds[name].dims == ("y", "x") else values
            snapshot[name] = np.array(values, dtype=var.dtype)  # a copy: the run goes on
        self._pending.put((self._next, t, snapshot))  # waits while one copy is still waiting
        self._next += 1

    def _write_records(self) -> None:
        from xarray.backends.locks import HDF5_LOCK, NETCDFC_LOCK

        while (item := self._pending.get()) is not None:
            try:
                if self._error is None:
                    i, t, snapshot = item
                    self._check(t, snapshot)
                    with HDF5_LOCK, NETCDFC_LOCK:
                        self.nc["time"][i] = t
                        for name, values in snapshot.items():
                            self._vars[name][i, ...] = values
            except BaseException as err:  # noqa: BLE001 - raised by the run's next call
                self._error = err
            finally:
                self._pending.task_done()
        self._pending.task_done()

    def _check(self, t: float, snapshot: dict[str, np.ndarray]) -> None:
        """Refuse a record that cannot be true (non-finite or outside its variable's valid
        range): the run then fails, and nothing of it is published."""
        for name, values in snapshot.items():
            reason = self.outputs[name].untrusted(values)
            if reason is not None:
                raise ModelError(f"output {name!r} at t = {t:g} s has {reason}; the run is "
                                 "not published (check the inputs and the models' parameters)")

    def _wait(self) -> None:
        """Until every copied record is written; then raise the thread's error, if any."""
        self._pending.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._stop()
            raise error

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._pending.put(None)
            self._thread.join()

    @property
    def records(self) -> int:
        self._wait()
        return len(self.nc.dimensions["time"])

    @contextmanager
    def closed(self):
        """Close the file for a moment (to copy it into a checkpoint), yielding its path."""
        self._wait()
        self.nc.close()
        try:
            yield self._tmp
        finally:
            self.nc = netCDF4.Dataset(self._tmp, "a")
            self._vars = {name: self.nc[name] for name in self._vars}

    def close(self, success: bool) -> None:
        """Finish: the file takes its final name if ``success`` and every record was
        written; otherwise it is removed (and a writing error is raised)."""
        error = None
        try:
            if success:
                self._wait()
        except BaseException as err:  # noqa: BLE001 - raised below, after the clean-up
            error = err
        self._error = None
        self._stop()
        try:
            self.nc.close()
        except BaseException as err:  # noqa: BLE001
            error = error or err
        if success and error is None:
            self._ctx.__exit__(None, None, None)
            return
        self._ctx.__exit__(RuntimeError, RuntimeError("run failed"), None)
        if success:
            raise error




def field_chunks(shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Chunk sizes of one time slice of a field of ``shape``: whole, or for a large grid
    (y, x) bands of whole rows holding at most ``CHUNK_CELLS`` cells."""
    if not shape or 0 in shape:
        return None
    if len(shape) == 2:
        rows = max(1, min(shape[0], CHUNK_CELLS // shape[1]))
        return (rows, shape[1])
    return tuple(shape)


def _nc_attr(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (list, tuple)):
        return np.asarray(value)
    return value
