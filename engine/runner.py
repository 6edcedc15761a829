"""Run a scenario: every variant from the same city, into one run directory.

All validation happens before anything is written: the scenario, the city, the interventions
of every variant and the coupling of the models. Variants run in a staging folder inside the
output directory, moved into place only when the whole run succeeds, so a failed run leaves
no half-written output.
"""

from __future__ import annotations

import copy
import logging
import shutil
import tempfile
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
from metrotwin.hpc.decomposition import serial_decomposition
from metrotwin.indicators import IndicatorSeries
from metrotwin.interventions import apply_interventions
from metrotwin.output import (
    INDICATORS_FILE,
    LOG_FILE,
    RESOLVED_FILE,
    FIELDS_FILE,
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


def model_halo(scenario: Scenario) -> int:
    """Ghost cells the scenario's models need around a tile (the largest of their halos)."""
    return max((get_model(name).halo for name in scenario.models), default=0)


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
        forcing=Forcing(resolved, state.grid),
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


def run_scenario(scenario: Scenario, out_dir: Path, *, variants: list[str] | None = None,
                 progress: bool = True) -> dict[str, Path]:  # fmt: skip
    """Run the baseline and the variants (default: all); returns variant -> its folder.

    Under ``mpiexec`` with several ranks the variants run as an ensemble over groups of
    ranks, each group decomposing the grid (``metrotwin.hpc.ensemble``).
    """
    names = check_variant_names(scenario, variants)
    from metrotwin.hpc.decomposition import world

    comm = world()
    if comm is not None and comm.Get_size() > 1:
        from metrotwin.hpc.ensemble import run_ensemble

        return run_ensemble(scenario, Path(out_dir), names, progress=progress, comm=comm)
    prepared = prepare_variants(scenario, names)
    out_dir = Path(out_dir)
    with staged_output(out_dir) as staging:
        for p in prepared:
            run_variant(p, staging / p.name, progress=progress)
        return publish(staging, out_dir, [p.name for p in prepared])


class staged_output:
    """A staging folder inside ``out_dir``; on failure it goes, and so does ``out_dir`` if the
    run created it, so a failed run leaves nothing behind."""

    def __init__(self, out_dir: Path, staging: Path | None = None, created: bool | None = None):
        self.out_dir = out_dir
        self.created = (not out_dir.exists()) if created is None else created
        self.staging = staging

    def __enter__(self) -> Path:
        if self.staging is None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(prefix=".metrotwin-staging-", dir=self.out_dir))
        return self.staging

    def __exit__(self, kind, value, tb):
        if kind is not None and self.created:
            shutil.rmtree(self.out_dir, ignore_errors=True)
        shutil.rmtree(self.staging, ignore_errors=True)
        return False


def publish(staging: Path, out_dir: Path, names: list[str]) -> dict[str, Path]:
    """Move the finished variant folders from the staging folder into place."""
    results = {}
    for name in names:
        final = out_dir / name
        if final.exists():
            shutil.rmtree(final)
        (staging / name).rename(final)
        results[name] = final
    return results


def run_variant(p: PreparedVariant, folder: Path, *, progress: bool) -> None:
    """Run one prepared variant into ``folder``. In a decomposed run every rank of the group
    writes its tile; the group's first rank writes the master file, indicators and log."""
    dec = p.state.decomposition
    lead = dec.rank == 0
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
        ok = False
        try:
            def on_output(t):
                writer.append(t)
                series.append(t, p.coupler.indicators())

            with _progress_bar(p, progress and lead) as on_step:
                p.coupler.run(on_output, on_step)
            p.coupler.finalize()
            indicators = p.coupler.indicators()
            ok = True
        finally:
            writer.close(success=ok)
        if dec.is_parallel:
            _write_master(p, folder)
        wall = time.perf_counter() - t0
        if not lead:
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
                "started": started.isoformat(timespec="seconds"),
                "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "wall_time_s": round(wall, 3),
                "model_order": [m.name for m in p.coupler.models],
                "interventions_cells_changed": p.interventions,
            },
        })  # fmt: skip
        p.ctx.logger.info("variant %s finished in %.2f s", p.name, wall)
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
    """A rich progress bar of simulated time, with wall time and ETA."""

    def __init__(self, p: PreparedVariant, enabled: bool):
        self.p, self.enabled = p, enabled

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.bar = Progress(
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
        self.task = self.bar.add_task(self.p.name, total=end, sim=self._sim(0.0))
        return lambda t: self.bar.update(self.task, completed=t, sim=self._sim(t))

    def _sim(self, t: float) -> str:
        return self.p.ctx.clock.datetime_at(t).strftime("%H:%M:%S")

    def __exit__(self, *exc):
        if self.enabled:
            self.bar.__exit__(*exc)
        return False


__all__ = ["MetrotwinError", "PreparedVariant", "prepare_variant", "run_scenario"]
