"""Geometry: analytic sky view factor and shadow length; UMEP's Athens reference arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrotwin.models.heat import geometry


def test_canyon_sky_view_factor_is_cos_atan_2h_over_w():
    # An infinite N-S street canyon, H = W = 20 m, at 0.25 m cells: at the floor centre the
    # exact SVF is W / sqrt(W^2 + 4 H^2) = cos(atan(2H/W)) (Oke 1987, eq. for a canyon). On a
    # raster the walls are sampled at cell centres, so the effective width is W + 1 cell
    # (0.25 m -> dSVF = +0.0045) and the 32 azimuths sample the smooth integrand: the
    # tolerance 0.01 of the issue covers both; the canyon is 2000 cells (25 H) long so that
    # rays leaving along the axis see a horizon below 5 degrees (< 0.001 of SVF).
    res, h, w, wall = 0.25, 20.0, 80, 20
    dsm = np.zeros((2000, w + 2 * wall))
    dsm[:, :wall] = h
    dsm[:, wall + w:] = h
    svf, _ = geometry.sky_view(dsm, dsm, 32, res)
    centre = svf[1000, wall + w // 2]
    assert abs(centre - math.cos(math.atan(2 * h / 20.0))) < 0.01


def test_open_ground_sees_the_whole_sky():
    dsm = np.zeros((20, 20))
    svf, side = geometry.sky_view(dsm, dsm, 16, 1.0)
    np.testing.assert_allclose(svf, 1.0, atol=1e-12)
    np.testing.assert_allclose(side, 1.0, atol=1e-12)


@pytest.mark.parametrize("elevation, azimuth", [(30.0, 180.0), (45.0, 180.0), (20.0, 90.0),
                                                (35.0, 225.0)])
def test_shadow_length_is_h_over_tan_elevation(elevation, azimuth):
    # a 20 m block on flat ground: the shadow behind it (away from the sun) is H / tan(e)
    # long, within one cell (a shadow edge falls inside a cell).
    n, res, h = 200, 1.0, 20.0
    height = np.zeros((n, n))
    height[90:110, 90:110] = h
    geo = geometry.build_geometry(np.zeros((n, n)), height, np.zeros((n, n)), resolution=res,
                                  n_azimuth=8)
    sun = geo.sunlit(elevation, azimuth)
    # walk from the block's centre away from the sun until the ground is sunlit again
    az = math.radians(azimuth)
    dr, dc = math.cos(az), -math.sin(az)  # away from the sun: rows grow towards the south
    step = 1.0 / max(abs(dr), abs(dc))
    k = 0.0
    r0, c0 = 99.5, 99.5
    edge_inside = None
    while True:
        k += step
        r, c = int(r0 + dr * k), int(c0 + dc * k)
        if height[r, c] > 0:
            continue
        if edge_inside is None:
            edge_inside = k  # first ground cell: the wall foot
        if sun[r, c] > 0:
            length = (k - edge_inside) * res
            break
    expected = h / math.tan(math.radians(elevation))
    along = res / max(abs(dr), abs(dc))  # one cell along the walk
    assert abs(length - expected) <= along + 1e-9


def test_horizon_of_a_wall_under_a_canopy_observer_is_lower():
    # the observer below a canopy point (trees) sees the canopy ahead at a higher angle
    obstacle = np.zeros((5, 30))
    obstacle[:, 20] = 10.0
    from metrotwin.models.heat.kernels import horizons

    out = np.empty((1, 5, 30), np.float32)
    horizons.horizon_angles(obstacle, obstacle, np.array([90.0]), resolution=1.0, out=out, row0=0, col0=0, segment=0)
    assert out[0, 2, 10] == pytest.approx(math.atan(10 / 10), abs=1e-6)
    assert out[0, 2, 25] == 0.0


def test_athens_shadows_and_svf_agree_with_umep(refdata):
    # UMEP Python reference arrays (solweig_golden_athens400): shadows at three sun positions
    # on >= 99 % of cells and SVF mean absolute difference <= 0.02 (the targets; UMEP
    # samples 153 sky patches, we integrate 32 horizon directions).
    d = refdata / "heat" / "solweig_golden_athens400"
    if not d.is_dir():
        pytest.skip(f"{d} missing")
    dsm = np.load(d / "input_dsm.npy").astype(float)
    geo = geometry.build_geometry(np.zeros_like(dsm), dsm, np.zeros_like(dsm), resolution=1.0,
                                  n_azimuth=32)
    for name, (az, alt) in {"morning": (90, 30), "noon": (180, 60), "afternoon": (270, 45)}.items():
        ref = np.load(d / f"shadow_{name}_bldg_sh.npy")
        agree = float((geo.sunlit(alt, az) == ref).mean())
        print(f"shadow {name}: {100 * agree:.3f} % of cells agree with UMEP")
        assert agree >= 0.99
    svf_ref = np.load(d / "svf_total.npy")
    mad = float(np.abs(geo.svf - svf_ref).mean())
    print(f"SVF mean absolute difference from UMEP: {mad:.4f}")
    assert mad <= 0.02


def test_fast_arctangent_of_the_sky_view_sweep():
    # the sweep's polynomial arctan (Abramowitz & Stegun 4.4.49) is within 1.2e-5 rad, which
    # moves a sky view factor by < 3e-5 (d cos^2 h / dh <= 1): far below the 0.01-0.02
    # tolerances of the SVF tests
    from metrotwin.models.heat.kernels import horizons

    t = np.concatenate([np.linspace(0.0, 5.0, 20001), np.logspace(-6, 6, 2001)])
    err = max(abs(horizons._atan(x) - math.atan(x)) for x in t)
    assert err < 1.2e-5
