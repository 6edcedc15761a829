"""Tmrt against the field observations of the SOLWEIG validation sites in Gothenburg."""

from __future__ import annotations

import numpy as np
import pytest

from .gothenburg import OBS_STAMP, SITES, run_site

# Lindberg et al. (2008) report Tmrt RMSE 4.8 K (R2 0.94) for SOLWEIG over the Gothenburg
# observations (KR and GA); issue 4 sets that as the target for all hours of the three sites.
# A 15-minute energy-balance step resolves the surface-temperature response; the model's Tmrt
# is averaged over each observed hour (gothenburg.run_site).
TARGET = 4.8


def _kdown_ratios(folder, mets, meas, lag):
    """Observed K_down at the POI / the met file's global K_down of the hour ``lag`` hours
    before the observation's stamp, for the observed hours above 50 W m-2."""
    import datetime

    import pandas as pd

    obs = pd.read_csv(folder / meas)
    day_col = "day" if "day" in obs.columns else ("date" if "date" in obs.columns else None)
    ratios = []
    for met in mets:
        data = np.loadtxt(folder / met, skiprows=1)
        day = datetime.date(int(data[0, 0]), 1, 1) + datetime.timedelta(days=int(data[0, 1]) - 1)
        sel = obs if day_col is None else obs[obs[day_col] == int(day.strftime("%Y%m%d"))]
        kdn = dict(zip(data[:, 2].astype(int), data[:, 14]))
        ratios += [k / max(kdn.get(int(h) - lag, np.nan), 1.0)
                   for h, k in zip(sel["hour"], sel["Kdown"]) if k > 50.0]
    return float(np.nanmax(ratios))


@pytest.mark.parametrize("site", list(SITES))
def test_observation_stamps_match_met_radiation(refdata, site):
    # OBS_STAMP (which hour an observed row averages) is read from the data: with the right
    # convention the K_down observed at the POI stays near or below the open-site global
    # radiation of the met file's row for the same hour; with the wrong one it exceeds it
    # (up to 1.9-4.5 times). 1.6: broken-cloud hours at GA (2006-08-01, 13 h: a cloud edge
    # on the met station's hour) reach 1.54 under the right convention.
    folder_name, *_, mets, meas = SITES[site]
    folder = refdata / "heat" / "solweig_gothenburg_obs" / folder_name
    if not folder.is_dir():
        pytest.skip(f"{folder} missing")
    declared = _kdown_ratios(folder, mets, meas, 1 if OBS_STAMP[site] == "end" else 0)
    other = _kdown_ratios(folder, mets, meas, 0 if OBS_STAMP[site] == "end" else 1)
    assert declared <= 1.6
    assert other > 1.8 * declared


@pytest.fixture(scope="module")
def site_results(refdata, tmp_path_factory):
    folder = refdata / "heat" / "solweig_gothenburg_obs"
    if not folder.is_dir():
        pytest.skip(f"{folder} missing")
    tmp = tmp_path_factory.mktemp("gothenburg")
    out = {}
    for site in SITES:
        m, o = run_site(refdata, site, tmp, params={"time_step": 900.0})
        rmse = float(np.sqrt(np.mean((m - o) ** 2)))
        print(f"{site}: {len(m)} hours, Tmrt RMSE {rmse:.2f} K, bias {np.mean(m - o):+.2f} K")
        out[site] = (m, o, rmse)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("site, hours", [("kronenhuset", 12), ("gustav_adolfs", 43), ("gvc", 30)])
def test_tmrt_rmse_at_each_site(site_results, site, hours):
    # issue 4: the 4.8 K of Lindberg et al. (2008) at each site, every observed hour counted
    # (KR and GA are their sites; GVC that of Lindberg & Grimmond 2011)
    m, _, rmse = site_results[site]
    assert len(m) == hours
    assert rmse <= TARGET


@pytest.mark.slow
def test_tmrt_rmse_over_all_three_sites(site_results):
    # 4.8 K and R2 0.94: SOLWEIG's published skill (Lindberg et al. 2008, 189 hours), here
    # over the 85 observed hours of the three sites together
    model = np.concatenate([site_results[s][0] for s in SITES])
    obs = np.concatenate([site_results[s][1] for s in SITES])
    rmse = float(np.sqrt(np.mean((model - obs) ** 2)))
    r2 = float(np.corrcoef(model, obs)[0, 1] ** 2)
    print(f"all sites: {len(model)} hours, RMSE {rmse:.2f} K, bias {np.mean(model - obs):+.2f} K, "
          f"R2 {r2:.3f}")
    assert len(model) == 85
    assert rmse <= TARGET
    assert r2 >= 0.94
