"""The ``metrotwin`` command: run, validate, models, inspect, compare, render, animate.

User errors end with one message on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
import warnings
from pathlib import Path

from metrotwin.errors import MetrotwinError, ScenarioError

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
        return Checkpointed.exit_code
    except MetrotwinError as err:
        if _is_root():  # under MPI every rank has the same message: say it once
            print(f"metrotwin: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("metrotwin: interrupted", file=sys.stderr)
        return 130
    except Exception:  # a bug in metrotwin, not in the user's input: keep the trace in a file
        crash = Path.cwd() / "metrotwin-crash.log"
        crash.write_text(traceback.format_exc(), encoding="utf-8")
        print(f"metrotwin: internal error ({sys.exc_info()[1]!r}); details in {crash}. "
              "Please report it.", file=sys.stderr)  # fmt: skip
        return 1


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings read as one plain line to the user, without the code that raised them."""
    if _is_root():
        print(f"metrotwin: warning: {message}", file=sys.stderr)


def _is_root() -> bool:
    from metrotwin.hpc.decomposition import is_root

    return is_root()


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
                     help="continue from the checkpoints in OUT (after a stop or a crash)")
    run.add_argument("--layout", nargs=2, type=int, metavar=("PY", "PX"),
                     help="ranks along y and x of each variant's grid under MPI (overrides the "
                          "scenario's parallel.layout)")
    run.set_defaults(func=_run)

    validate = sub.add_parser("validate", help="check a scenario file without running it")
    validate.add_argument("scenario")
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
                        help="camera: overview (default), top, or a municipality's name")
    render.add_argument("--theme", default="auto", help="auto (default), city, flood or heat")
    render.add_argument("--size", default="1024x768", help="image size WIDTHxHEIGHT (pixels)")
    render.add_argument("-o", "--out", help="output folder (default: each variant's renders/)")
    render.set_defaults(func=_render)

    animate = sub.add_parser("animate", help="animations (MP4 or GIF) of a run's variants")
    animate.add_argument("run", metavar="RUN_DIR", help="a run directory or one variant folder")
    animate.add_argument("--view", default="overview",
                         help="camera: overview (default), top, or a municipality's name")
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
    observe = sub.add_parser("observe", help="synthetic sensor readings (CSV) sampled from a run")
    observe.add_argument("run_dir", help="run folder (or one variant's folder)")
    observe.add_argument("--sensors", required=True, help="sensor table (CSV)")
    observe.add_argument("-o", "--out", required=True, help="readings CSV to write (must be new)")
    observe.add_argument("--variant", help="variant to sample (default: the baseline)")
    observe.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    observe.set_defaults(func=_observe)
    return parser


def _observe(args) -> int:
    from metrotwin.observe.sample import sample_run

    result = sample_run(Path(args.run_dir), Path(args.sensors), Path(args.out), seed=args.seed,
                        variant=args.variant)  # fmt: skip
    print(f"{args.out}: {result['rows']} readings ({result['left_out']} left out: NaN field)")
    return 0


def _slurm(args) -> int:
    from metrotwin.errors import ScenarioError
    from metrotwin.hpc.slurm import job_script
    from metrotwin.output import write_text_atomic

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
    from metrotwin.scenario import load_scenario

    return load_scenario(path)


def _run(args) -> int:
    from metrotwin.runner import run_scenario

    scenario = _load(args.scenario)
    if args.layout:
        scenario = _with_layout(scenario, args.layout)
    out = Path(args.out) if args.out else Path("runs") / scenario.name
    results = run_scenario(scenario, out, variants=args.variant, restart=args.restart,
                           report=not args.no_report, paraview=args.paraview,
                           progress=not args.no_progress and sys.stderr.isatty())  # fmt: skip
    if _is_root():
        for name, folder in results.items():
            print(f"{name}: {folder}")
        report = out / "comparison" / "report.html"
        if len(results) > 1 and report.exists():
            print(f"comparison: {report}")
    return 0


def _with_layout(scenario, layout):
    from pydantic import ValidationError

    from metrotwin.scenario import Parallel

    try:
        parallel = Parallel.model_validate({**scenario.parallel.model_dump(), "layout": layout})
    except ValidationError as err:
        reason = err.errors()[0]["msg"].removeprefix("Value error, ")
        raise ScenarioError(reason, source=f"--layout {layout[0]} {layout[1]}") from None
    return scenario.model_copy(update={"parallel": parallel})


def _validate(args) -> int:
    scenario = _load(args.scenario)
    print(f"{args.scenario}: valid scenario {scenario.name!r} with models "
          f"{', '.join(scenario.models) or 'none'} and variants {', '.join(scenario.variant_names)}")  # fmt: skip
    return 0


def _models(args) -> int:
    from metrotwin.registry import list_models

    models = list_models()
    if not models:
        print("no models installed")
    for name, cls in models.items():
        print(f"{name}  ({cls.__module__}.{cls.__qualname__}, halo {cls.halo})")
        for label, specs in (("reads", cls.reads()), ("writes", cls.writes())):
            for var, spec in specs.items():
                opt = ", optional" if spec.optional and label == "reads" else ""
                print(f"  {label:6} {var} [{spec.units}, {spec.mapping}{opt}]  {spec.doc}")
    return 0


def _inspect(args) -> int:
    from metrotwin.inspect import inspect_scenario

    print(inspect_scenario(_load(args.scenario), Path(args.out)))
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
    from metrotwin.compare import compare_runs

    out = Path(args.out) if args.out else None
    report = compare_runs([Path(p) for p in args.runs], out, render=not args.no_3d)
    print(f"report: {report}")
    return 0


def _render(args) -> int:
    from metrotwin.viz.render import render_run

    paths = render_run(args.run, time=args.time, view=args.view, theme=args.theme,
                       size=_size(args.size), out=Path(args.out) if args.out else None)  # fmt: skip
    for path in paths:
        print(path)
    return 0


def _animate(args) -> int:
    from metrotwin.viz.animate import animate_run

    paths = animate_run(args.run, view=args.view, theme=args.theme, fmt=args.fmt, fps=args.fps,
                        size=_size(args.size), out=Path(args.out) if args.out else None)  # fmt: skip
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
