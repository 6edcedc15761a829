"""A small city for the observation tests: 20 x 30 cells of 10 m, one building, two roads."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.city.network import add_network
from metrotwin.run.testing import make_grid, make_state

# grid: west 500000, north 5000000, 10 m cells -> x 500000..500300, y 4999800..5000000
WEST, NORTH, RES = 500_000.0, 5_000_000.0, 10.0


def cell_centre(row: int, col: int) -> tuple[float, float]:
    return WEST + (col + 0.5) * RES, NORTH - (row + 0.5) * RES


@pytest.fixture
def city():
    grid = make_grid(20, 30, resolution=RES)
    buildings = np.zeros(grid.shape)
    buildings[5:8, 5:8] = 12.0  # one building over rows 5-7, cols 5-7
    state = make_state(grid, building_height=buildings)
    # an east-west road along y = 4999900 (row 10) both ways, and a north-south one at x = 500250
    node_x = np.array([500_000.0, 500_300.0, 500_250.0, 500_250.0])
    node_y = np.array([4_999_900.0, 4_999_900.0, 5_000_000.0, 4_999_800.0])
    add_network(state, node_x, node_y, np.array([0, 1, 2]), np.array([1, 0, 3]),
                lanes=np.ones(3), free_speed=np.full(3, 13.9), capacity=np.full(3, 1800.0))
    return state


def write(path, text: str):
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path
