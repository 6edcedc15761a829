"""Small synthetic cities for the heat-model tests (not a test module)."""

from __future__ import annotations

import numpy as np

from metrotwin.city.landcover import CODE
from metrotwin.models.heat import HeatModel
from metrotwin.run.testing import make_context, make_grid, make_state


def block_city(ny=60, nx=60, resolution=10.0, height=15.0, block=6, street=3, seed=0):
    """Square blocks of buildings (roofs) separated by roads, a grass park in one corner."""
    rng = np.random.default_rng(seed)
    bh = np.zeros((ny, nx))
    cover = np.full((ny, nx), CODE["road"], dtype="int16")
    period = block + street
    for r0 in range(street, ny - block, period):
        for c0 in range(street, nx - block, period):
            bh[r0:r0 + block, c0:c0 + block] = height * rng.uniform(0.6, 1.4)
            cover[r0:r0 + block, c0:c0 + block] = CODE["roof"]
    park = (slice(0, ny // 4), slice(0, nx // 4))
    bh[park] = 0.0
    cover[park] = CODE["grass"]
    return bh, cover


def run_heat(bh, cover, *, canopy=None, resolution=10.0, start="2026-07-01T06:00:00",
             duration=6 * 3600.0, coupling=900.0, weather=None, params=None, district=None):
    """Initialise and run the heat model on a state; returns (model, state)."""
    ny, nx = bh.shape
    grid = make_grid(ny, nx, resolution=resolution)
    layers = dict(building_height=bh, land_cover=cover)
    if canopy is not None:
        layers["tree_canopy_height"] = canopy
    if district is not None:
        layers["district"] = district
    state = make_state(grid, **layers)
    if district is not None:
        codes = np.unique(district)
        state.ds["district"].attrs.update(
            flag_values=codes.astype("int16"), flag_meanings=" ".join(f"d{c}" for c in codes))
    forcing = {"weather": weather or {"design_day": {"air_temperature_max": 34.0,
                                                     "air_temperature_min": 21.0},
                                      "latitude": 48.0, "longitude": 11.0, "utc_offset": 1}}
    ctx = make_context(grid, duration=duration, coupling_interval=coupling, start=start,
                       forcing=forcing)
    model = HeatModel(HeatModel.Params(**(params or {})))
    for name, spec in model.variables.items():
        if spec.writes:
            state.add_variable(name, spec)
    model.initialize(state, ctx)
    t = 0.0
    while t < duration - 1e-9:
        t = min(t + coupling, duration)
        model.advance(state, t)
    return model, state
