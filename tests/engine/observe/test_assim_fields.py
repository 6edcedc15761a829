"""analyse_fields: several fields of one grid analysed with one local transform per cell."""

from __future__ import annotations

import time

import numpy as np

from metrotwin.observe.ensemble import analyse_fields
from metrotwin.observe.letkf import letkf_update


def _problem(m=8, ny=40, nx=50, p=12, res=20.0, seed=3):
    rng = np.random.default_rng(seed)
    x, y = np.tile(np.arange(nx) * res, ny), np.repeat(np.arange(ny) * res, nx)
    fields = [rng.normal(size=(m, ny * nx)) + k for k in range(3)]
    cells = rng.choice(ny * nx, size=p, replace=False)
    hx = fields[0][:, cells]
    values = hx.mean(axis=0) + rng.normal(size=p)
    return fields, (x, y), cells, hx, values, np.full(p, 0.5)


def test_each_field_gets_the_transform_it_would_get_alone():
    # the transform of a cell depends only on its observations and position: analysing the
    # fields together (one transform per cell) equals analysing each on its own, bit for bit
    fields, (x, y), cells, hx, values, std = _problem()
    together = analyse_fields(fields, hx, (x[cells], y[cells]), values, std, (x, y), 300.0,
                              inflation=1.1, rtps=0.3)  # fmt: skip
    for field, analysed in zip(fields, together):
        alone = np.ascontiguousarray(field.copy())
        letkf_update(alone, np.zeros(values.size, np.int64), values, std, x, y, 300.0,
                     inflation=1.1, rtps=0.3, hx=hx, obs_xy=(x[cells], y[cells]))  # fmt: skip
        assert np.array_equal(analysed, alone)
        assert analysed.flags.c_contiguous
    assert not np.array_equal(together[0], fields[0])  # the analysis did change the fields


def test_a_second_field_costs_far_less_than_the_first():
    # one transform per cell: three fields take well under three times one field (a cell's
    # p x p eigenproblem is computed once). Measured (CPU, best of 5, 40 sensors on 18,000
    # cells): 2.0 x with one transform per cell, 3.1 x with one per cell and field; 2.5 x
    # keeps a margin for a loaded machine's timing noise on both sides
    fields, (x, y), cells, hx, values, std = _problem(ny=120, nx=150, p=40)
    args = (hx, (x[cells], y[cells]), values, std, (x, y), 600.0)

    def best(fs):
        analyse_fields(fs, *args, inflation=1.0, rtps=0.0)  # compiled, warm
        times = []
        for _ in range(5):
            t = time.process_time()
            analyse_fields(fs, *args, inflation=1.0, rtps=0.0)
            times.append(time.process_time() - t)
        return min(times)

    assert best(fields) < 2.5 * best(fields[:1])
