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


def prepare_variant(scenario: Scenario, name: str, city: CityState, logger=None) -> PreparedVariant:
    """Resolve a variant, apply its interventions to a copy of the city, and check coupling."""
    resolved = scenario.resolve_variant(name)
    state = CityState(city.grid, city.ds.copy(deep=True))
    rng = np.random.default_rng(np.random.SeedSequence([resolved.seed, 0x1F7]))
    try:
        changed = apply_interventions(state, resolved.interventions, rng)
    except ValueError as err:
        raise ScenarioError(str(err), source=f"variant {name!r}") from None
    models = [get_model(m)(params) for m, params in resolved.models.items()]
    period = resolved.period
    clock = Clock(start=period.start, end=period.seconds,
                  coupling_interval=period.coupling_interval, output_interval=period.output_interval)  # fmt: skip
    halo = max((m.halo for m in models), default=0)
    ctx = RunContext(
        grid=state.grid,
        decomposition=serial_decomposition(state.grid.shape, halo=halo),
        clock=clock,
        forcing=Forcing(resolved, state.grid),
        scenario=resolved,
        seed=resolved.seed,
        logger=(logger or log).getChild(name),
    )
    coupler = Coupler(models, state, ctx)
    return PreparedVariant(name, resolved, state, coupler, ctx, changed)


def run_scenario(scenario: Scenario, out_dir: Path, *, variants: list[str] | None = None,
                 progress: bool = True) -> dict[str, Path]:  # fmt: skip
    """Run the baseline and the variants (default: all); returns variant -> its folder."""
    names = variants or scenario.variant_names
    for name in names:
        if name not in scenario.variant_names:
            raise ScenarioError(
                f"unknown variant {name!r}; this scenario has: {', '.join(scenario.variant_names)}"
            )
    city = build_city(scenario)
    prepared = [prepare_variant(scenario, name, city) for name in names]
    for p in prepared:
        p.coupler.allocate()
        p.coupler.initialize()  # model set-up errors surface here, before any output

    out_dir = Path(out_dir)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".metrotwin-staging-", dir=out_dir))
    try:
        for p in prepared:
            _run_variant(p, staging / p.name, progress=progress)
        results = {}
        for p in prepared:
            final = out_dir / p.name
            if final.exists():
                shutil.rmtree(final)
            (staging / p.name).rename(final)
            results[p.name] = final
        return results
    except BaseException:
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _run_variant(p: PreparedVariant, folder: Path, *, progress: bool) -> None:
    folder.mkdir(parents=True)
    handler = logging.FileHandler(folder / LOG_FILE, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("metrotwin")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    try:
        p.ctx.logger.info("variant %s: interventions %s", p.name, p.interventions or "none")
        writer = FieldWriter(
            folder / FIELDS_FILE,
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
        )
        series = IndicatorSeries()
        ok = False
        try:
            def on_output(t):
                writer.append(t)
                series.append(t, p.coupler.indicators())

            with _progress_bar(p, progress) as on_step:
                p.coupler.run(on_output, on_step)
            p.coupler.finalize()
            indicators = p.coupler.indicators()
            ok = True
        finally:
            writer.close(success=ok)
        wall = time.perf_counter() - t0
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
                "started": started.isoformat(timespec="seconds"),
                "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "wall_time_s": round(wall, 3),
                "model_order": [m.name for m in p.coupler.models],
                "interventions_cells_changed": p.interventions,
            },
        })  # fmt: skip
        p.ctx.logger.info("variant %s finished in %.2f s", p.name, wall)
    finally:
        root.removeHandler(handler)
        handler.close()


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
