"""Run a scenario: every variant from the same city, into one run directory.

All validation happens before anything is written: the scenario, the city, the interventions
of every variant and the coupling of the models. Variants run in a staging folder inside the
output directory, moved into place only when the whole run succeeds, so a failed run leaves
no half-written output.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from metrotwin import __version__
from metrotwin.city import build_city
from metrotwin.context import Clock, RunContext
from metrotwin.coupler import Coupler
from metrotwin.errors import MetrotwinError, ScenarioError
from metrotwin.forcing import Forcing
from metrotwin.indicators import IndicatorSeries
from metrotwin.interventions import apply_interventions
from metrotwin.output import (
    FIELDS_FILE,
    INDICATORS_FILE,
    LOG_FILE,
    RESOLVED_FILE,
    FieldWriter,
    write_json,
    write_yaml,
)
from metrotwin.registry import get_model
from metrotwin.scenario import Scenario
from metrotwin.state import CityState

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


def model_tiling(scenario: Scenario) -> tuple[int, int]:
    """(halo, block multiple) the scenario's models need of a tile: the largest halo and the
    least common multiple of the block sizes (over the variants too, which may change them)."""
    from metrotwin.city import global_grid

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
    return PreparedVariant(name, resolved, state, coupler, ctx, changed)


def prepare_variants(scenario: Scenario, names: list[str], decomposition=None) -> list[PreparedVariant]:
    """Build the city (this rank's tile), then every variant's state, models and coupling,
    and initialize the models: every input error surfaces here, before any output."""
    city = build_city(scenario, decomposition)
    prepared = [prepare_variant(scenario, name, city) for name in names]
    for p in prepared:
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


WORK_DIR = ".metrotwin-work"
DONE_MARKER = ".done"


def run_scenario(scenario: Scenario, out_dir: Path, *, variants: list[str] | None = None,
                 progress: bool = True, restart: bool = False, report: bool = True,
                 paraview: bool = False) -> dict[str, Path]:  # fmt: skip
    """Run the baseline and the variants (default: all); returns variant -> its folder.

    Variants run in ``OUT/.metrotwin-work`` and move into ``OUT`` together when all are done.
    With ``restart``, a variant that has a checkpoint there continues from it (on any number
    of ranks) and a finished one is kept. With several variants and ``report``, the
    comparison (``OUT/comparison/report.html``) is written at the end; ``paraview`` adds a
    ParaView time series to each variant's folder. Under ``mpiexec`` with several ranks the variants run
    as an ensemble over groups of ranks, each group decomposing the grid
    (``metrotwin.hpc.ensemble``).
    """
    names = check_variant_names(scenario, variants)
    from metrotwin.hpc.decomposition import world

    comm = world()
    if comm is not None and comm.Get_size() > 1:
        from metrotwin.hpc.ensemble import run_ensemble

        return run_ensemble(scenario, Path(out_dir), names, progress=progress, comm=comm,
                            restart=restart, report=report, paraview=paraview)  # fmt: skip
    prepared = prepare_variants(scenario, names)
    out_dir = Path(out_dir)
    with staged_output(out_dir, restart=restart) as work, stop_signals() as stop:
        for p in prepared:
            run_variant(p, work / p.name, progress=progress, restart=restart, stop=stop)
        results = publish(work, out_dir, [p.name for p in prepared])
    if paraview:
        from metrotwin.viz.paraview import write_paraview

        for folder in results.values():
            write_paraview(folder)
    if report:
        write_comparison(results, out_dir)
    return results


def write_comparison(results: dict[str, Path], out_dir: Path) -> Path | None:
    """The comparison report of a run with variants. The run's outputs are complete by
    then: a report that fails is a warning (retry with `metrotwin compare`), not an error."""
    if len(results) < 2:
        return None
    from metrotwin.compare import compare_runs

    try:
        return compare_runs(list(results.values()), out_dir / "comparison")
    except Exception as err:  # noqa: BLE001 - the report must never cost the user the run
        log.warning("the comparison report failed (%s); retry with: metrotwin compare %s", err, out_dir)
        return None


class staged_output:
    """The work folder ``OUT/.metrotwin-work``. On success it goes (its variants published);
    on failure it goes too, and so does ``OUT`` if the run created it — unless it holds a
    checkpoint to restart from, which is kept."""

    def __init__(self, out_dir: Path, *, restart: bool = False, lead: bool = True):
        self.out_dir = out_dir
        self.work = out_dir / WORK_DIR
        self.restart, self.lead = restart, lead
        self.created = not out_dir.exists()

    def __enter__(self) -> Path:
        if self.lead:
            if self.work.exists() and not self.restart:
                shutil.rmtree(self.work)  # an earlier, interrupted run: start afresh
            self.work.mkdir(parents=True, exist_ok=True)
        return self.work

    def __exit__(self, kind, value, tb):
        if not self.lead:
            return False
        from metrotwin.checkpoint import has_checkpoint

        keep = kind is not None and any(has_checkpoint(f) for f in self.work.iterdir() if f.is_dir())
        if keep:
            return False
        if kind is not None and self.created:
            shutil.rmtree(self.out_dir, ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)
        return False


class stop_signals:
    """SIGTERM and SIGUSR1 (what Slurm sends before the time limit) ask the run to save a
    checkpoint at the next coupling step and stop."""

    def __enter__(self):
        import signal

        self.requested = False
        self._previous = {}
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: no signal handling
                pass
        return self

    def _handle(self, signum, frame):
        self.requested = True

    def __exit__(self, *exc):
        import signal

        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


def publish(staging: Path, out_dir: Path, names: list[str]) -> dict[str, Path]:
    """Move the finished variant folders from the work folder into place."""
    results = {}
    for name in names:
        final = out_dir / name
        if final.exists():
            shutil.rmtree(final)
        for leftover in ("checkpoint", DONE_MARKER, "checkpoint.old", "checkpoint.part"):
            target = staging / name / leftover
            shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
        (staging / name).rename(final)
        results[name] = final
    return results


def run_variant(p: PreparedVariant, folder: Path, *, progress: bool, restart: bool = False,
                stop: stop_signals | None = None) -> None:  # fmt: skip
    """Run one prepared variant into ``folder``. In a decomposed run every rank of the group
    writes its tile; the group's first rank writes the master file, indicators and log.

    With ``restart`` a finished variant is left as it is, and one with a checkpoint continues
    from it. A checkpoint is saved every ``parallel.checkpoint_interval`` of simulated time,
    and when ``stop`` reports a signal (then the run raises Checkpointed).
    """
    from metrotwin.checkpoint import (
        copy_output_records,
        has_checkpoint,
        read_checkpoint,
        write_checkpoint,
    )
    from metrotwin.errors import Checkpointed

    dec = p.state.decomposition
    lead = dec.rank == 0
    if restart and (folder / DONE_MARKER).exists():
        return
    resume = restart and has_checkpoint(folder)
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
    try:
        p.ctx.logger.info("variant %s: interventions %s", p.name, p.interventions or "none")
        if dec.is_parallel:
            from metrotwin.hpc.parallel_output import tile_name

            fields_path = folder / tile_name(dec.rank)
        else:
            fields_path = folder / FIELDS_FILE
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
        series = IndicatorSeries()
        if resume:
            meta = read_checkpoint(folder, p)
            series = meta["series"]
            copy_output_records(folder, writer, meta["records"])
            p.ctx.logger.info("variant %s: restarted at t = %g s on %d rank(s)", p.name, meta["t"], dec.size)
        interval = p.scenario.parallel.checkpoint_interval
        last_checkpoint = [p.ctx.clock.now]
        ok = False
        try:
            def on_output(t):
                writer.append(t)
                series.append(t, p.coupler.indicators())

            def checkpoint(t):
                records = writer.records
                with writer.closed() as tile:
                    write_checkpoint(folder, p, t=t, records=records, series=series, tile=tile)
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

            with _progress_bar(p, progress and lead) as show:
                p.coupler.run(on_output, lambda t: after_step(t, show))
            p.coupler.finalize()
            indicators = p.coupler.indicators()
            ok = True
        finally:
            writer.close(success=ok)
        if dec.is_parallel:
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
            },
        })  # fmt: skip
        (folder / DONE_MARKER).touch()
        p.ctx.logger.info("variant %s finished in %.2f s", p.name, wall)
        dec.barrier()
    finally:
        if handler is not None:
            root.removeHandler(handler)
            handler.close()


def _write_master(p: PreparedVariant, folder: Path) -> None:
    """Gather where each rank's tile lies (a few numbers each) and write the master file."""
    from metrotwin.hpc.parallel_output import tile_name, write_master

    dec = p.state.decomposition
    rows, cols = dec.glb_slices
    tiles = dec.gather_object((tile_name(dec.rank), (rows.start, rows.stop), (cols.start, cols.stop)))
    if dec.rank == 0:
        from metrotwin.city import global_grid

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

        from metrotwin.registry import uncompiled_models

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
