"""The mobility model's error: bad input (network, demand, parameters) or a failure while it
runs, reported to the user as one message (exit status 2)."""

from __future__ import annotations

from metrotwin.errors import ModelError


class MobilityError(ModelError):
    """Bad input to the mobility model (network, demand, parameters)."""
