"""Agent-based mobility on Mesa: road network, trips, queue-based traffic, rerouting around
floods, heat exposure along routes (``MobilityModel``; the Mesa model is ``TrafficModel``).

Where things live:

- ``model.py``: ``MobilityModel``, the metrotwin model that wires the parts below;
  ``params.py`` its ``Params``, ``variables.py`` what it reads and writes, ``errors.py``.
- the Mesa model: ``mesa_model.py`` (``TrafficModel``) and its agents (``agents.py``).
- the traffic simulation: ``simulation.py`` (``TrafficSim``, the link queues and paths) and
  its numba ``kernels.py``; ``network.py`` the routing graph and ``Router``.
- the trips: ``demand.py`` (readers, synthetic population), ``demand_source.py`` (the trips
  of a run, with the demand interventions applied).
- the coupling: ``exchange.py`` (state <-> links: flood, heat, traffic heat),
  ``indicators.py``, ``parallel.py`` (the MPI decomposition), ``interventions.py``.
"""

from metrotwin.models.mobility import interventions  # noqa: F401  (registers the types)
from metrotwin.models.mobility.errors import MobilityError
from metrotwin.models.mobility.mesa_model import TrafficModel
from metrotwin.models.mobility.model import MobilityModel
from metrotwin.models.mobility.network import Network, NetworkError
from metrotwin.models.mobility.params import Params

__all__ = ["MobilityError", "MobilityModel", "Network", "NetworkError", "Params", "TrafficModel"]
