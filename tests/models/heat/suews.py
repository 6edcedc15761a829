"""The heat model's surface energy balance on the London KCL neighbourhood (not a test module).

The neighbourhood is five tiles with SUEWS's surface fractions (benchmark 1a, sample_config:
paved 0.43, buildings 0.38, water 0.14, trees and grass 0.05 together), each an open
horizontal surface with the heat model's class parameters, driven by the SUEWS forcing
(Kc_2012_data_60.txt) with SUEWS's own Ldown and anthropogenic heat Q_F from the SuPy run, so
that both models see the same energy input. Area-weighted Q_H and Q_E are compared with SuPy.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from metrotwin.models.heat.kernels import energy
from metrotwin.models.heat.model import OMEGA
from metrotwin.models.heat.surface import default_table

TILES = {"paved": 0.43, "roof": 0.38, "water": 0.14, "trees": 0.025, "grass": 0.025}


def run_kcl(folder: Path, *, wind_factor: float = 0.5) -> dict:
    import pandas as pd

    forcing = pd.read_csv(folder / "Kc_2012_data_60.txt", sep=r"\s+")
    # SUEWS forcing rows are means of the hour ending at (year, day-of-year, hour)
    stamp = (pd.to_datetime(forcing["iy"].astype(str), format="%Y")
             + pd.to_timedelta(forcing["id"] - 1, unit="D") + pd.to_timedelta(forcing["it"], unit="h"))
    forcing.index = stamp
    ref = pd.read_csv(folder / "supy_2026.6.5_KCL_July2012_hourly_output.csv",
                      parse_dates=["datetime"], index_col="datetime")
    run = forcing.loc["2012-06-25":"2012-07-31 23:00"]
    table = default_table()
    names = list(TILES)
    frac = np.array([TILES[n] for n in names])
    albedo = np.array([table[n]["albedo"] for n in names])
    emis = np.array([table[n]["emissivity"] for n in names])
    cap = np.array([table[n]["thermal_admittance"] for n in names]) / math.sqrt(2 * OMEGA)
    beta = np.array([table[n]["evaporation_efficiency"] for n in names])
    t_mean = float(run["Tair"].mean()) + 273.15
    t_s = np.full(len(names), float(run["Tair"].iloc[0]) + 273.15)
    qh, qe, qg = (np.empty(len(names)) for _ in range(3))
    out_qh, out_qe, times = [], [], []
    # Ldown and Q_F of the SuPy run (July); the June spin-up uses their July means by hour
    ld_hour = ref["Ldown"].groupby(ref.index.hour).mean()
    qf_hour = ref["QF"].groupby(ref.index.hour).mean()
    for when, row in run.iterrows():
        ta = row["Tair"] + 273.15
        p = row["pres"] * 1000.0
        es = 611.2 * math.exp(17.67 * row["Tair"] / (row["Tair"] + 243.5))
        e = row["RH"] / 100 * es
        q = 0.622 * e / (p - 0.378 * e)
        ld = ref["Ldown"].get(when, ld_hour[when.hour])
        qf = ref["QF"].get(when, qf_hour[when.hour])
        h = 5.7 + 3.8 * wind_factor * row["U"]
        n = len(names)
        energy.surface_temperature_step(
            t_s, (1 - albedo) * max(row["kdown"], 0.0), emis * ld, np.full(n, ta), cap, emis,
            beta, np.full(n, qf), np.full(n, t_mean), np.full(n, h), q_air=q, pressure=p,
            dt=3600.0, omega=OMEGA, theta=0.5, out_qh=qh, out_qe=qe, out_qg=qg)
        times.append(when)
        out_qh.append(float(frac @ qh))
        out_qe.append(float(frac @ qe))
    model = pd.DataFrame({"QH": out_qh, "QE": out_qe}, index=pd.DatetimeIndex(times))
    both = model.join(ref[["QH", "QE"]], rsuffix="_suews", how="inner").loc["2012-07"]
    stats = pd.read_csv(folder / "suews_2026.6.5_KCL_benchmark_flux_stats_full.csv")
    result = {}
    for flux in ("QH", "QE"):
        d = both[flux] - both[f"{flux}_suews"]
        mae = stats[(stats["flux"] == flux) & (stats["stat"] == "MAE")]["value"]
        result[flux] = {
            "mae": float(d.abs().mean()), "rmse": float(np.sqrt((d**2).mean())),
            "bias": float(d.mean()), "r": float(np.corrcoef(both[flux], both[f"{flux}_suews"])[0, 1]),
            "suews_mae": float(mae.iloc[0]) if len(mae) else float("nan"), "n": int(len(d)),
        }
    return result
