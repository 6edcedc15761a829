"""Start a flood model as the coupler does: the coupler allocates every variable the model
writes, then the model initialises (it allocates nothing itself)."""

from __future__ import annotations

from metrotwin.run.coupler import Coupler


def start(model, state, ctx):
    """``Coupler.allocate`` for ``model`` alone, then ``model.initialize``; returns the
    model."""
    Coupler([model], state, ctx).allocate()
    model.initialize(state, ctx)
    return model
