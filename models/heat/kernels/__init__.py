"""Numerical kernels of the heat model: plain functions on numpy arrays, compiled by numba,
one module per job. They import numpy, numba and ``metrotwin.physics`` only.

``horizons``
    horizon angles, sky view factors, walls, the direct-sun share (the city's 3D form)
``radiation``
    irradiance of the surfaces, what the ground sends up and a person sees, Tmrt
``energy``
    the force-restore surface energy balance
``air``
    the near-surface air temperature on the coarse air grid
``comfort``
    UTCI

Arrays are positional; geometry, ``where`` and ``out`` are keyword-only; arguments that belong
together travel as named tuples (``horizons.SweepLine``, ``horizons.GlobalWindow``,
``radiation.Sky``, ``radiation.Surroundings``), so that a call cannot mix them up. Names follow
``<quantity>_at_<location>``. Angles are radians unless a name says ``_deg``; temperatures are
kelvin unless a name says ``_c``; fluxes are W m-2.
"""
