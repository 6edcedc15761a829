"""Build a scenario's city state: generated, or from data files, for one rank's tile."""

from __future__ import annotations

from pathlib import Path

from metrotwin.city.citygen import city_grid, generate_city
from metrotwin.city.grid import Grid
from metrotwin.city.sources import raster as sources_raster
from metrotwin.city.sources.from_data import build_city_from_data
from metrotwin.city.state import CityState, subset_state
from metrotwin.hpc.decomposition import Decomposition, serial_decomposition
from metrotwin.scenario.scenario import Scenario


def global_grid(scenario: Scenario) -> Grid:
    """The scenario's whole grid, without building anything.

    A data domain's grid comes from its elevation raster's header; it is kept for as long
    as the domain's description and that file (size, modification time) stay the same, so a
    run opens the file for it once, not at every question about the grid."""
    domain = scenario.domain
    if domain.generated is not None:
        return city_grid(domain.generated)
    key = (domain.data.model_dump_json(), _file_stamp(getattr(domain.data.elevation, "path", None)))
    if key not in _DATA_GRIDS:
        if len(_DATA_GRIDS) >= 16:
            _DATA_GRIDS.clear()
        _DATA_GRIDS[key] = sources_raster.domain_grid(domain.data)
    return _DATA_GRIDS[key]


_DATA_GRIDS: dict[tuple, Grid] = {}


def _file_stamp(path) -> tuple | None:
    try:
        stat = Path(path).stat() if path is not None else None
    except (OSError, TypeError, ValueError):
        return None
    return None if stat is None else (stat.st_size, stat.st_mtime_ns, stat.st_ino)


def global_shape(scenario: Scenario) -> tuple[int, int]:
    """(ny, nx) of the scenario's whole grid."""
    return global_grid(scenario).shape


def build_city(scenario: Scenario, decomposition: Decomposition | None = None) -> CityState:
    """The static layers (and road network) of the scenario's domain on this rank's tile
    (the whole domain in serial)."""
    domain = scenario.domain
    if decomposition is None:
        decomposition = serial_decomposition(global_shape(scenario))
    window = decomposition.local_window
    if domain.generated is not None:
        state = generate_city(domain.generated, scenario.seed, window=window)
        state.decomposition, state.seed = decomposition, scenario.seed
        return state
    # each rank reads its own window of the files (a DSM domain reads whole, then cuts)
    city = build_city_from_data(domain.data, scenario.seed, decomposition)
    city.seed = scenario.seed
    if city.grid.shape == decomposition.local_shape:
        city.decomposition = decomposition
        return city
    return subset_state(city, window, decomposition)
