"""metrotwin: an urban digital-twin simulation engine (coupled flood, heat and mobility).

The public names (``Model``, ``VarSpec``, ``Grid``, ...) load on first use, so that
``metrotwin --help`` does not wait for numpy, xarray and pydantic to import.
"""

import os
import sys
import tempfile
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# numba's OpenMP threads busy-wait by default, which on a shared or oversubscribed machine
# (MPI ranks, a laptop) makes two threads slower than one; let idle threads sleep.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def numba_cache_dir() -> Path:
    """Where numba caches the compiled kernels: the user's ``NUMBA_CACHE_DIR`` if set, else
    ``$XDG_CACHE_HOME/metrotwin/numba`` (``~/.cache/metrotwin/numba``), else a folder in the
    temp directory when that is not writable.

    Never beside the sources: numba's default, ``__pycache__`` inside the installed package,
    leaves a ``site-packages/metrotwin/`` folder behind when ``pip install -e`` later replaces
    the package, and that folder then hides the editable install as a namespace package.
    """
    own = os.environ.get("NUMBA_CACHE_DIR")
    if own:
        return Path(own)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for folder in (Path(base) / "metrotwin" / "numba",
                   Path(tempfile.gettempdir()) / f"metrotwin-numba-{_user()}"):  # fmt: skip
        if _writable(folder):
            return folder
    return folder


def _user() -> str:
    return str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return False
    return True


def _set_numba_cache_dir() -> None:
    """Point numba's cache at :func:`numba_cache_dir`, before any kernel module imports numba
    (every import path of the package, ``metrotwin.models...`` included, runs this file
    first); numba reads the variable when it loads, and its config when it saves."""
    folder = str(numba_cache_dir())
    os.environ["NUMBA_CACHE_DIR"] = folder
    config = sys.modules.get("numba.core.config")
    if config is not None:  # numba was imported before metrotwin: set its loaded config too
        config.CACHE_DIR = folder


_set_numba_cache_dir()

try:
    __version__ = version("metrotwin")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

#: public name -> the module that defines it (imported on first use)
_LAZY = {
    "CouplingError": "metrotwin.errors",
    "DataSourceError": "metrotwin.errors",
    "MetrotwinError": "metrotwin.errors",
    "ScenarioError": "metrotwin.errors",
    "ModelError": "metrotwin.errors",
    "CheckpointError": "metrotwin.errors",
    "OutputError": "metrotwin.errors",
    "Scenario": "metrotwin.run.scenario",
    "load_scenario": "metrotwin.run.scenario",
    "parse_scenario": "metrotwin.run.scenario",
    "open_runs": "metrotwin.results.output",
    "Grid": "metrotwin.city.grid",
    "Indicator": "metrotwin.results.indicators",
    "Intervention": "metrotwin.city.interventions",
    "register_intervention": "metrotwin.city.interventions",
    "Model": "metrotwin.run.model",
    "NoParams": "metrotwin.run.model",
    "CityState": "metrotwin.city.state",
    "VarSpec": "metrotwin.city.variables",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # the next lookup is a plain attribute
        return value
    raise AttributeError(f"module 'metrotwin' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])


__all__ = [
    "CheckpointError",
    "CityState",
    "CouplingError",
    "DataSourceError",
    "Grid",
    "Indicator",
    "Intervention",
    "MetrotwinError",
    "Model",
    "ModelError",
    "NoParams",
    "OutputError",
    "Scenario",
    "ScenarioError",
    "VarSpec",
    "__version__",
    "load_scenario",
    "numba_cache_dir",
    "open_runs",
    "parse_scenario",
    "register_intervention",
]
