"""Agent-based mobility on Mesa: road network, trips, queue-based traffic, rerouting around
floods, heat exposure along routes (``MobilityModel``; the Mesa model is ``TrafficModel``)."""

from metrotwin.models.mobility import interventions  # noqa: F401  (registers the types)
from metrotwin.models.mobility.model import MobilityModel, TrafficModel
from metrotwin.models.mobility.network import MobilityError, Network, NetworkError

__all__ = ["MobilityError", "MobilityModel", "Network", "NetworkError", "TrafficModel"]
