"""The block layout arithmetic of hpc/decomposition.py (serial; the MPI transport is tested
by the runs on 1-4 ranks)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from metrotwin.city.grid import Grid
from metrotwin.hpc.decomposition import Decomposition, block_slice, check_tiles

CASES = [(n, parts, multiple) for n in (41, 61, 150, 7) for parts in (1, 2, 3, 4)
         for multiple in (1, 5) if -(-n // multiple) >= parts]  # at least one unit per block


@pytest.mark.parametrize(("n", "parts", "multiple"), CASES)
def test_blocks_tile_the_range_on_multiples(n, parts, multiple):
    blocks = [block_slice(n, parts, i, multiple) for i in range(parts)]
    assert blocks[0].start == 0 and blocks[-1].stop == n
    assert all(a.stop == b.start for a, b in itertools.pairwise(blocks))
    assert all(b.start % multiple == 0 for b in blocks)
    sizes = [b.stop - b.start for b in blocks]
    assert min(sizes) > 0
    # near-equal: whole units differ by at most one between blocks (the last may be partial)
    units = [-(-s // multiple) for s in sizes]
    assert max(units) - min(units) <= 1


def test_layouts_that_cannot_split_the_grid_are_refused_by_name():
    """More ranks than cells along an axis, or tiles narrower than the halo (an exchange
    reaches the neighbouring tile only): a ValueError naming the layout and the numbers."""
    check_tiles((40, 64), (2, 4), halo=16)  # tiles of 20 x 16: fits
    check_tiles((40, 10), (1, 1), halo=16)  # one tile: no halo is exchanged
    with pytest.raises(ValueError, match=r"layout \[1, 5\] gives tiles of 12 columns, "
                                         r"fewer than the 16 cells of halo"):
        check_tiles((40, 64), (1, 5), halo=16)
    with pytest.raises(ValueError, match=r"layout \[3, 1\] gives tiles of 13 rows"):
        check_tiles((40, 64), (3, 1), halo=16)
    with pytest.raises(ValueError, match=r"layout \[8, 1\] has more ranks than cells "
                                         r"\[7, 64\]"):
        check_tiles((7, 64), (8, 1), halo=2)


def test_coarsened_blocks_are_the_fine_blocks_divided():
    for coords in [(0, 0), (0, 1), (1, 2)]:
        fine = Decomposition((41, 61), topology=(2, 3), coords=coords, halo=1, multiple=5)
        coarse = fine.coarsened(5, halo=2)
        assert coarse.global_shape == (9, 13)
        for f, c, n in zip(fine.glb_slices, coarse.glb_slices, (41, 61)):
            assert c.start * 5 == f.start
            # inner edges coincide; the last block ends with the partial coarse cell
            assert c.stop * 5 == f.stop or (f.stop == n and c.stop == -(-n // 5))
    with pytest.raises(ValueError, match="multiples of 1 cells, not of 5"):
        Decomposition((41, 61), topology=(1, 2), coords=(0, 1), multiple=1).coarsened(5, 2)


def test_window_fetch_and_global_grid_in_serial():
    dec = Decomposition((4, 6))
    values = np.arange(24.0).reshape(4, 6)
    got = dec.fetch_window(values, (slice(1, 3), slice(2, 6)))
    assert np.array_equal(got, values[1:3, 2:6])
    grid = Grid(ny=4, nx=6, resolution=10.0, west=100.0, north=500.0, crs="EPSG:32632")
    assert dec.global_grid(grid) == grid


def test_exact_sum_is_correctly_rounded_in_any_order_and_split():
    """The order-independent sums behind every reduction: the correctly rounded total
    (``math.fsum``'s) of values over 600 orders of magnitude, subnormals and cancelling
    pairs included, whatever the order and however the values are split over ranks."""
    import math

    from metrotwin.hpc.decomposition import exact_sum_finish, exact_sum_partial

    rng = np.random.default_rng(7)
    values = rng.normal(size=5000) * 10.0 ** rng.integers(-300, 300, 5000)
    values = np.concatenate([values, [5e-324, -5e-324, 1e-310, 0.0, 1.0, -1.0, 3.0]])
    expected = math.fsum(values)
    for _ in range(3):
        shuffled = rng.permutation(values)
        parts = np.array_split(shuffled, rng.integers(1, 6))
        assert exact_sum_finish([exact_sum_partial(p) for p in parts]) == expected
    small = rng.random(10_000)  # no cancellation: a naive float sum is off in the last bits
    assert exact_sum_finish([exact_sum_partial(small)]) == math.fsum(small)
    assert math.isnan(exact_sum_finish([exact_sum_partial(np.array([1.0, np.nan]))]))
    assert exact_sum_finish([exact_sum_partial(np.array([1.0, np.inf]))]) == np.inf


def test_group_sums_are_the_exact_sums_counts_and_maxima_of_each_group_in_any_split():
    """``group_partials`` and ``GroupTotals`` (the heat model's one-pass district totals)
    give, per group and however the cells are split over ranks, the sum ``exact_sum_partial``
    gives for that group's values alone (correctly rounded, ``math.fsum``), its count and its
    maximum; a non-finite value counted makes them None (the caller reduces group by group),
    one in no group (-1) does not."""
    import math

    from metrotwin.hpc.decomposition import (
        GroupTotals,
        exact_sum_finish,
        exact_sum_partial,
        group_partials,
    )

    rng = np.random.default_rng(11)
    values = rng.normal(size=3000) * 10.0 ** rng.integers(-200, 200, 3000)
    groups = rng.integers(-1, 4, 3000)
    values[groups == 2] = 0.0  # a group of zeros: counted, sum 0, maximum 0
    for n_parts in (1, 3, 7):
        bounds = np.sort(rng.integers(0, values.size, n_parts - 1))
        parts = [group_partials(v, g, 4) for v, g in zip(np.split(values, bounds),
                                                         np.split(groups, bounds))]
        totals = GroupTotals.combine(parts)
        for g in range(4):
            mine = values[groups == g]
            assert totals.total([g]) == math.fsum(mine)
            assert totals.sums[g] == exact_sum_partial(mine)
            assert totals.counts[g] == mine.size and totals.maxima[g] == mine.max()
        assert totals.total() == math.fsum(values[groups >= 0])
        assert exact_sum_finish(totals.sums) == totals.total()
    values[np.flatnonzero(groups == -1)[0]] = np.nan  # in no group: not counted
    assert GroupTotals.combine([group_partials(values, groups, 4)]) is not None
    values[np.flatnonzero(groups == 1)[0]] = np.inf
    assert group_partials(values, groups, 4) is None
    assert GroupTotals.combine([group_partials(values[:1], groups[:1], 4), None]) is None
