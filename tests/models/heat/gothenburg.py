"""Run the heat model at the three Gothenburg SOLWEIG validation sites (not a test module).

Each site's rasters (DSM, DEM, CDSM, UMEP land cover) become a city state, its UMEP met file
becomes a weather CSV with a units header (read by ``metrotwin.weather``), and the model's
Tmrt at the measurement point is compared hour by hour with the observed Tmrt.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from metrotwin.landcover import CODE

#: site -> (folder, DSM, DEM, CDSM, land cover, met files, measurements)
SITES = {
    "kronenhuset": ("kronenhuset", "DSM_KR.tif", "DEM_KR.tif", "CDSM_KR.asc", "landcover_KR.tif",
                    ["MetFile_Prepared.txt"], "measurements_kr.csv"),
    "gustav_adolfs": ("gustav_adolfs", "DSM_GA.tif", "DEM_GA.tif", "CDSM_GA.tif", "LC_GA.tif",
                      ["MetFile_20051011.txt", "MetFile_20060726.txt", "MetFile_20060801.txt"],
                      "measurements_ga.csv"),
    "gvc": ("gvc", "DSM_GVC_1m.tif", "DEM_GVC_1m.tif", "CDSM_GVC_1m.tif", "landcover_1m_GVC.tif",
            ["MetFile20100707_Prepared.txt", "MetFile20100710_Prepared.txt",
             "MetFile20100712_Prepared.txt"], "measurements_gvc.csv"),
}
#: UMEP land-cover codes -> metrotwin classes (trees come from the CDSM)
UMEP_CLASSES = {1: "paved", 2: "roof", 3: "grass", 4: "grass", 5: "grass", 6: "bare_soil",
                7: "water"}
LATITUDE, LONGITUDE = 57.70, 11.97  # Gothenburg


def _read(path: Path) -> tuple[np.ndarray, float]:
    import rasterio

    with rasterio.open(path) as src:
        return src.read(1).astype(float), float(src.res[0]), src


def site_state(folder: Path, files):
    import rasterio

    dsm_f, dem_f, cdsm_f, lc_f = files
    with rasterio.open(folder / dsm_f) as src:
        dsm, res = src.read(1).astype(float), float(src.res[0])
        west, north = src.bounds.left, src.bounds.top
    dem = rasterio.open(folder / dem_f).read(1).astype(float)
    cdsm = rasterio.open(folder / cdsm_f).read(1).astype(float)
    umep = rasterio.open(folder / lc_f).read(1).astype(int)
    cover = np.full(dsm.shape, CODE["paved"], dtype="int16")
    for code, name in UMEP_CLASSES.items():
        cover[umep == code] = CODE[name]
    building = umep == 2
    height = np.where(building, np.clip(dsm - dem, 0.0, None), 0.0)
    canopy = np.where(~building & (cdsm > 0), cdsm, 0.0)
    return dict(surface_altitude=np.where(building, dem, dsm if not building.any() else dem),
                building_height=height, tree_canopy_height=canopy, land_cover=cover), res, (west, north)


def met_to_csv(met: Path, out: Path, shift_minutes: int = 0) -> tuple[str, str]:
    """Write a UMEP met file as a weather CSV; returns (first, last) local times of the CSV.

    ``shift_minutes`` moves the CSV times from the stamps: 0 treats rows as instantaneous at
    the stamp (the default; -30, the middle of the hour ending at the stamp, gave a larger
    RMSE over the three sites: 8.2 vs 6.7 K)."""
    from datetime import datetime, timedelta

    data = np.loadtxt(met, skiprows=1)
    lines = ["time,air_temperature [degC],relative_humidity [%],wind_speed [m s-1],"
             "wind_direction [degree],shortwave_global [W m-2],shortwave_diffuse [W m-2]"]
    times = []
    for row in data:
        year, doy, hour = int(row[0]), int(row[1]), int(row[2])
        t = datetime(year, 1, 1) + timedelta(days=doy - 1, hours=hour, minutes=shift_minutes)
        wind = row[9] if row[9] > -900 else 2.0  # GVC files lack wind: 2 m/s (UTCI unused here)
        wdir = row[23] if row[23] > -900 else 180.0
        kdn = max(row[14], 0.0)
        kdiff = min(max(row[21], 0.0), kdn) if row[21] > -900 else 0.0
        lines.append(f"{t.isoformat()},{row[11]},{row[10]},{wind},{wdir},{kdn},{kdiff}")
        times.append(t)
    out.write_text("\n".join(lines) + "\n")
    return times[0], times[-1]


def run_site(refdata: Path, site: str, tmp: Path, params: dict | None = None,
             shift_minutes: int = 0):
    """Model and observed Tmrt (degC) at the site's measurement point, per observed hour."""
    import pandas as pd

    from metrotwin.testing import make_context, make_grid, make_state
    from metrotwin.models.heat import HeatModel

    folder_name, dsm_f, dem_f, cdsm_f, lc_f, mets, meas = SITES[site]
    folder = refdata / "heat" / "solweig_gothenburg_obs" / folder_name
    layers, res, (west, north) = site_state(folder, (dsm_f, dem_f, cdsm_f, lc_f))
    poi = json.loads((folder / "poi.geojson").read_text())["geometry"]["coordinates"]
    row, col = int((north - poi[1]) // res), int((poi[0] - west) // res)
    obs = pd.read_csv(folder / meas)
    date_col = "day" if "day" in obs.columns else ("date" if "date" in obs.columns else None)
    model_t, obs_t = [], []
    for met in mets:
        csv = tmp / f"{site}_{met}.csv"
        first, last = met_to_csv(folder / met, csv, shift_minutes)
        ny, nx = layers["building_height"].shape
        grid = make_grid(ny, nx, resolution=res)
        state = make_state(grid, **layers)
        duration = (last - first).total_seconds()
        ctx = make_context(grid, duration=duration, coupling_interval=3600.0,
                           start=first.isoformat(),
                           forcing={"weather": {"file": str(csv), "latitude": LATITUDE,
                                                "longitude": LONGITUDE, "utc_offset": 1}})
        model = HeatModel(HeatModel.Params(**(params or {})))
        for name, spec in model.variables.items():
            if spec.writes:
                state.add_variable(name, spec)
        model.initialize(state, ctx)
        stamp0 = first - pd.Timedelta(minutes=shift_minutes)  # model time t <-> stamp stamp0 + t
        day = int(stamp0.strftime("%Y%m%d"))
        sel = obs if date_col is None else obs[obs[date_col] == day]
        for t in range(0, int(duration) + 1, 3600):
            if t > 0:
                model.advance(state, float(t))
            hour = (stamp0.hour + t // 3600) % 24
            match = sel[sel["hour"] == hour]
            if len(match) and t // 3600 < 24 and np.isfinite(match["Tmrt"].iloc[0]):
                model_t.append(float(state["mean_radiant_temperature"][row, col]) - 273.15)
                obs_t.append(float(match["Tmrt"].iloc[0]))
    return np.array(model_t), np.array(obs_t)
