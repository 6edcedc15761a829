"""The package's doctests (``--doctest-modules``, on in pyproject's pytest options) run on the
modules as they are installed: engine/ is ``metrotwin``, models/ ``metrotwin.models``, hpc/
``metrotwin.hpc`` and viz/ ``metrotwin.viz`` (pyproject's package-dir). Collected by their
paths, they would be imported a second time as a package named ``engine`` or ``models``. The
test modules under tests/ hold no doctests and are left to the ordinary collection."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from _pytest.doctest import DoctestModule

REPO = Path(__file__).resolve().parent
#: source folder -> the package it is installed as
PACKAGE_DIRS = {
    REPO / "engine": "metrotwin",
    REPO / "models": "metrotwin.models",
    REPO / "hpc": "metrotwin.hpc",
    REPO / "viz": "metrotwin.viz",
}


def installed_name(path: Path) -> str | None:
    """The module name ``path`` has in the installed package; None outside its folders."""
    for folder, package in PACKAGE_DIRS.items():
        if path.is_relative_to(folder):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            return ".".join((package, *parts))
    return None


class InstalledDoctestModule(DoctestModule):
    """The doctests of one module of the package, imported under its installed name."""

    def _getobj(self):
        return importlib.import_module(installed_name(self.path))


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent):
    collected = yield
    out = []
    for node in collected:
        if type(node) is not DoctestModule:
            out.append(node)
        elif installed_name(file_path) is not None:
            out.append(InstalledDoctestModule.from_parent(parent, path=file_path))
    return out
