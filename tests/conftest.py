"""Shared test fixtures: the reference data folder, headless rendering, small grids."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
