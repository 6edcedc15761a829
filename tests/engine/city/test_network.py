"""The road network's per-link reductions of grid fields (``metrotwin.city.network``)."""

import numpy as np

from metrotwin.city.network import max_along_links


def loop_max(field, start, index):
    """The deepest value along each link by an explicit loop over its cells (NaN skipped,
    0 for a link without cells): the rule the flood and the mobility model both rely on."""
    flat = field.ravel()
    out = np.zeros(len(start) - 1)
    for link in range(len(start) - 1):
        values = [flat[i] for i in index[start[link]:start[link + 1]] if not np.isnan(flat[i])]
        out[link] = max(values, default=0.0)
    return out


def test_max_along_links_is_the_deepest_cell_of_each_link():
    rng = np.random.default_rng(0)
    field = np.where(rng.random((30, 40)) < 0.5, 0.0, rng.uniform(0, 2, (30, 40)))
    counts = rng.integers(0, 6, 200)  # links with no cell (outside the grid) among them
    start = np.concatenate([[0], np.cumsum(counts)]).astype("int64")
    index = rng.integers(0, field.size, start[-1]).astype("int64")
    got = max_along_links(field, start, index)
    assert (counts == 0).any()
    # exact: a maximum picks one of the values, no arithmetic to round
    assert got.tobytes() == loop_max(field, start, index).tobytes()


def test_a_cell_without_value_does_not_hide_the_water_of_the_others():
    field = np.array([[np.nan, 0.4, 0.1], [np.nan, np.nan, 0.0]])
    start = np.array([0, 3, 5, 5], "int64")
    index = np.array([0, 1, 2, 3, 4], "int64")  # link 0: NaN, 0.4, 0.1; link 1: NaN, NaN
    assert max_along_links(field, start, index).tolist() == [0.4, 0.0, 0.0]
