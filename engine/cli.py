"""The ``metrotwin`` command: run, validate, models, inspect.

User errors end with one message on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from pathlib import Path

from metrotwin.errors import MetrotwinError

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # the run's INFO goes to run.log, not the screen
        handler.setLevel(logging.WARNING)
    try:
        return args.func(args) or 0
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
    return parser


def _load(path):
    from metrotwin.scenario import load_scenario

    return load_scenario(path)


def _run(args) -> int:
    from metrotwin.runner import run_scenario

    scenario = _load(args.scenario)
    out = Path(args.out) if args.out else Path("runs") / scenario.name
    results = run_scenario(scenario, out, variants=args.variant,
                           progress=not args.no_progress and sys.stderr.isatty())  # fmt: skip
    if _is_root():
        for name, folder in results.items():
            print(f"{name}: {folder}")
    return 0


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


if __name__ == "__main__":
    sys.exit(main())
