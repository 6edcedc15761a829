"""Tmrt against the field observations of the SOLWEIG validation sites in Gothenburg."""

from __future__ import annotations

import numpy as np
import pytest

from .gothenburg import SITES, run_site


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="measured Tmrt RMSE 6.7 K over the three sites (KR 5.3, "
                   "GA 6.4, GVC 7.5 K) is above SOLWEIG's published 4.8 K: not yet met")
def test_tmrt_rmse_at_gothenburg_sites(refdata, tmp_path):
    # Lindberg et al. (2008) report Tmrt RMSE 4.8 K (R2 0.94) for SOLWEIG over the Gothenburg
    # observations; the issue sets that as the target for all hours of the three sites. The
    # 15-minute energy-balance step resolves the surface-temperature response; hourly data.
    folder = refdata / "heat" / "solweig_gothenburg_obs"
    if not folder.is_dir():
        pytest.skip(f"{folder} missing")
    model, obs = [], []
    for site in SITES:
        m, o = run_site(refdata, site, tmp_path, params={"time_step": 900.0})
        rmse = float(np.sqrt(np.mean((m - o) ** 2)))
        print(f"{site}: {len(m)} hours, Tmrt RMSE {rmse:.2f} K, bias {np.mean(m - o):+.2f} K")
        model += list(m)
        obs += list(o)
    model, obs = np.array(model), np.array(obs)
    rmse = float(np.sqrt(np.mean((model - obs) ** 2)))
    print(f"all sites: {len(model)} hours, RMSE {rmse:.2f} K, R2 "
          f"{np.corrcoef(model, obs)[0, 1] ** 2:.3f}")
    assert rmse <= 4.8
