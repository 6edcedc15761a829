"""One prepared variant run into its folder: the time loop of its coupler, with its outputs,
indicators, checkpoints and stop requests, then the files that say what it computed.

In a decomposed run every rank of the variant's group writes its tile of the fields; the
group's first rank (the lead) writes the master file, the indicators, the resolved scenario
and the log.
"""

from __future__ import annotations

import logging
import shutil
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from metrotwin import __version__
from metrotwin.city.build import global_grid
from metrotwin.errors import Checkpointed
from metrotwin.hpc.parallel_output import tile_name, write_master
from metrotwin.results.checkpoint import (
    copy_output_records,
    has_checkpoint,
    read_checkpoint,
    write_checkpoint,
)
from metrotwin.results.indicators import IndicatorSeries
from metrotwin.results.output import (
    FIELDS_FILE,
    INDICATORS_FILE,
    LOG_FILE,
    RESOLVED_FILE,
    FieldWriter,
    write_json,
    write_yaml,
)
from metrotwin.run.outdir import DONE_MARKER
from metrotwin.run.profile import StageProfile, peak_rss_mib
from metrotwin.run.registry import uncompiled_models
from metrotwin.run.stop import stop_signals

#: simulated seconds within which two times are the same (the clock adds up float intervals)
TIME_TOLERANCE_S = 1e-9


class VariantRun:
    """Run prepared variant ``p`` (a ``metrotwin.run.runner.PreparedVariant``) into
    ``folder``: ``VariantRun(p, folder, progress=..., restart=..., stop=...).run()``.

    With ``restart`` a finished variant is left as it is, and one with a checkpoint continues
    from it. A checkpoint is saved every ``parallel.checkpoint_interval`` of simulated time,
    and when ``stop`` reports a signal (then the run raises Checkpointed).
    """

    def __init__(self, p, folder: Path, *, progress: bool, restart: bool = False,
                 stop: stop_signals | None = None):  # fmt: skip
        self.p, self.folder, self.stop = p, folder, stop
        self.progress, self.restart = progress, restart
        self.dec = p.state.decomposition
        self.lead = self.dec.rank == 0
        self.profile: StageProfile = p.profile
        self.series = IndicatorSeries()
        self.writer: FieldWriter | None = None
        self.last_checkpoint = 0.0  # simulated time of the last checkpoint (s)
        self._show = None  # the progress bar's update, while the time loop runs
        self.started = datetime.now(timezone.utc)

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> None:
        if self.restart and (self.folder / DONE_MARKER).exists():
            return
        if self._stop_requested():
            raise Checkpointed(f"stopped before variant {self.p.name!r} started; continue with: "
                               f"{self._continue_hint()}")  # fmt: skip
        resume = self.restart and has_checkpoint(self.folder)
        self._clear_what_a_stopped_run_left(resume)
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._run_log():
            self._run(resume)

    def _run(self, resume: bool) -> None:
        self.started = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        self.p.ctx.logger.info("variant %s: interventions %s", self.p.name,
                               self.p.interventions or "none")  # fmt: skip
        with self.profile.stage("output"):
            self.writer = self._open_writer()
        if resume:
            self._resume()
        self.last_checkpoint = self.p.ctx.clock.now
        indicators = self._time_loop()
        if self.dec.is_parallel:
            with self.profile.stage("output"):
                self._write_master()
        wall = time.perf_counter() - t0
        if self.lead:
            self._write_indicators(indicators)
            self._write_resolved(wall)
            (self.folder / DONE_MARKER).touch()
            self.p.ctx.logger.info("variant %s finished in %.2f s", self.p.name, wall)
        self.dec.barrier()

    def _time_loop(self) -> dict:
        """Run the coupler to the end (writing outputs, indicators and checkpoints on the
        way) and close the field writer; returns the final indicators."""
        ok = False
        try:
            loop_start, booked_before = time.perf_counter(), dict(self.profile.seconds)
            models_before = dict(self.p.coupler.wall_time)  # their set-up is booked already
            with ProgressBar(self.p, self.progress and self.lead) as show:
                self._show = show
                self.p.coupler.run(self.on_output, self.after_step)
            self.p.coupler.finalize()
            in_loop = {m: s - models_before[m] for m, s in self.p.coupler.wall_time.items()}
            split_run_loop(self.profile, booked_before, in_loop, time.perf_counter() - loop_start)
            with self.profile.stage("indicators"):
                indicators = self.p.coupler.indicators()
            ok = True
        finally:
            with self.profile.stage("output"):
                self.writer.close(success=ok)
        if self.lead:  # e.g. an assimilating coupler's observations.nc
            # only now: the field writer's thread has ended, and HDF5 (under netCDF4, which
            # releases the GIL) is not thread-safe: two files written at once failed with
            # "NetCDF: HDF error" or crashed the process (SIGSEGV, SIGBUS)
            with self.profile.stage("output"):
                self.p.coupler.write_outputs(self.folder)
        return indicators

    # -- what the coupler calls ------------------------------------------------------------

    def on_output(self, t: float) -> None:
        """An output time: the fields' record and the indicators' time series."""
        with self.profile.stage("output"):
            self.writer.append(t)
        with self.profile.stage("indicators"):
            self.series.append(t, self.p.coupler.indicators())

    def after_step(self, t: float) -> None:
        """After each coupling step: the progress bar, a checkpoint when one is due or asked
        for, and the stop a signal asked for (every rank of the group agrees on it)."""
        if self._show is not None:
            self._show(t)
        if t >= self.p.ctx.clock.end - TIME_TOLERANCE_S:
            return
        asked = self._stop_requested()
        interval = self.p.scenario.parallel.checkpoint_interval
        if asked or (interval and t - self.last_checkpoint >= interval - TIME_TOLERANCE_S):
            self.checkpoint(t)
        if asked:
            raise Checkpointed(f"variant {self.p.name!r} saved a checkpoint at simulated time "
                               f"{t:g} s and stopped; continue with: {self._continue_hint()}")  # fmt: skip

    def checkpoint(self, t: float) -> None:
        """Save the variant at simulated time ``t`` (s), its field file closed meanwhile."""
        records = self.writer.records
        armed = self.stop.armed if self.stop is not None else False
        if self.stop is not None:
            self.stop.disarm()  # a Ctrl-C must not cut a checkpoint between its renames
        try:
            with self.profile.stage("checkpoints"), self.writer.closed() as tile:
                write_checkpoint(self.folder, self.p, t=t, records=records, series=self.series,
                                 tile=tile)  # fmt: skip
        finally:
            if self.stop is not None:
                self.stop.armed = armed
        self.last_checkpoint = t
        self.p.ctx.logger.info("variant %s: checkpoint at t = %g s", self.p.name, t)

    # -- set-up ----------------------------------------------------------------------------

    def _stop_requested(self) -> bool:
        asked = self.stop is not None and self.stop.requested
        return bool(self.dec.allreduce_max(int(asked)))  # every rank of the group agrees

    def _continue_hint(self) -> str:
        # the output folder: above the work folder, and a member's unit folders (b/members/m)
        out = self.folder.parents[len(Path(self.p.name).parts)]
        return f"metrotwin run SCENARIO -o {out} --restart"

    def _clear_what_a_stopped_run_left(self, resume: bool) -> None:
        """A variant without checkpoint starts again from nothing, and one with a checkpoint
        drops the files it was writing when it stopped (the lead clears, the group waits)."""
        if self.lead and self.folder.exists():
            for stale in [self.folder] if not resume else self.folder.glob(".*.part"):
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
            if self.restart and not resume:
                self.p.ctx.logger.warning("variant %s: no checkpoint to continue from; it "
                                          "starts from the beginning", self.p.name)  # fmt: skip
        self.dec.barrier()

    @contextmanager
    def _run_log(self):
        """The run's INFO messages into the variant's run.log (written by the lead)."""
        root = logging.getLogger("metrotwin")
        handler = None
        if self.lead:
            handler = logging.FileHandler(self.folder / LOG_FILE, encoding="utf-8")
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            yield
        finally:
            if handler is not None:
                root.removeHandler(handler)
                handler.close()

    def _open_writer(self) -> FieldWriter:
        """This rank's field file: ``fields.nc``, or its tile of a decomposed run."""
        p = self.p
        name = tile_name(self.dec.rank) if self.dec.is_parallel else FIELDS_FILE
        return FieldWriter(
            self.folder / name,
            p.state,
            p.coupler.output_variables(),
            start=p.scenario.period.start,
            attrs={
                "title": f"metrotwin run of scenario {p.scenario.name}, variant {p.name}",
                "source": f"metrotwin {__version__}",
                "scenario": p.scenario.name,
                "variant": p.name,
                "history": f"{self.started.isoformat(timespec='seconds')} metrotwin run",
            },
            with_network=self.lead,
        )

    def _resume(self) -> None:
        """Continue from the checkpoint: the models' state, the clock, the output records
        written before it and the indicators' time series."""
        try:
            meta = read_checkpoint(self.folder, self.p)
            copy_output_records(self.folder, self.writer, meta["records"])
        except BaseException:
            self.writer.close(success=False)  # its writer thread and file, before the error
            raise
        self.series = meta["series"]
        self.p.ctx.logger.info("variant %s: restarted at t = %g s on %d rank(s)", self.p.name,
                               meta["t"], self.dec.size)  # fmt: skip

    # -- the files that say what the variant computed -------------------------------------

    def _write_master(self) -> None:
        """Gather where each rank's tile lies (a few numbers each) and write the master
        file."""
        dec = self.dec
        rows, cols = dec.glb_slices
        tiles = dec.gather_object((tile_name(dec.rank), (rows.start, rows.stop),
                                   (cols.start, cols.stop)))  # fmt: skip
        if self.lead:
            grid = global_grid(self.p.scenario)
            geotransform = f"{grid.west} {grid.resolution} 0 {grid.north} 0 {-grid.resolution}"
            write_master(self.folder / FIELDS_FILE, tiles, grid.x, grid.y, geotransform)
        dec.barrier()

    def _write_indicators(self, indicators: dict) -> None:
        p = self.p
        models = {m: {k: ind.to_json() for k, ind in inds.items()}
                  for m, inds in indicators.items()}  # fmt: skip
        write_json(self.folder / INDICATORS_FILE, {
            "scenario": p.scenario.name,
            "variant": p.name,
            "metrotwin_version": __version__,
            "models": models,
            "time_series": {"time": self.series.time, "values": self.series.values},
        })  # fmt: skip

    def _write_resolved(self, wall: float) -> None:
        """``scenario.resolved.yaml``: the scenario as run, and how it ran (``wall`` s)."""
        p, dec = self.p, self.dec
        write_yaml(self.folder / RESOLVED_FILE, {
            "scenario": p.scenario.model_dump(mode="json"),
            "run": {
                "metrotwin_version": __version__,
                "variant": p.name,
                "seed": p.scenario.seed,
                "ranks": dec.size,
                "layout": list(dec.topology),
                "halo": dec.halo,
                "started": self.started.isoformat(timespec="seconds"),
                "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "wall_time_s": round(wall, 3),
                "model_order": [m.name for m in p.coupler.models],
                "model_wall_time_s": {k: round(v, 3) for k, v in p.coupler.wall_time.items()},
                "halo_exchange_s": round(getattr(dec, "halo_seconds", 0.0), 3),
                "interventions_cells_changed": p.interventions,
                "profile": self.profile.to_json(),
                "peak_rss_mib": round(peak_rss_mib(), 1),
            },
        })  # fmt: skip


def split_run_loop(profile: StageProfile, booked_before: dict[str, float],
                   model_seconds: dict[str, float], loop: float) -> None:  # fmt: skip
    """Book the time-stepping loop (``loop`` s): each model's own time, and the coupler's
    remainder (exchanges, clock, progress bar): the loop less the models and less what the
    loop's outputs, indicators and checkpoints booked meanwhile."""
    in_loop = sum(profile.seconds.get(k, 0.0) - booked_before.get(k, 0.0)
                  for k in ("output", "indicators", "checkpoints"))  # fmt: skip
    for name, seconds in model_seconds.items():
        profile.add(f"model {name}", seconds)
    profile.add("coupling", max(0.0, loop - sum(model_seconds.values()) - in_loop))


class ProgressBar:
    """A rich progress bar of simulated time, with wall time and ETA. While the first step of
    a run with uncompiled kernels works (numba compiles them, a minute with the ETA at -:--),
    the bar says so; a spinner shows it is alive. Entered, it gives ``show(t)`` (None when
    disabled)."""

    #: models whose kernels a bar of this process has seen compiled (the next bars are warm)
    compiled: set[str] = set()

    def __init__(self, p, enabled: bool):
        self.p, self.enabled = p, enabled
        self.cold: list[str] = []

    def __enter__(self):
        if not self.enabled:
            return None
        # rich is imported only when a bar is shown: a run without a terminal never needs it
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                            TextColumn("sim {task.fields[sim]}"), TextColumn("wall"),
                            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                            transient=False)  # fmt: skip
        self.bar.__enter__()
        names = [m.name for m in self.p.coupler.models]
        self.cold = [n for n in uncompiled_models(names) if n not in self.compiled]
        description = self.p.name
        if self.cold:
            description += f" [dim](first run: compiling the {'/'.join(self.cold)} kernels)[/dim]"
        self.task = self.bar.add_task(description, total=self.p.ctx.clock.end, sim=self._sim(0.0))
        return self._show

    def _show(self, t: float) -> None:
        self.compiled.update(self.cold)  # the first step has run: its kernels are compiled
        self.bar.update(self.task, completed=t, sim=self._sim(t), description=self.p.name)

    def _sim(self, t: float) -> str:
        return self.p.ctx.clock.datetime_at(t).strftime("%H:%M:%S")

    def __exit__(self, *exc):
        if self.enabled:
            self.bar.__exit__(*exc)
        return False
