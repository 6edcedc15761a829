"""Shared test fixtures: the reference data folder, headless rendering, small grids."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# the engine tests' fixtures (toy models in the registry, the demo and a small scenario as data)
from tests._support.fixtures import demo_data, small_scenario_data, toy_registry  # noqa: F401

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


def refdata_path() -> Path:
    """The reference data folder: $METROTWIN_REFDATA, relative paths from the repository root."""
    path = Path(os.environ.get("METROTWIN_REFDATA", "../shared/data"))
    return path if path.is_absolute() else (REPO / path).resolve()


@pytest.fixture(scope="session")
def refdata() -> Path:
    path = refdata_path()
    if not path.is_dir():
        pytest.skip(f"reference data not found at {path} (set METROTWIN_REFDATA)")
    return path


@pytest.fixture(scope="session")
def demo_run_dir(tmp_path_factory) -> Path:
    """`metrotwin run` of the built-in demo (all variants, with its comparison report), once
    for the whole test session: several test files look at it."""
    from metrotwin.cli import main

    out = tmp_path_factory.mktemp("demo") / "demo"
    assert main(["run", "-o", str(out), "--no-progress"]) == 0
    return out
