"""Risk numbers from an ensemble's results: flood damage per building (``damage``), exceedance
probabilities and quantiles over members (``exceedance``), expected annual damage over return
periods (``annual``) and the heat-health burden (``heat_health``). The default tables and their
sources are in ``data/`` (see its README.md)."""

from __future__ import annotations

from metrotwin.errors import MetrotwinError


class RiskInputError(MetrotwinError):
    """An input of a risk computation is invalid (an unknown use or country, bad weights,
    return periods or tables); the message names the value and what would be valid."""
