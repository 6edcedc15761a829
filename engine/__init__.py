"""metrotwin: an urban digital-twin simulation engine (coupled flood, heat and mobility)."""

import os
from importlib.metadata import PackageNotFoundError, version

# numba's OpenMP threads busy-wait by default, which on a shared or oversubscribed machine
# (MPI ranks, a laptop) makes two threads slower than one; let idle threads sleep.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    __version__ = version("metrotwin")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

from metrotwin.errors import CouplingError, DataSourceError, MetrotwinError, ScenarioError
from metrotwin.grid import Grid
from metrotwin.indicators import Indicator
from metrotwin.interventions import Intervention, register_intervention
from metrotwin.model import Model, NoParams
from metrotwin.state import CityState
from metrotwin.variables import VarSpec

__all__ = [
    "CityState",
    "CouplingError",
    "DataSourceError",
    "Grid",
    "Indicator",
    "Intervention",
    "MetrotwinError",
    "Model",
    "NoParams",
    "ScenarioError",
    "VarSpec",
    "__version__",
    "register_intervention",
]
