"""The ``metrotwin`` command: init, run, validate, models, inspect, compare, render, animate.

User errors end with one message on stderr and exit status 2, never a traceback. Each command
imports what it needs inside its function, so that ``metrotwin --help`` answers without
importing numpy, xarray, pydantic or matplotlib (elsewhere in the package an import inside a
function says why in a comment: tests/test_architecture.py checks it).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

from metrotwin.errors import DataSourceError, MetrotwinError, ScenarioError

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="metrotwin: %(levelname)s: %(message)s")
    warnings.showwarning = _show_warning
    for handler in logging.getLogger().handlers:  # the run's INFO goes to run.log, not the screen
        handler.setLevel(logging.WARNING)
    from metrotwin.errors import Checkpointed

    try:
        return args.func(args) or 0
    except Checkpointed as err:
        if _is_root():
            print(f"metrotwin: {err}", file=sys.stderr)
        return err.exit_code
    except MetrotwinError as err:
        if _is_root():  # under MPI every rank has the same message: say it once
            print(f"metrotwin: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("metrotwin: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        from metrotwin.run.outdir import environment_error

        env = environment_error(err, Path(getattr(args, "out", None) or "."))
        if env is not None:  # the machine's fault (disk full, read-only), not metrotwin's
            print(f"metrotwin: error: {env}", file=sys.stderr)
            return EXIT_USAGE
        _report_crash(err, write_log=args.command != "validate")
        return 1


#: where the traceback of an internal error goes, tried in this order: never the working
#: directory (it may be read-only, or the user's own folder)
def _crash_folders() -> list[Path]:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folders = [Path(cache) / "metrotwin"]
    try:
        folders.append(Path(tempfile.gettempdir()))
    except (OSError, FileNotFoundError):  # no usable temporary folder at all
        pass
    return folders


def _report_crash(err: BaseException, *, write_log: bool) -> None:
    """One message for a bug in metrotwin (not in the user's input), with the traceback in a
    file; never raises itself. ``validate`` writes no file: METROTWIN_DEBUG=1 shows it."""
    text = traceback.format_exc()
    where = None
    if write_log:
        name = f"metrotwin-crash-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
        for folder in _crash_folders():
            try:
                folder.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(text, encoding="utf-8")
            except OSError:
                continue
            where = folder / name
            break
    if os.environ.get("METROTWIN_DEBUG"):
        print(text, file=sys.stderr)
        details = "the traceback is above"
    elif where is not None:
        details = f"details in {where}"
    else:
        details = "set METROTWIN_DEBUG=1 to see the traceback"
    print(f"metrotwin: internal error ({err!r}); {details}. Please report it.", file=sys.stderr)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings read as one plain line to the user, without the code that raised them."""
    if _is_root():
        print(f"metrotwin: warning: {message}", file=sys.stderr)


def _is_root() -> bool:
    from metrotwin.hpc.decomposition import is_root

    return is_root()


_FORCE_HELP = ("accept a scenario whose estimate exceeds this machine's available memory or "
               "the step limit (see the estimate 'metrotwin validate' prints)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metrotwin",
        description="Urban digital twin: coupled flood, heat and mobility what-if scenarios.",
    )
    from metrotwin import __version__

    parser.add_argument("--version", action="version", version=f"metrotwin {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario (default: the built-in demo)")
    run.add_argument("scenario", nargs="?", help="scenario YAML file (default: the demo)")
    run.add_argument("-o", "--out", help="output folder (default: runs/<scenario name>)")
    run.add_argument("--variant", action="append", help="run only this variant (repeatable)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--no-report", action="store_true",
                     help="skip the comparison report of the variants (metrotwin compare makes it later)")
    run.add_argument("--paraview", action="store_true",
                     help="also write a ParaView time series (paraview/fields.pvd) per variant")
    run.add_argument("--restart", action="store_true",
                     help="continue the interrupted run in OUT from its checkpoints, keeping its "
                          "finished variants (after Ctrl-C, a signal or a crash); exit status 2 "
                          "if OUT holds nothing to continue")
    run.add_argument("--overwrite", action="store_true",
                     help="replace the variant folders of an earlier run in OUT (only folders "
                          "metrotwin wrote; without it a finished run is refused)")
    run.add_argument("--profile", action="store_true",
                     help="print where the time and memory went, stage by stage (also kept in "
                          "each variant's scenario.resolved.yaml)")
    run.add_argument("--layout", nargs=2, type=int, metavar=("PY", "PX"),
                     help="ranks along y and x of each variant's grid under MPI (overrides the "
                          "scenario's parallel.layout)")
    run.add_argument("--force", action="store_true", help=_FORCE_HELP)
    run.set_defaults(func=_run)

    validate = sub.add_parser("validate", help="check a scenario file without running it")
    validate.add_argument("scenario")
    validate.add_argument("--cells", action="store_true",
                          help="build the city and show how many cells each intervention of each "
                               "variant selects and changes")  # fmt: skip
    validate.add_argument("--force", action="store_true", help=_FORCE_HELP)
    validate.set_defaults(func=_validate)
    models = sub.add_parser("models", help="list the installed models and their variables")
    models.set_defaults(func=_models)

    inspect = sub.add_parser("inspect", help="show a scenario's domain and layers, save quick-looks")
    inspect.add_argument("scenario", nargs="?")
    inspect.add_argument("-o", "--out", default="inspect", help="folder for the quick-look PNGs")
    inspect.set_defaults(func=_inspect)

    compare = sub.add_parser(
        "compare", help="compare the variants of runs: report.html, comparison.nc, indicators.csv")
    compare.add_argument("runs", nargs="+", metavar="RUN_DIR",
                         help="a run directory (all its variants) or variant folders")
    compare.add_argument("-o", "--out", help="output folder (default: RUN_DIR/comparison)")
    compare.add_argument("--no-3d", action="store_true",
                         help="leave the 3D views out of the report (faster)")
    compare.set_defaults(func=_compare)

    render = sub.add_parser("render", help="3D pictures (PNG) of a run's variants")
    render.add_argument("run", metavar="RUN_DIR", help="a run directory or one variant folder")
    render.add_argument("--time", default="peak",
                        help="'peak' (default), 'end', a clock time 08:30, or a time since the "
                             "start ('90 min')")  # fmt: skip
    render.add_argument("--view", default="overview",
                        help="camera: overview (default), top, or a district's name from the run "
                             "(e.g. oldtown; any case)")  # fmt: skip
    render.add_argument("--theme", default="auto", help="auto (default), city, flood or heat")
    render.add_argument("--size", default="1024x768", help="image size WIDTHxHEIGHT (pixels)")
    render.add_argument("-o", "--out", help="output folder (default: each variant's renders/)")
    render.set_defaults(func=_render)

    animate = sub.add_parser("animate", help="animations (MP4 or GIF) of a run's variants")
    animate.add_argument("run", metavar="RUN_DIR", help="a run directory or one variant folder")
    animate.add_argument("--view", default="overview",
                         help="camera: overview (default), top, or a district's name from the run "
                             "(e.g. oldtown; any case)")  # fmt: skip
    animate.add_argument("--theme", default="auto", help="auto (default), city, flood or heat")
    animate.add_argument("--format", default="mp4", choices=["mp4", "gif"], dest="fmt")
    animate.add_argument("--fps", type=float, default=2.0, help="frames per second (default 2)")
    animate.add_argument("--size", default="800x600", help="frame size WIDTHxHEIGHT (pixels)")
    animate.add_argument("-o", "--out", help="output folder (default: each variant's renders/)")
    animate.set_defaults(func=_animate)
    slurm = sub.add_parser("slurm", help="write a Slurm job script that runs a scenario and chains itself")
    slurm.add_argument("scenario")
    slurm.add_argument("--nodes", type=int, required=True)
    slurm.add_argument("--time", required=True, help="wall time per job, HH:MM:SS or D-HH:MM:SS")
    slurm.add_argument("--partition")
    slurm.add_argument("--account")
    slurm.add_argument("--tasks-per-node", type=int, default=32, help="MPI ranks per node (default 32)")
    slurm.add_argument("-o", "--out", help="output folder (default: runs/<scenario name>)")
    slurm.set_defaults(func=_slurm)
    live = sub.add_parser("live", help="follow a sensor feed over MQTT: assimilate, forecast "
                          "and publish a nowcast every coupling interval (issue 20)")
    live.add_argument("scenario", help="scenario YAML file with observations (its sensor "
                      "tables) and assimilation sections")
    live.add_argument("--broker", required=True,
                      help="mqtt://HOST:PORT or mqtts://HOST:PORT (credentials from the "
                           "environment or a file, never the command line)")
    live.add_argument("--topic", default="city/sensors/#", help="topic filter of the readings")
    live.add_argument("--credentials", help="file of username=... and password=... lines "
                      "(default: METROTWIN_MQTT_USERNAME, METROTWIN_MQTT_PASSWORD)")
    live.add_argument("--ca-file", help="CA certificate (PEM) of an mqtts:// broker")
    live.add_argument("-o", "--out", help="output folder (default: runs/<scenario name>-live)")
    live.add_argument("--horizon", default="2 h", help="forecast horizon (default 2 h)")
    live.add_argument("--keep", type=int, default=24, help="cycle folders kept (default 24)")
    live.add_argument("--simulated-clock", action="store_true",
                      help="cycle when the feed's newest reading passes the next coupling time "
                           "(replays and tests), not on the wall clock")
    live.set_defaults(func=_live)
    observe = sub.add_parser("observe", help="synthetic sensor readings (CSV) sampled from a run")
    observe.add_argument("run_dir", help="run folder (or one variant's folder)")
    observe.add_argument("--sensors", required=True, help="sensor table (CSV)")
    observe.add_argument("-o", "--out", required=True, help="readings CSV to write (must be new)")
    observe.add_argument("--variant", help="variant to sample (default: the baseline)")
    observe.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    observe.set_defaults(func=_observe)
    for add_command in (_add_replay, _add_init, _add_view):
        add_command(sub)
    return parser


def _view_export(args) -> int:
    from metrotwin.viz.viewer_export import export_page

    with _working(f"exporting {args.run_dir} ({args.field})"):
        out = export_page(args.run_dir, Path(args.export), field=args.field,
                          overwrite=args.overwrite)  # fmt: skip
    print(f"page: {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def _add_init(sub) -> None:
    init = sub.add_parser("init", help="write a checked scenario NAME.yaml from your city's files")
    init.add_argument("name", metavar="NAME",
                      help="scenario name (writes NAME.yaml, never over a file)")  # fmt: skip
    init.add_argument("--dem", required=True, help="ground elevation raster (GeoTIFF, ...)")
    init.add_argument("--dsm", help="surface model raster (ground + buildings)")
    init.add_argument("--buildings", help="footprints (.gpkg, .geojson, .shp)")
    roads = init.add_mutually_exclusive_group()
    roads.add_argument("--roads", help="road lines (.gpkg, .geojson, .shp)")
    roads.add_argument("--osm", help="an OpenStreetMap extract (.osm.pbf, .osm)")
    init.add_argument("--land-cover",
                      help="land cover: raster (UMEP or ESA WorldCover codes) or polygons")
    init.add_argument("--districts", help="district polygons with a name column")
    init.add_argument("--weather", help="EPW weather file (default: a hot design day)")
    init.add_argument("--resolution", type=float, help="cell size in m (default: the DEM's)")
    init.add_argument("--bbox", help="W,S,E,N: lon/lat (WGS 84) or metres of the grid CRS")
    init.add_argument("--duration", type=float, default=180.0,
                      help="length of the period in minutes (default 180)")
    init.add_argument("-o", "--out", default=".", help="folder of NAME.yaml (default: here)")
    init.set_defaults(func=_init)


def _init(args) -> int:
    from metrotwin.run.init import Options, init_scenario

    options = Options(name=args.name, dem=Path(args.dem), out_dir=Path(args.out),
                      resolution=args.resolution, bbox=args.bbox, duration=args.duration,
                      **{k: Path(getattr(args, k)) if getattr(args, k) else None
                         for k in ("dsm", "buildings", "roads", "osm", "land_cover", "districts",
                                   "weather")})  # fmt: skip
    path, log = init_scenario(options)
    for line in log:
        print(f"metrotwin init: {line}")
    print(f"wrote {path}\nnext: metrotwin inspect {path}   then: metrotwin run {path}")
    return 0


def _live(args) -> int:
    """The live twin: the scenario and options checked, then the MQTT side
    (``metrotwin.live.feed``) feeds ``metrotwin.live.twin.run_live`` the journal and each
    batch of readings journaled since, until the period is over (exit 0) or a SIGINT or
    SIGTERM stops it after its current cycle (exit 0; a second signal: at once)."""
    from metrotwin.live.clock import SimulatedClock, WallClock
    from metrotwin.live.feed import LiveFeed
    from metrotwin.live.twin import LiveTwin, TwinOptions, run_live
    from metrotwin.scenario.units import parse_duration

    try:
        horizon = parse_duration(args.horizon)
    except ValueError:
        raise MetrotwinError(f"--horizon {args.horizon!r} is not a duration; give e.g. '2 h' "
                             "or '45 min'") from None
    if not horizon > 0 or args.keep < 1:
        raise MetrotwinError(f"--horizon must be > 0 (it is {args.horizon!r}) and --keep at "
                             f"least 1 (it is {args.keep})")
    scenario = _load(args.scenario)
    out = Path(args.out) if args.out else Path("runs") / f"{scenario.name}-live"
    feed = LiveFeed(scenario, out, broker=args.broker, topic=args.topic,
                    credentials_file=Path(args.credentials) if args.credentials else None,
                    ca_file=Path(args.ca_file) if args.ca_file else None,
                    simulated=args.simulated_clock, base_dir=Path(args.scenario).parent)  # fmt: skip
    with feed, feed.stop_on_signals():  # SIGINT, SIGTERM: stop after the current cycle
        twin = LiveTwin(scenario, out, options=TwinOptions(horizon=horizon, keep=args.keep),
                        clock=SimulatedClock() if args.simulated_clock else WallClock(),
                        publisher=feed.publish)  # fmt: skip
        cycles = run_live(twin, feed.batches(), feed.journal(), counts=feed.counts)
    how = f" by {feed.stopped_by}" if feed.stopped_by else ""
    over = ", the period is over" if twin.finished else ""
    counts = ", ".join(f"{n} {what}" for what, n in feed.counts().items())
    print(f"live twin stopped{how} after {cycles} cycle(s){over}; messages: {counts}; "
          f"outputs in {out}")
    return 0


def _add_replay(sub) -> None:
    replay = sub.add_parser("replay", help="publish an observations CSV to an MQTT broker as a "
                                           "sensor feed, in accelerated time")  # fmt: skip
    replay.add_argument("csv", metavar="OBS.csv", help="sensor_id,time,variable,value[,units]")
    replay.add_argument("--broker", required=True, help="mqtt://HOST:PORT or mqtts://HOST:PORT "
                        "(credentials: METROTWIN_MQTT_USERNAME, METROTWIN_MQTT_PASSWORD)")
    replay.add_argument("--credentials", help="file of username=... and password=... lines")
    replay.add_argument("--ca-file", help="CA certificate (PEM) of an mqtts:// broker (default: "
                        "the system's)")  # fmt: skip
    replay.add_argument("--topic-prefix", default="city/sensors",
                        help="each row goes to PREFIX/SENSOR_ID (default city/sensors)")
    replay.add_argument("--speed", type=float, default=60.0,
                        help="times faster than real time (default 60; 0: as fast as possible)")
    replay.add_argument("--start", help="replay from this time on (ISO 8601)")
    replay.set_defaults(func=_replay)


def _replay(args) -> int:
    from metrotwin.live.broker import Publisher, parse_broker_url, read_credentials
    from metrotwin.live.replay import check_speed, feed_messages, replay

    check_speed(args.speed)
    address = parse_broker_url(args.broker)
    credentials = read_credentials(Path(args.credentials) if args.credentials else None)
    messages = feed_messages(Path(args.csv), topic_prefix=args.topic_prefix, start=args.start)
    publisher = Publisher(address, credentials=credentials,
                          ca_file=Path(args.ca_file) if args.ca_file else None)  # fmt: skip
    began = time.monotonic()
    publisher.start(timeout=30.0)
    try:
        count = replay(messages, publisher.publish, speed=args.speed)
        publisher.flush()
    finally:
        publisher.stop()
    print(f"published {count} readings to {address} in {time.monotonic() - began:.1f} s")
    return 0


def _observe(args) -> int:
    from metrotwin.observe.sample import sample_run

    result = sample_run(Path(args.run_dir), Path(args.sensors), Path(args.out), seed=args.seed,
                        variant=args.variant)  # fmt: skip
    print(f"{args.out}: {result['rows']} readings ({result['left_out']} left out: NaN field)")
    return 0


def _slurm(args) -> int:
    from metrotwin.errors import ScenarioError
    from metrotwin.hpc.slurm import job_script
    from metrotwin.results.output import write_text_atomic

    scenario = _load(args.scenario)
    out = Path(args.out or Path("runs") / scenario.name).resolve()
    name = f"metrotwin-{scenario.name}"
    try:
        text = job_script(Path(args.scenario).resolve(), out, name=name, nodes=args.nodes,
                          time=args.time, tasks_per_node=args.tasks_per_node,
                          partition=args.partition, account=args.account)  # fmt: skip
    except ValueError as err:
        raise ScenarioError(str(err), source="metrotwin slurm") from None
    path = out / f"{name}.sbatch"
    write_text_atomic(path, text)
    path.chmod(0o755)
    print(f"{path}\nsubmit with: sbatch {path}")
    return 0


def _load(path):
    from metrotwin.run.scenario import load_scenario

    return load_scenario(path)


def _run(args) -> int:
    from metrotwin.run.profile import StageProfile
    from metrotwin.run.runner import run_scenario
    from metrotwin.viz.paraview import write_paraview
    from metrotwin.viz.report import compare_runs

    scenario = _load(args.scenario)
    _check_resources(scenario, args)
    after_variants = StageProfile()
    if args.layout:
        scenario = _with_layout(scenario, args.layout)
    out = Path(args.out) if args.out else Path("runs") / scenario.name
    _say_if_compiling(scenario, args.variant or scenario.variant_names)
    draw = {"report": None if args.no_report else compare_runs,
            "paraview": write_paraview if args.paraview else None}  # fmt: skip
    progress = not args.no_progress and sys.stderr.isatty()
    try:  # serial, or the variants over groups of ranks under mpiexec: one path
        results = run_scenario(scenario, out, variants=args.variant, restart=args.restart,
                               overwrite=args.overwrite, profile=after_variants,
                               working=_working, progress=progress, **draw)  # fmt: skip
    except MetrotwinError as err:  # the hint to continue, as the command the user typed
        if "metrotwin run SCENARIO " not in str(err):
            raise
        raise type(err)(str(err).replace("metrotwin run SCENARIO ", _rerun(args))) from None
    if _is_root():
        for name, folder in results.items():
            print(f"{name}: {folder}")
        if results and not args.no_report:
            report = next(iter(results.values())).parent / "comparison" / "report.html"
            if report.exists():
                print(f"comparison: {report}")
            if len(results) < len(scenario.variant_names):
                print(_only_some_variants(scenario, list(results), out))
        if args.profile:
            _print_profile(results, after_variants)
    return 0


def _print_profile(results: dict[str, Path], after_variants) -> None:
    """Each variant's stages (from its scenario.resolved.yaml), then the run's last stages."""
    import yaml

    from metrotwin.results.output import RESOLVED_FILE
    from metrotwin.run.profile import profile_table

    for name, folder in results.items():
        try:
            run = yaml.safe_load((folder / RESOLVED_FILE).read_text(encoding="utf-8"))["run"]
        except (OSError, KeyError, TypeError, yaml.YAMLError):
            continue  # a variant kept from an earlier run of another version
        if "profile" in run:
            print(profile_table(f"variant {name} (peak RSS {run.get('peak_rss_mib', '?')} MiB)",
                                run["profile"]))  # fmt: skip
    if after_variants.seconds:
        print(profile_table("after the variants", after_variants.to_json()))


def _rerun(args) -> str:
    """'metrotwin run FILE [--variant V ...] ' as this run was started (for a restart)."""
    import shlex

    words = ["metrotwin", "run", *([args.scenario] if args.scenario else [])]
    for name in args.variant or []:
        words += ["--variant", name]
    return shlex.join(words) + " "


def _say_if_compiling(scenario, variants) -> None:
    """The first run compiles the models' numba kernels (a minute with nothing moving):
    say so, and where they are cached."""
    from metrotwin import numba_cache_dir
    from metrotwin.run.registry import uncompiled_models

    known = [v for v in variants if v in scenario.variant_names]  # the run names the others
    names = dict.fromkeys(m for v in known for m in scenario.resolve_variant(v).models)
    cold = uncompiled_models(names)
    if cold and _is_root():
        print(f"metrotwin: compiling the {'/'.join(cold)} kernels (first run only, cached in "
              f"{numba_cache_dir()})", file=sys.stderr)  # fmt: skip


class _working:
    """A spinner while a long step works (a report, renders), then one line saying how long
    it took; a plain line instead of the spinner when stderr is not a terminal."""

    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        import time

        self.t0 = time.perf_counter()
        self.live = None
        if not _is_root():
            return self
        if sys.stderr.isatty():
            from rich.console import Console

            self.live = Console(stderr=True).status(f"{self.what} ...")
            self.live.__enter__()
        else:
            print(f"metrotwin: {self.what} ...", file=sys.stderr, flush=True)
        return self

    def __exit__(self, kind, value, tb):
        import time

        if self.live is not None:
            self.live.__exit__(kind, value, tb)
        if kind is None and _is_root():
            print(f"metrotwin: {self.what}: done in {time.perf_counter() - self.t0:.0f} s",
                  file=sys.stderr)  # fmt: skip
        return False


def _only_some_variants(scenario, ran: list[str], out: Path) -> str:
    """The report covers the variants that ran: say which did not, and how to compare them."""
    others = [v for v in scenario.variant_names if v not in ran]
    return (f"the report covers {', '.join(ran)} only; run the others with --variant "
            f"{others[0]} (into another folder) and compare them with: metrotwin compare "
            f"{out} OTHER_OUT")


def _with_layout(scenario, layout):
    from pydantic import ValidationError

    from metrotwin.scenario.scenario import Parallel

    try:
        parallel = Parallel.model_validate({**scenario.parallel.model_dump(), "layout": layout})
    except ValidationError as err:
        reason = err.errors()[0]["msg"].removeprefix("Value error, ")
        raise ScenarioError(reason, source=f"--layout {layout[0]} {layout[1]}") from None
    return scenario.model_copy(update={"parallel": parallel})


def _validate(args) -> int:
    scenario = _load(args.scenario)
    estimate = _check_resources(scenario, args)
    print(f"{args.scenario}: valid scenario {scenario.name!r} with models "
          f"{', '.join(scenario.models) or 'none'} and variants {', '.join(scenario.variant_names)}")  # fmt: skip
    print(estimate.line())
    if scenario.hazards is not None:
        from metrotwin.run.risk_members import members_line

        print(members_line(scenario))
    if args.cells:
        _print_intervention_cells(scenario)
    elif any(scenario.resolve_variant(v).interventions for v in scenario.variant_names):
        print("(add --cells to build the city and see the cells each intervention selects)")
    return 0


def _print_intervention_cells(scenario) -> None:
    """Per variant and intervention: the cells its area selects and those it changes. Builds
    the city (a data domain reads its files), but runs no model."""
    import numpy as np

    from metrotwin.city.build import build_city
    from metrotwin.city.interventions import intervention_cells

    city = build_city(scenario)
    print(f"city: {city.grid.ny} x {city.grid.nx} cells of {city.grid.resolution:g} m")
    for name in scenario.variant_names:
        resolved = scenario.resolve_variant(name)
        rng = np.random.default_rng(np.random.SeedSequence([resolved.seed, 0x1F7]))
        try:  # the same draws as the run (runner.prepare_variant)
            rows = intervention_cells(city.copy(), resolved.interventions, rng)
        except ValueError as err:
            raise ScenarioError(str(err), source=f"variant {name!r}") from None
        print(f"{name}:" + ("" if rows else " no interventions"))
        for label, selected, changed in rows:
            where = "" if selected is None else f"selects {selected} cells, "
            print(f"  {label}: {where}changes {changed}")


def _check_resources(scenario, args):
    """The scenario's estimate; refused above this machine's memory unless --force."""
    from metrotwin.run.estimate import check_resources

    return check_resources(scenario, force=args.force, source=args.scenario or "demo")


def _models(args) -> int:
    from metrotwin.city.interventions import INTERVENTIONS
    from metrotwin.run.registry import list_models

    models = list_models()  # model packages register their intervention types on import
    if not models:
        print("no models installed")
    for name, cls in models.items():
        print(f"{name}  ({cls.__module__}.{cls.__qualname__}, halo {cls.halo})")
        for label, specs in (("reads", cls.reads()), ("writes", cls.writes())):
            for var, spec in specs.items():
                opt = ", optional" if spec.optional and label == "reads" else ""
                print(f"  {label:6} {var} [{spec.units}, {spec.mapping}{opt}]  {spec.doc}")
        print(f"  parameters (scenario: models: {name}: ...)"
              f"{'' if cls.Params.model_fields else ': none'}")  # fmt: skip
        _print_fields(cls.Params)
    print("\nintervention types (scenario: interventions: - type: NAME ...)")
    for kind, cls in sorted(INTERVENTIONS.items()):
        doc = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        print(f"  {kind}  {' '.join(doc.split())}")
        _print_fields(cls)
    print("\nwhere: an Area, cells selected by district, polygon, bbox and land_cover (all "
          "that are given must hold); Area() is the whole city")
    return 0


def _print_fields(schema, indent: int = 4, skip=("type",), seen=()) -> None:
    """A pydantic model's fields, one a line; those made of other models (a flood inflow, a
    boundary) with their own fields below them. ``Area`` is explained once, at the end."""
    from metrotwin.city.geometry import Area
    from metrotwin.run.registry import describe_fields, nested_schemas

    for name, kind, default, doc in describe_fields(schema):
        if name in skip:
            continue
        print(f"{' ' * indent}{name}: {kind} = {default}" + (f"  {doc}" if doc else ""))
        for inner in nested_schemas(schema.model_fields[name].annotation):
            if inner is not Area and inner not in seen:
                _print_fields(inner, indent + 4, skip=(), seen=(*seen, schema))


def _inspect(args) -> int:
    from metrotwin.city.inspect import inspect_scenario
    from metrotwin.viz.quicklook import quicklooks

    print(inspect_scenario(_load(args.scenario), Path(args.out), quicklooks))
    return 0


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        if not (16 <= w <= 8192 and 16 <= h <= 8192):
            raise ValueError
    except ValueError:
        raise MetrotwinError(
            f"--size {text!r}: give WIDTHxHEIGHT in pixels, each 16 to 8192 (e.g. 1024x768)"
        ) from None
    return w, h


def _compare(args) -> int:
    from metrotwin.viz.report import compare_runs

    out = Path(args.out) if args.out else None
    what = "writing the comparison report" + ("" if args.no_3d else " (3D views take longest)")
    with _working(what):
        report = compare_runs([Path(p) for p in args.runs], out, render=not args.no_3d)
    print(f"report: {report}")
    return 0


def _render(args) -> int:
    from metrotwin.viz.render import render_run

    size = _size(args.size)
    with _working(f"rendering {args.run} ({args.view}, {args.time})"):
        paths = render_run(args.run, time=args.time, view=args.view, theme=args.theme, size=size,
                           out=Path(args.out) if args.out else None)  # fmt: skip
    for path in paths:
        print(path)
    return 0


def _add_view(sub) -> None:
    view = sub.add_parser("view", help="explore runs' 3D city in a browser (local web app), "
                                       "or --export a standalone page")  # fmt: skip
    view.add_argument("runs", nargs="+", metavar="RUN_DIR",
                      help="a run directory (all its variants) or variant folders")
    view.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    view.add_argument("--host", default="127.0.0.1",
                      help="address to serve on (default 127.0.0.1: this machine only)")
    view.add_argument("--export", metavar="FILE",
                      help="write a self-contained HTML page (open it from a file, send it) "
                           "instead of serving")  # fmt: skip
    view.add_argument("--field", default="flood_water_thickness",
                      help="--export: the field shown over time (default flood_water_thickness)")
    view.add_argument("--overwrite", action="store_true", help="--export: replace FILE")
    view.add_argument("--render", choices=("auto", "local", "remote"), default="auto",
                      help="draw the city in the browser (local, vtk.js) or on the server "
                           "(remote); auto (default): in the browser when the scene is small")
    view.set_defaults(func=_view)


def _view(args) -> int:
    if args.export:
        if len(args.runs) != 1:
            raise MetrotwinError(f"--export writes the page of one run; got {len(args.runs)} "
                                 f"run folders ({', '.join(args.runs)})")
        args.run_dir = args.runs[0]
        return _view_export(args)
    try:
        from metrotwin.viz.viewer import serve
    except ImportError as err:
        raise DataSourceError(
            f"metrotwin view needs the viewer extra ({err.name} is missing): "
            "pip install 'metrotwin[viewer]'"
        ) from None
    serve([Path(p) for p in args.runs], host=args.host, port=args.port, render=args.render)
    return 0


def _animate(args) -> int:
    from metrotwin.viz.animate import animate_run

    size = _size(args.size)
    with _working(f"animating {args.run} ({args.fmt}, a frame per output time)"):
        paths = animate_run(args.run, view=args.view, theme=args.theme, fmt=args.fmt,
                            fps=args.fps, size=size, out=Path(args.out) if args.out else None)
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
