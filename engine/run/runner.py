"""Run a scenario: every variant from the same city, into one run directory.

All validation happens before anything is written: the output folder (locked, writable, not
a finished run), the scenario, the city, the interventions of every variant and the coupling
of the models. Variants run in a staging folder inside the output directory, moved into place
only when the whole run succeeds, so a failed run leaves no half-written output.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from metrotwin import __version__
from metrotwin.city.build import build_city, global_grid
from metrotwin.city.interventions import apply_interventions
from metrotwin.city.state import CityState
from metrotwin.errors import Checkpointed, Interrupted, MetrotwinError, OutputError, ScenarioError
from metrotwin.hpc.decomposition import is_root, world
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
from metrotwin.run.assimilation import assimilating_coupler
from metrotwin.run.context import Clock, RunContext
from metrotwin.run.coupler import Coupler
from metrotwin.run.forcing import Forcing
from metrotwin.run.outdir import DONE_MARKER, OutputFolder, environment_error
from metrotwin.run.profile import StageProfile, peak_rss_mib
from metrotwin.run.registry import get_model, uncompiled_models
from metrotwin.scenario.scenario import Scenario

log = logging.getLogger("metrotwin")


@dataclass
class PreparedVariant:
    """A variant ready to run: its scenario, state (interventions applied) and coupler."""

    name: str
    scenario: Scenario
    state: CityState
    coupler: Coupler
    ctx: RunContext
    interventions: dict
    profile: StageProfile = field(default_factory=StageProfile)


def model_tiling(scenario: Scenario) -> tuple[int, int]:
    """(halo, block multiple) the scenario's models need of a tile: the largest halo and the
    least common multiple of the block sizes (over the variants too, which may change them)."""
    resolution = global_grid(scenario).resolution
    halo, multiple = 0, 1
    for variant in [None, *scenario.variants]:
        models = scenario.resolve_variant(variant).models if variant else scenario.models
        for name, params in models.items():
            h, m = get_model(name).tiling(params, resolution)
            halo, multiple = max(halo, h), math.lcm(multiple, m)
    return halo, multiple


def prepare_variant(scenario: Scenario, name: str, city: CityState, logger=None) -> PreparedVariant:
    """Resolve a variant, apply its interventions to a copy of the city, and check coupling."""
    resolved = scenario.resolve_variant(name)
    state = city.copy()
    rng = np.random.default_rng(np.random.SeedSequence([resolved.seed, 0x1F7]))
    try:
        changed = apply_interventions(state, resolved.interventions, rng)
    except ValueError as err:
        raise ScenarioError(str(err), source=f"variant {name!r}") from None
    models = [get_model(m)(params) for m, params in resolved.models.items()]
    period = resolved.period
    clock = Clock(start=period.start, end=period.seconds,
                  coupling_interval=period.coupling_interval, output_interval=period.output_interval)  # fmt: skip
    ctx = RunContext(
        grid=state.grid,
        decomposition=state.decomposition,
        clock=clock,
        forcing=Forcing(resolved, state.grid, state.global_grid),
        scenario=resolved,
        seed=resolved.seed,
        logger=(logger or log).getChild(name),
    )
    coupler = Coupler(models, state, ctx)
    if resolved.assimilation is not None:  # issue 18: an ensemble kept in step with sensors
        coupler = assimilating_coupler(resolved, state, ctx)
    return PreparedVariant(name, resolved, state, coupler, ctx, changed)


def prepare_variants(scenario: Scenario, names: list[str], decomposition=None) -> list[PreparedVariant]:
    """Build the city (this rank's tile), then every variant's state, models and coupling,
    and initialize the models: every input error surfaces here, before any output."""
    start = time.perf_counter()
    city = build_city(scenario, decomposition)
    city_seconds = time.perf_counter() - start
    prepared = []
    for name in names:
        profile = StageProfile()
        profile.add("city (shared by the variants)", city_seconds)
        with profile.stage("variant set-up (interventions, forcing)"):
            p = prepare_variant(scenario, name, city)
        p.profile = profile
        prepared.append(p)
    for p in prepared:
        with p.profile.stage("model set-up"):
            p.coupler.allocate()
            p.coupler.initialize()
    return prepared


def check_variant_names(scenario: Scenario, variants: list[str] | None) -> list[str]:
    names = variants or scenario.variant_names
    for name in names:
        if name not in scenario.variant_names:
            raise ScenarioError(
                f"unknown variant {name!r}; this scenario has: {', '.join(scenario.variant_names)}"
            )
    return names


def run_scenario(scenario: Scenario, out_dir: Path, *, variants: list[str] | None = None,
                 progress: bool = True, restart: bool = False, overwrite: bool = False,
                 report: Callable[[list[Path], Path], Path] | None = None,
                 paraview: Callable[..., object] | None = None,
                 profile: StageProfile | None = None,
                 working: Callable[[str], AbstractContextManager] | None = None,
                 ) -> dict[str, Path]:  # fmt: skip
    """Run the baseline and the variants (default: all); returns variant -> its folder.

    The output folder is locked, checked and made ready before the city is built
    (``metrotwin.run.outdir``): a folder another run holds, one that is not writable, a finished
    run (unless ``overwrite``) or a user's folder a variant would replace is refused at once.
    Variants run in ``OUT/.metrotwin-work`` and move into ``OUT`` when all are done. SIGTERM,
    SIGUSR1 and Ctrl-C save a checkpoint at the next coupling step and stop (finished
    variants are kept); with ``restart``, finished variants are kept and one with a
    checkpoint continues from it (on any number of ranks). ``report(variant folders,
    comparison folder) -> report path`` draws the comparison (``OUT/comparison/report.html``)
    at the end, and ``paraview(variant folder, **piece)`` adds a ParaView time series to each
    variant's folder: the drawing lives above the engine, and the CLI passes
    ``metrotwin.viz.report.compare_runs`` and ``metrotwin.viz.paraview.write_paraview``.
    Under ``mpiexec`` with several ranks the variants run as an ensemble over groups of ranks,
    each group
    decomposing the grid: ``metrotwin.hpc.ensemble.run_ensemble``, which ``metrotwin run``
    calls there instead of this function. Each variant's stage times are in
    its ``scenario.resolved.yaml`` (``run.profile``); ``profile`` gets the stages after the
    variants (publishing, ParaView, report) of a serial run, and ``working(what)`` (a context
    manager, e.g. a spinner) wraps the report there.
    """
    profile = profile if profile is not None else StageProfile()
    names = check_variant_names(scenario, variants)
    comm = world()
    if comm is not None and comm.Get_size() > 1:
        raise MetrotwinError(
            f"run_scenario runs on one process, but this one is one of {comm.Get_size()} MPI "
            "ranks; under mpiexec use metrotwin.hpc.ensemble.run_ensemble (as `metrotwin run` "
            "does)"
        )
    folder = OutputFolder(out_dir, names, restart=restart, overwrite=overwrite,
                          comparison=report is not None)  # fmt: skip
    folder.open()
    outcome = "failed"
    try:
        with stop_signals() as stop:
            try:
                todo = [n for n in names if n not in folder.done]
                prepared = prepare_variants(scenario, todo) if todo else []
                for p in prepared:
                    run_variant(p, folder.work / p.name, progress=progress, restart=restart,
                                stop=stop)  # fmt: skip
            except (Checkpointed, KeyboardInterrupt) as err:
                outcome = "stopped"
                stop.disarm()
                raise stopped_error(err, folder, stop) from None
            stop.disarm()  # from here a Ctrl-C waits for the variants to be in place
            with profile.stage("publish"):
                results = folder.publish(names)
            outcome = "done"
        if paraview is not None:
            with profile.stage("paraview"):
                for path in results.values():
                    paraview(path)
        if report is not None:
            what = (f"writing the comparison report of {len(results)} variants"
                    if len(results) > 1 else f"writing the report of {next(iter(results))}")
            with profile.stage("report"), (working or _quietly)(what):
                write_comparison(results, folder.path, report)
    except Exception as err:
        env = environment_error(err, folder.path)
        if env is None:
            raise
        folder.close(outcome)
        if folder.can_resume():
            env = OutputError(f"{env}; the checkpoint in {folder.work} is kept: make room, "
                              f"then continue with: metrotwin run SCENARIO -o {folder.path} "
                              "--restart")  # fmt: skip
        raise env from None
    finally:
        folder.close(outcome)  # the folder stays locked until the report is written
    return results


@contextmanager
def _quietly(what: str):
    yield


def write_comparison(results: dict[str, Path], out_dir: Path,
                     report: Callable[[list[Path], Path], Path]) -> Path:  # fmt: skip
    """The report of a run, ``OUT/comparison/report.html`` (with ``indicators.csv`` and
    ``comparison.nc``): the comparison of the variants, or for a one-variant run its own
    indicators, maps and time series. Called once the run's outputs are published, which
    stay whatever happens here; a report that cannot be made is a ``MetrotwinError`` (exit
    status 2) saying why and how to retry, never a warning the user may miss. ``report`` draws
    it (``metrotwin.viz.report.compare_runs``)."""
    try:
        return report(list(results.values()), out_dir / "comparison")
    except Exception as err:  # noqa: BLE001 - any failure: the outputs stay, the run fails
        log.debug("the report of %s failed", out_dir, exc_info=True)
        cause = str(err) if isinstance(err, MetrotwinError) else f"{type(err).__name__}: {err}"
        raise MetrotwinError(
            f"the run finished and its outputs are in {out_dir}, but its report could not be "
            f"made ({cause}); retry with: metrotwin compare {out_dir}"
        ) from err


class stop_signals:
    """SIGTERM and SIGUSR1 (what Slurm sends before the time limit) and a first Ctrl-C ask
    the run to save a checkpoint at the next coupling step and stop; a second Ctrl-C stops
    at once (KeyboardInterrupt). After ``disarm`` (the variants are being put in place) a
    Ctrl-C is only noted: stopping then would gain nothing and could lose a variant."""

    def __enter__(self):
        import signal

        self.requested = False
        self.interrupted = False
        self.armed = True
        self._root = is_root()  # under MPI, one rank says it
        self._previous = {}
        for sig in (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: no signal handling
                pass
        return self

    def _handle(self, signum, frame):
        import signal

        if signum == signal.SIGINT:
            if self.interrupted and self.armed:
                raise KeyboardInterrupt
            if not self.interrupted and self.armed and self._root:
                # os.write: print could re-enter a write of the progress bar to stderr
                os.write(2, b"metrotwin: interrupted; saving a checkpoint at the next coupling "
                            b"step (Ctrl-C again to stop at once)\n")  # fmt: skip
            self.interrupted = True
        self.requested = True

    def disarm(self) -> None:
        self.armed = False

    def __exit__(self, *exc):
        import signal

        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


def stopped_error(err: BaseException, folder: OutputFolder, stop: stop_signals) -> Checkpointed:
    """The message of a run stopped by a signal or Ctrl-C, after its finished variants are
    published: what was kept, and how to continue."""
    folder.publish(folder.finished_in_work())
    kind = Interrupted if stop.interrupted or isinstance(err, KeyboardInterrupt) else Checkpointed
    if not folder.can_resume():
        what = "interrupted" if kind is Interrupted else "stopped"
        return kind(f"{what} before any variant finished or saved a checkpoint; nothing was "
                    f"kept in {folder.path}")  # fmt: skip
    parts = [str(err) if isinstance(err, Checkpointed) else "interrupted"]
    if folder.done:
        parts.append(f"finished variant(s) kept in {folder.path}: {', '.join(folder.done)}")
    if not isinstance(err, Checkpointed):
        parts.append(f"continue with: metrotwin run SCENARIO -o {folder.path} --restart")
    return kind("; ".join(parts))


def run_variant(p: PreparedVariant, folder: Path, *, progress: bool, restart: bool = False,
                stop: stop_signals | None = None) -> None:  # fmt: skip
    """Run one prepared variant into ``folder``. In a decomposed run every rank of the group
    writes its tile; the group's first rank writes the master file, indicators and log.

    With ``restart`` a finished variant is left as it is, and one with a checkpoint continues
    from it. A checkpoint is saved every ``parallel.checkpoint_interval`` of simulated time,
    and when ``stop`` reports a signal (then the run raises Checkpointed).
    """
    dec = p.state.decomposition
    lead = dec.rank == 0
    if restart and (folder / DONE_MARKER).exists():
        return
    if stop is not None and dec.allreduce_max(int(stop.requested)):  # every rank agrees
        raise Checkpointed(f"stopped before variant {p.name!r} started; continue with: metrotwin "
                           f"run SCENARIO -o {folder.parent.parent} --restart")  # fmt: skip
    resume = restart and has_checkpoint(folder)
    started_before = folder.exists()
    if lead and started_before:
        # what an interrupted run left: a variant without checkpoint starts again from
        # nothing, and one with a checkpoint drops the files it was writing when it stopped
        for stale in [folder] if not resume else folder.glob(".*.part"):
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    if lead and restart and started_before and not resume:
        p.ctx.logger.warning("variant %s: no checkpoint to continue from; it starts from the "
                             "beginning", p.name)  # fmt: skip
    dec.barrier()
    folder.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger("metrotwin")
    handler = None
    if lead:
        handler = logging.FileHandler(folder / LOG_FILE, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    profile = p.profile
    try:
        p.ctx.logger.info("variant %s: interventions %s", p.name, p.interventions or "none")
        if dec.is_parallel:
            fields_path = folder / tile_name(dec.rank)
        else:
            fields_path = folder / FIELDS_FILE
        output_start = time.perf_counter()
        writer = FieldWriter(
            fields_path,
            p.state,
            p.coupler.output_variables(),
            start=p.scenario.period.start,
            attrs={
                "title": f"metrotwin run of scenario {p.scenario.name}, variant {p.name}",
                "source": f"metrotwin {__version__}",
                "scenario": p.scenario.name,
                "variant": p.name,
                "history": f"{started.isoformat(timespec='seconds')} metrotwin run",
            },
            with_network=lead,
        )
        profile.add("output", time.perf_counter() - output_start)
        series = IndicatorSeries()
        if resume:
            try:
                meta = read_checkpoint(folder, p)
                copy_output_records(folder, writer, meta["records"])
            except BaseException:
                writer.close(success=False)  # its writer thread and file, before the error
                raise
            series = meta["series"]
            p.ctx.logger.info("variant %s: restarted at t = %g s on %d rank(s)", p.name, meta["t"], dec.size)
        interval = p.scenario.parallel.checkpoint_interval
        last_checkpoint = [p.ctx.clock.now]
        ok = False
        try:
            def on_output(t):
                with profile.stage("output"):
                    writer.append(t)
                with profile.stage("indicators"):
                    series.append(t, p.coupler.indicators())

            def checkpoint(t):
                records = writer.records
                armed = stop.armed if stop is not None else False
                if stop is not None:
                    stop.disarm()  # a Ctrl-C must not cut a checkpoint between its renames
                try:
                    with profile.stage("checkpoints"), writer.closed() as tile:
                        write_checkpoint(folder, p, t=t, records=records, series=series, tile=tile)
                finally:
                    if stop is not None:
                        stop.armed = armed
                last_checkpoint[0] = t
                p.ctx.logger.info("variant %s: checkpoint at t = %g s", p.name, t)

            def after_step(t, show):
                if show is not None:
                    show(t)
                if t >= p.ctx.clock.end - 1e-9:
                    return
                asked = stop is not None and stop.requested
                asked = bool(dec.allreduce_max(int(asked)))  # every rank of the group agrees
                if asked or (interval and t - last_checkpoint[0] >= interval - 1e-9):
                    checkpoint(t)
                if asked:
                    raise Checkpointed(
                        f"variant {p.name!r} saved a checkpoint at simulated time {t:g} s and "
                        f"stopped; continue with: metrotwin run SCENARIO -o {folder.parent.parent} --restart"
                    )

            loop_start, booked_before = time.perf_counter(), dict(profile.seconds)
            models_before = dict(p.coupler.wall_time)  # their set-up is booked already
            with _progress_bar(p, progress and lead) as show:
                p.coupler.run(on_output, lambda t: after_step(t, show))
            p.coupler.finalize()
            if lead:
                p.coupler.write_outputs(folder)
            in_loop = {m: s - models_before[m] for m, s in p.coupler.wall_time.items()}
            _split_run_loop(profile, booked_before, in_loop, time.perf_counter() - loop_start)
            with profile.stage("indicators"):
                indicators = p.coupler.indicators()
            ok = True
        finally:
            with profile.stage("output"):
                writer.close(success=ok)
        if dec.is_parallel:
            with profile.stage("output"):
                _write_master(p, folder)
        wall = time.perf_counter() - t0
        if not lead:
            dec.barrier()
            return
        write_json(folder / INDICATORS_FILE, {
            "scenario": p.scenario.name,
            "variant": p.name,
            "metrotwin_version": __version__,
            "models": {m: {k: ind.to_json() for k, ind in inds.items()} for m, inds in indicators.items()},
            "time_series": {"time": series.time, "values": series.values},
        })  # fmt: skip
        write_yaml(folder / RESOLVED_FILE, {
            "scenario": p.scenario.model_dump(mode="json"),
            "run": {
                "metrotwin_version": __version__,
                "variant": p.name,
                "seed": p.scenario.seed,
                "ranks": dec.size,
                "layout": list(dec.topology),
                "halo": dec.halo,
                "started": started.isoformat(timespec="seconds"),
                "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "wall_time_s": round(wall, 3),
                "model_order": [m.name for m in p.coupler.models],
                "model_wall_time_s": {k: round(v, 3) for k, v in p.coupler.wall_time.items()},
                "halo_exchange_s": round(getattr(dec, "halo_seconds", 0.0), 3),
                "interventions_cells_changed": p.interventions,
                "profile": profile.to_json(),
                "peak_rss_mib": round(peak_rss_mib(), 1),
            },
        })  # fmt: skip
        (folder / DONE_MARKER).touch()
        p.ctx.logger.info("variant %s finished in %.2f s", p.name, wall)
        dec.barrier()
    finally:
        if handler is not None:
            root.removeHandler(handler)
            handler.close()


def _split_run_loop(profile: StageProfile, booked_before: dict[str, float],
                    model_seconds: dict[str, float], loop: float) -> None:  # fmt: skip
    """Book the time-stepping loop (``loop`` s): each model's own time, and the coupler's
    remainder (exchanges, clock, progress bar): the loop less the models and less what the
    loop's outputs, indicators and checkpoints booked meanwhile."""
    in_loop = sum(profile.seconds.get(k, 0.0) - booked_before.get(k, 0.0)
                  for k in ("output", "indicators", "checkpoints"))  # fmt: skip
    for name, seconds in model_seconds.items():
        profile.add(f"model {name}", seconds)
    profile.add("coupling", max(0.0, loop - sum(model_seconds.values()) - in_loop))


def _write_master(p: PreparedVariant, folder: Path) -> None:
    """Gather where each rank's tile lies (a few numbers each) and write the master file."""
    dec = p.state.decomposition
    rows, cols = dec.glb_slices
    tiles = dec.gather_object((tile_name(dec.rank), (rows.start, rows.stop), (cols.start, cols.stop)))
    if dec.rank == 0:
        grid = global_grid(p.scenario)
        geotransform = f"{grid.west} {grid.resolution} 0 {grid.north} 0 {-grid.resolution}"
        write_master(folder / FIELDS_FILE, tiles, grid.x, grid.y, geotransform)
    dec.barrier()


class _progress_bar:
    """A rich progress bar of simulated time, with wall time and ETA. While the first step of
    a run with uncompiled kernels works (numba compiles them, a minute with the ETA at -:--),
    the bar says so; a spinner shows it is alive."""

    #: models whose kernels a bar of this process has seen compiled (the next bars are warm)
    compiled: set[str] = set()

    def __init__(self, p: PreparedVariant, enabled: bool):
        self.p, self.enabled = p, enabled
        self.cold: list[str] = []

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("sim {task.fields[sim]}"),
            TextColumn("wall"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            transient=False,
        )
        self.bar.__enter__()
        end = self.p.ctx.clock.end
        names = [m.name for m in self.p.coupler.models]
        self.cold = [n for n in uncompiled_models(names) if n not in self.compiled]
        description = self.p.name
        if self.cold:
            description += f" [dim](first run: compiling the {'/'.join(self.cold)} kernels)[/dim]"
        self.task = self.bar.add_task(description, total=end, sim=self._sim(0.0))
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


__all__ = ["MetrotwinError", "PreparedVariant", "prepare_variant", "run_scenario"]
