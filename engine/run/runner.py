"""Run a scenario: every variant from the same city, into one run directory, on a
communicator (a serial run is an ensemble of one group of one rank).

All validation happens before anything is written: the output folder (locked, writable, not
a finished run), the scenario, the city, the interventions of every variant and the coupling
of the models. Variants run in a staging folder inside the output directory, moved into place
only when the whole run succeeds, so a failed run leaves no half-written output. The stages:
``ScenarioRun`` (folder -> set-up -> variants -> publishing -> drawings), ``VariantRun``
(``metrotwin.run.variant_run``: one variant's time loop and files) and ``stop_signals``
(``metrotwin.run.stop``).

A risk run (a scenario with ``hazards:``) runs units instead of variants: every (variant,
member) of ``metrotwin.run.risk_members.RiskPlan``, each an ordinary run into
``OUT/<variant>/members/<member id>``, over the same groups of ranks, staged, kept on a stop,
continued with ``--restart`` and published as variants are. Once all are published, rank 0
hands each variant's members (in sorted order, whatever the ranks) to the summarizer,
``summarize(variant folder, members, hazards)``, which writes the variant's probabilistic
results into its folder.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import math
import time
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from metrotwin.city.build import build_city, global_grid, global_shape
from metrotwin.city.interventions import apply_interventions
from metrotwin.city.state import CityState
from metrotwin.errors import Checkpointed, MetrotwinError, OutputError, ScenarioError
from metrotwin.hpc.ensemble import (
    abort,
    agree_on_error,
    communicator,
    decompose,
    group_of,
    meet_or_abort,
    variants_of,
)
from metrotwin.run.assimilation import assimilating_coupler
from metrotwin.run.context import Clock, RunContext
from metrotwin.run.coupler import Coupler
from metrotwin.run.forcing import Forcing
from metrotwin.run.outdir import OutputFolder, environment_error
from metrotwin.run.profile import StageProfile
from metrotwin.results.risk.members import RiskMember
from metrotwin.run.registry import get_model
from metrotwin.run.risk_members import RiskPlan
from metrotwin.run.stop import stop_signals, stopped_error
from metrotwin.run.variant_run import VariantRun
from metrotwin.scenario.hazards import Hazards
from metrotwin.scenario.scenario import Scenario

log = logging.getLogger("metrotwin")

#: ``rain_of(unit, city)``: rain made in memory for a unit, ``(times s, rates m/s)``, or None
RainOf = Callable[[str, CityState], "tuple[np.ndarray, np.ndarray] | None"]

#: ``summarize(variant folder, its members in sorted order, hazards) -> headline numbers``:
#: writes a risk run's probabilistic results of one variant into its folder
Summarizer = Callable[[Path, list[RiskMember], Hazards], dict]
#: the module whose ``summarize_variant`` is a risk run's summarizer by default
SUMMARY_MODULE = "metrotwin.results.risk.summary"


def default_summarizer() -> Summarizer | None:
    """``metrotwin.results.risk.summary.summarize_variant``, or None where this build lacks it
    (looked up when a risk run needs it, so that the engine runs without it)."""
    if importlib.util.find_spec(SUMMARY_MODULE) is None:
        return None
    return importlib.import_module(SUMMARY_MODULE).summarize_variant


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


def prepare_variant(scenario: Scenario, name: str, city: CityState, logger=None, *,
                    resolved: Scenario | None = None, rain=None,
                    observations=None) -> PreparedVariant:  # fmt: skip
    """Resolve a variant (or take its ``resolved`` scenario: a risk run's member), apply its
    interventions to a copy of the city, and check coupling. ``rain``: rain made in memory
    for its forcing (``Forcing``'s ``rain``), in place of the scenario's. ``observations``:
    an assimilated variant's readings (an ``ObservationSet``, a live twin's), instead of
    those its scenario's files hold."""
    resolved = resolved if resolved is not None else scenario.resolve_variant(name)
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
        forcing=Forcing(resolved, state.grid, state.global_grid, rain=rain),
        scenario=resolved,
        seed=resolved.seed,
        logger=(logger or log).getChild(name),
    )
    coupler = Coupler(models, state, ctx)
    if resolved.assimilation is not None:  # issue 18: an ensemble kept in step with sensors
        coupler = assimilating_coupler(resolved, state, ctx, observations)
    return PreparedVariant(name, resolved, state, coupler, ctx, changed)


def prepare_variants(scenario: Scenario, names: list[str], decomposition=None,
                     resolve: Callable[[str], Scenario] | None = None,
                     later: Collection[str] = (), rain_of: RainOf | None = None,
                     ) -> list[PreparedVariant | PendingUnit]:  # fmt: skip
    """Build the city (this rank's tile), then every variant's state, models and coupling,
    and initialize the models: every input error surfaces here, before any output.
    ``resolve(name)``: the scenario unit ``name`` runs (default: the variant's). The names in
    ``later`` (a risk run's further members of a variant prepared here) are set up only when
    they run (``PendingUnit``), so that a group holds one member's state at a time.
    ``rain_of(name, city)``: rain made in memory for unit ``name`` (None: its scenario's)."""
    city = CitySource(scenario, decomposition, resolve or scenario.resolve_variant, rain_of)
    prepared = {name: city.set_up(name) for name in names if name not in later}
    for p in prepared.values():
        with p.profile.stage("model set-up"):
            p.coupler.initialize()  # allocates what the models write, then initializes them
    return [prepared[n] if n in prepared else PendingUnit(n, city) for n in names]


class CitySource:
    """The city of a group's units, built once (this rank's tile), and each unit's copy of
    it set up: ``set_up(name)`` resolves the unit's scenario and prepares its state, forcing,
    models and coupling (``prepare_variant``), its models not yet initialized."""

    def __init__(self, scenario: Scenario, decomposition, resolve: Callable[[str], Scenario],
                 rain_of: RainOf | None = None):  # fmt: skip
        self.scenario, self.resolve, self.rain_of = scenario, resolve, rain_of
        start = time.perf_counter()
        self.city = build_city(scenario, decomposition)
        self.seconds = time.perf_counter() - start

    def set_up(self, name: str) -> PreparedVariant:
        profile = StageProfile()
        profile.add("city (shared by the variants)", self.seconds)
        with profile.stage("variant set-up (interventions, forcing)"):
            rain = self.rain_of(name, self.city) if self.rain_of is not None else None
            p = prepare_variant(self.scenario, name, self.city, resolved=self.resolve(name),
                                rain=rain)  # fmt: skip
        p.profile = profile
        return p


@dataclass
class PendingUnit:
    """A unit prepared when it runs (``prepare()``): a risk run's member of a variant whose
    first member was prepared with the others (so the city, the variant's interventions and
    its coupling are known good, and the member's scenario was validated up front)."""

    name: str
    city: CitySource

    def prepare(self) -> PreparedVariant:
        p = self.city.set_up(self.name)
        with p.profile.stage("model set-up"):
            p.coupler.initialize()
        return p


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
                 comm=None, summarize: Summarizer | None = None) -> dict[str, Path]:  # fmt: skip
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

    ``comm`` (default ``metrotwin.hpc.ensemble.communicator()``: MPI's world under
    ``mpiexec``, else a one-rank ``SerialComm``) runs the variants as an ensemble over groups
    of its ranks, each group decomposing the grid; a serial run is the ensemble of one
    group of one rank. Each variant's stage times are in its ``scenario.resolved.yaml``
    (``run.profile``); ``profile`` gets the stages after the variants (publishing, ParaView,
    report), and ``working(what)`` (a context manager, e.g. a spinner) wraps the report.

    A risk run (``scenario.hazards``) runs every (variant, member) into
    ``OUT/<variant>/members/<member id>`` and then calls ``summarize`` (default:
    ``default_summarizer()``) once per variant on rank 0; it returns variant -> its folder.
    """
    names = check_variant_names(scenario, variants)
    run = ScenarioRun(scenario, out_dir, names, communicator() if comm is None else comm,
                      progress=progress, restart=restart, overwrite=overwrite,
                      drawers=Drawers(report, paraview, working or _quietly),
                      profile=profile if profile is not None else StageProfile())  # fmt: skip
    run.summarize = summarize
    return run.run()


@dataclass
class Drawers:
    """What draws a run's results, from above the engine: ``report(variant folders,
    comparison folder)``, ``paraview(variant folder, **piece)`` (None: not drawn) and
    ``working(what)``, a context manager around the report (e.g. a spinner)."""

    report: Callable[[list[Path], Path], Path] | None = None
    paraview: Callable[..., object] | None = None
    working: Callable[[str], AbstractContextManager] | None = None


class ScenarioRun:
    """One run of a scenario's variants on communicator ``comm``: the output folder (rank 0
    locks and checks it, every rank raises its refusal) -> the set-up of each group's
    variants (an input error is raised on every rank, nothing written) -> the variants ->
    publishing (or, stopped by a signal, keeping what can be continued) -> the drawings.

    A failure that is not an input error ends the run: on one rank it is raised (a full disk
    as one message, with how to continue), on several ``abort`` ends every rank with it.
    """

    def __init__(self, scenario: Scenario, out_dir: Path, names: list[str], comm, *,
                 progress: bool, restart: bool, overwrite: bool, drawers: Drawers,
                 profile: StageProfile):  # fmt: skip
        self.scenario, self.names, self.comm = scenario, list(names), comm
        self.progress, self.restart = progress, restart
        self.drawers, self.profile = drawers, profile
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.lead = self.rank == 0  # rank 0 owns the output folder
        #: a risk run's members, each resolved (an error in one is found before any output)
        self.plan = RiskPlan(scenario, self.names) if scenario.hazards is not None else None
        #: what runs: the variants, or a risk run's (variant, member) units
        self.units = self.plan.units if self.plan is not None else list(self.names)
        self.folder = OutputFolder(out_dir, self.units, restart=restart, overwrite=overwrite,
                                   comparison=drawers.report is not None)  # fmt: skip
        self.summarize: Summarizer | None = None  # a risk run's; None: default_summarizer()
        self.opened = False
        self.outcome = "failed"
        self.done: list[str] = []  # units published by the interrupted run this continues
        self.ran: dict[str, object] = {}  # unit -> the decomposition it ran on, on this rank

    def run(self) -> dict[str, Path]:
        self.done = self._open_folder()
        try:
            units = self._run_variants(self.done)
            results = units if self.plan is None else {
                v: self.folder.path / v for v in self.plan.variants}  # fmt: skip
            self._draw(units, results)
        finally:
            self._close()  # the folder stays locked until the report is written
        return results

    # -- the stages ------------------------------------------------------------------------

    def _open_folder(self) -> list[str]:
        """Lock and check the output folder before the city is built; returns the variants
        an interrupted run this one continues has published."""
        error = None
        if self.lead:
            try:
                self.folder.open()
                self.opened = True
                self._check_kept_members()
            except MetrotwinError as err:
                error = err
                if self.opened:  # a restart refused: what it would continue stays
                    self.folder.close("stopped")
            except BaseException as err:
                self._fail(err)
        refusal = self.comm.bcast(None if error is None else str(error), root=0)
        if refusal is not None:
            raise error if error is not None else OutputError(refusal)
        return self.comm.bcast(self.folder.done, root=0)

    def _check_kept_members(self) -> None:
        """A restart of a risk run keeps the members published before only where they are
        the members of this scenario's hazards; else OutputError saying what changed."""
        if self.plan is None:
            return
        for unit in self.folder.done:
            change = self.plan.kept_differs(unit, self.folder.path / unit)
            if change is not None:
                raise OutputError(
                    f"{self.folder.path / unit}: this member was run with other hazards than "
                    f"the scenario's ({change}); continue with the scenario the run started "
                    f"with, or start again with --overwrite instead of --restart")

    def _run_variants(self, done: list[str]) -> dict[str, Path]:
        """Prepare and run this rank's variants, then publish them, or keep what can be
        continued if a signal or Ctrl-C stopped the run; returns unit -> its folder."""
        stopped = None
        with stop_signals() as stop:
            try:
                prepared = self._prepare(done)
                for p in prepared:
                    self._run_variant(p, stop)
            except Checkpointed as err:
                stopped = err
            except KeyboardInterrupt as err:  # a second Ctrl-C
                if self.size > 1:  # the other ranks may be waiting on this one
                    self._fail(err)
                stopped = err
            stop.disarm()  # from here a Ctrl-C waits for the variants to be in place
            return self._publish(stopped, stop)

    def _prepare(self, done: list[str]) -> list[PreparedVariant | PendingUnit]:
        """This rank's group and its variants, prepared; every input error is found on
        every rank before anything is written."""
        todo = [n for n in self.units if n not in done] or self.units[:1]  # (a group needs one)
        colour = group_of(self.rank, self.size, len(todo))
        group = self.comm.Split(colour, self.rank)
        mine = [n for n in variants_of(colour, self.size, todo) if n not in done]
        error, prepared = None, []
        try:
            prepared = self._prepare_group(group, mine)
        except MetrotwinError as err:
            error = err
        except Exception as err:  # a bug: the others may wait in a collective
            self._fail(err)
        meet_or_abort(self.comm, self.rank, error)
        agree_on_error(self.comm, error)
        return prepared

    def _prepare_group(self, group, names: list[str]) -> list[PreparedVariant | PendingUnit]:
        if not names:
            return []
        whole = [m for m in self.scenario.models if not get_model(m).decomposable]
        if whole and group.Get_size() > 1:
            raise MetrotwinError(
                f"model(s) {', '.join(whole)} cannot run on a grid split over ranks yet; run "
                f"this scenario on at most {len(self.units)} rank(s), one per variant"
            )
        halo, multiple = model_tiling(self.scenario)
        try:
            dec = decompose(group, global_shape(self.scenario), halo,
                            self.scenario.parallel.layout, multiple)  # fmt: skip
        except ValueError as err:  # a layout that does not fit the ranks
            raise MetrotwinError(f"parallel.layout: {err}") from None
        if self.plan is None:
            return prepare_variants(self.scenario, names, dec)
        firsts = {n.split("/")[0]: n for n in reversed(names)}  # each variant's first member
        later = set(names) - set(firsts.values())
        return prepare_variants(self.scenario, names, dec, self.plan.scenario_of, later,
                                self.plan.rain_of)  # fmt: skip

    def _run_variant(self, p: PreparedVariant | PendingUnit, stop: stop_signals) -> None:
        try:
            if isinstance(p, PendingUnit):
                p = p.prepare()
            self.ran[p.name] = p.state.decomposition  # where its ParaView pieces are
            VariantRun(p, self.folder.work / p.name, progress=self.progress,
                       restart=self.restart, stop=stop).run()  # fmt: skip
        except (Checkpointed, KeyboardInterrupt):
            raise
        except BaseException as err:  # the other ranks may be waiting on this one
            self._fail(err)

    def _publish(self, stopped: BaseException | None, stop: stop_signals) -> dict[str, Path]:
        """Rank 0 moves the variants into place; where a group stopped for a signal (which
        stops the job: the others finished or stopped too), every rank raises instead."""
        said = self.comm.allgather((None if stopped is None else str(stopped),
                                    isinstance(stopped, Checkpointed),
                                    stop.interrupted or isinstance(stopped, KeyboardInterrupt)))
        if any(message is not None for message, _, _ in said):
            raise self._keep_what_can_continue(said, stop)
        results, failed = {}, None
        if self.lead:
            try:
                with self.profile.stage("publish"):
                    results = self.folder.publish(self.units)
                failed = self._summarize()
                # a summary that failed keeps the work folder's record of the published
                # members: --restart makes the summaries again without running them
                self.outcome = "done" if failed is None else "stopped"
            except BaseException as err:
                self._fail(err)
        results = self.comm.bcast(results, root=0)
        if self.plan is not None and (failed := self.comm.bcast(failed, root=0)) is not None:
            raise MetrotwinError(failed)  # on every rank: none waits for the others
        return results

    def _summarize(self) -> str | None:
        """A risk run's summary of each variant, on rank 0 once its members are published;
        returns why one could not be made (None: all made, or not a risk run)."""
        if self.plan is None:
            return None
        summarize = self.summarize or default_summarizer()
        if summarize is None:
            log.warning("no risk summary in this metrotwin (%s is missing): the members are "
                        "in %s/<variant>/members, not summarized", SUMMARY_MODULE,
                        self.folder.path)  # fmt: skip
            return None
        for variant in self.plan.variants:
            folder = self.folder.path / variant
            try:
                with self.profile.stage("risk summary"):
                    summarize(folder, self.plan.members_of(variant, folder), self.plan.hazards)
            except Exception as err:  # noqa: BLE001 - the members stay; the run says why
                log.debug("the risk summary of %s failed", folder, exc_info=True)
                cause = (str(err) if isinstance(err, MetrotwinError)
                         else f"{type(err).__name__}: {err}")  # fmt: skip
                return (f"the members of the run are in {self.folder.path}, but the risk summary "
                        f"of variant {variant!r} could not be made ({cause}); retry with: "
                        f"metrotwin run SCENARIO -o {self.folder.path} --restart")
        return None

    def _keep_what_can_continue(self, said: list[tuple], stop: stop_signals) -> Checkpointed:
        """Rank 0 publishes the finished variants and keeps the checkpoints; returns (on
        every rank) the error saying what was kept and how to continue. ``said``: each
        rank's (message, whether it saved a checkpoint, whether it was interrupted)."""
        error = None
        if self.lead:
            self.outcome = "stopped"
            messages = [message for message, checkpointed, _ in said if checkpointed]
            stop.interrupted = any(flag for _, _, flag in said)
            cause = Checkpointed("; ".join(messages)) if messages else KeyboardInterrupt()
            try:
                error = stopped_error(cause, self.folder, stop)
            except BaseException as err:
                self._fail(err)
        return self.comm.bcast(error, root=0)

    def _draw(self, units: dict[str, Path], results: dict[str, Path]) -> None:
        """ParaView series (each rank its pieces of the units it ran; rank 0 those of units
        an earlier run finished) and, on rank 0, the report of the variants ``results``."""
        paraview, report = self.drawers.paraview, self.drawers.report
        if paraview is not None:
            with self.profile.stage("paraview"):
                try:
                    for path, piece in self._paraview_pieces(units):
                        paraview(path, **piece)
                except BaseException as err:
                    self._fail(err)
        self.comm.Barrier()
        failed = None
        if report is not None and self.lead:
            what = (f"writing the comparison report of {len(results)} variants"
                    if len(results) > 1 else f"writing the report of {next(iter(results))}")
            try:
                with self.profile.stage("report"), self.drawers.working(what):
                    write_comparison(results, self.folder.path, report)
            except MetrotwinError as err:  # raised after the barrier: the others must not hang
                failed = err
            except BaseException as err:
                self._fail(err)
        self.comm.Barrier()
        if failed is not None:
            raise failed

    def _paraview_pieces(self, results: dict[str, Path]):
        """(variant folder, piece) of each ParaView series this rank writes."""
        for name, path in results.items():
            dec = self.ran.get(name)
            if dec is not None and dec.is_parallel:
                yield path, {"topology": dec.topology, "rank": dec.rank}
            elif dec is not None or (self.lead and name in self.done):
                yield path, {}

    # -- ending ----------------------------------------------------------------------------

    def _fail(self, err: BaseException):
        """End the run for ``err`` (not an input error all ranks agreed on): with several
        ranks, ``abort`` ends them all; alone, it is raised, a machine's error (a full disk)
        as one message saying what is kept and how to continue."""
        env = environment_error(err, self.folder.path)
        if self.size > 1:
            abort(self.comm, self.rank, env or err)
        if env is None:
            raise err
        self._close()
        if self.outcome != "done" and self.folder.can_resume():
            env = OutputError(f"{env}; the checkpoint in {self.folder.work} is kept: make "
                              f"room, then continue with: metrotwin run SCENARIO -o "
                              f"{self.folder.path} --restart")  # fmt: skip
        raise env from None

    def _close(self) -> None:
        if self.lead and self.opened:
            self.folder.close(self.outcome)


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


__all__ = ["MetrotwinError", "PreparedVariant", "prepare_variant", "run_scenario"]
