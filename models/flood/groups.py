"""The named argument groups of the flood kernels: namedtuples of arrays and numbers that the
``@njit`` kernels take instead of long lists of positional arrays, so that a call names what
it passes (``flow.h``, ``losses.ks``) and two arrays of the same shape cannot be swapped
silently. numba compiles a namedtuple into a struct of its fields: reading a field costs
nothing, and a namedtuple built in Python is passed to a kernel like its fields one by one.

Shapes on a grid of ``ny`` x ``nx`` cells; units in each group's docstring.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

#: the water (updated in place by the sweep): ``h`` (ny, nx) float64 depth (m);
#: ``q_at_xface`` (ny, nx + 1) and ``q_at_yface`` (ny + 1, nx) float32 unit discharges (m2/s,
#: positive east / south; see the kernels' module docstring)
Flow = namedtuple("Flow", "h q_at_xface q_at_yface")

#: the static cell fields: ``z`` bed elevation the water sees (m), ``fric`` g n^2 with
#: Manning's n of the cell, ``active`` uint8, 0 for a cell closed to flow
Ground = namedtuple("Ground", "z fric active")

#: the static float32 face coefficients of ``kernels.face_coefficients``: bed rise and drop
#: (m) and mean g n^2 of the x faces (ny, nx + 1) and of the y faces (ny + 1, nx)
Faces = namedtuple("Faces", "rise_x drop_x rise_y drop_y friction_x friction_y")

#: the in-solver statistics, (ny, nx) float32, updated in place: maximum depth (m), its time
#: (s; NaN for a cell never wet), time above the duration threshold (s), maximum speed (m/s)
Statistics = namedtuple("Statistics", "depth_max time_of_max duration_above speed_max")

#: the lossy cells: ``cells`` sorted flat indices (row * nx + col); per lossy cell ``ks``
#: saturated conductivity (m/s), ``suction`` psi * dtheta (m), ``infiltrated`` cumulative
#: infiltration F (m, updated), ``drain_rate`` inlet capacity (m/s), ``store_capacity``
#: green-roof retention (m), ``stored`` retention filled (m, updated), ``drained``
#: cumulative depth taken by the drainage inlets (m, updated)
Losses = namedtuple(
    "Losses", "cells ks suction infiltrated drain_rate store_capacity stored drained"
)

#: the inflows of a sweep: ``cells`` sorted flat indices that inflows feed (repeated where
#: several do, in their order); ``depth`` (steps, cells.size) the depth (m) each entry adds
#: at the start of each step
Inflows = namedtuple("Inflows", "cells depth")

#: the domain boundaries: ``kind`` (4,) int64 codes ordered north, south, west, east
#: (``kernels.BC_*``; closed on the sides of a tile that face another tile); ``value``
#: (steps, 4) their slope (-) or stage (m) in each step; ``outflow`` (ny, nx) cumulative
#: depth (m) that left each edge cell through the boundary (net, positive out), updated
Boundaries = namedtuple("Boundaries", "kind value outflow")

#: the steps of a sweep: ``dt`` (steps,) their lengths (s); ``t_end`` (steps,) the time at
#: the end of each (s); ``rain`` (steps,) the uniform rain depth of each (m); ``rain_grid``
#: (steps, ny, nx) the rain depth of each step and cell (m) when ``gridded``, else unused
Sweep = namedtuple("Sweep", "dt t_end rain rain_grid gridded")

#: the scheme's numbers: ``dx`` cell size (m), ``theta`` de Almeida's weighting (1 = Bates
#: 2010), ``g`` gravity (m s-2), ``h_min`` faces shallower than this carry no flow (m),
#: ``duration_threshold`` depth of the duration statistic (m), ``speed_min_depth`` the speed
#: statistic counts where deeper than this (m), ``time_fill`` NaN: the time of maximum of a
#: cell never wet (an argument: see ``kernels._statistics_row``)
Parameters = namedtuple(
    "Parameters", "dx theta g h_min duration_threshold speed_min_depth time_fill",
    defaults=(np.nan,),
)

#: the advective accelerations (m2 s-2) of the x and y faces (shapes of the discharges),
#: from ``advection.advection_at_faces``, for one step
Advection = namedtuple("Advection", "adv_x adv_y")


def zero_statistics(shape) -> Statistics:
    """Statistics of a run that has not started: zeros, float32, on a grid of ``shape``."""
    return Statistics(*(np.zeros(shape, np.float32) for _ in Statistics._fields))


def no_losses() -> Losses:
    """A domain without lossy cells."""
    return Losses(np.zeros(0, np.int64), *(np.zeros(0) for _ in Losses._fields[1:]))


def no_inflows(steps: int) -> Inflows:
    """A sweep of ``steps`` steps without inflows."""
    return Inflows(np.zeros(0, np.int64), np.zeros((steps, 0)))
