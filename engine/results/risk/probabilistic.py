"""The probabilistic fields of a risk variant: CF netCDF with ``return_period``, ``quantile``
and threshold coordinates, from the members' peak depths and heat-stress hours.

Per return period, over that event's samples (equal weights; ``exceedance``'s estimators):
the mean and the 5/50/95 % quantiles of the peak water depth and of the peak UTCI, the depth of the return period
(the median over the samples), P(peak depth > d) for each depth threshold d, and
P(hours with UTCI above u >= N h) for each UTCI threshold u.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from metrotwin.results.georef import GRID_MAPPING, georeferenced
from metrotwin.results.output import CF_VERSION, COMPRESSION_LEVEL, atomic_path
from metrotwin.results.risk.exceedance import exceedance_probability, weighted_quantiles

QUANTILES = (0.05, 0.5, 0.95)
_DEPTH = "flood_water_thickness"  # the standard name the flood model's depth fields carry


def _coords(template: xr.Dataset, periods, settings) -> dict:
    coords = {
        "return_period": ("return_period", np.asarray(periods, float),
                          {"units": "year", "long_name": "return period of the event"}),
        "quantile": ("quantile", np.asarray(QUANTILES),
                     {"units": "1", "long_name": "quantile over the samples of the event"}),
        "depth_threshold": ("depth_threshold", np.asarray(settings.depth_thresholds, float),
                            {"units": "m", "long_name": "water depth threshold"}),
        "utci_threshold": ("utci_threshold", np.asarray(settings.utci_thresholds, float),
                           {"units": "degree_C",
                            "long_name": "universal thermal climate index threshold"}),
    }  # fmt: skip
    for name in ("y", "x"):
        coords[name] = (name, template[name].values, dict(template[name].attrs))
    if GRID_MAPPING in template.variables:
        coords[GRID_MAPPING] = ((), template[GRID_MAPPING].values,
                                dict(template[GRID_MAPPING].attrs))  # fmt: skip
    return coords


#: what a peak field is: (name prefix, units, standard name, what it is)
PEAK_DEPTH = ("flood_depth_peak", "m", _DEPTH, "peak water depth")
PEAK_UTCI = ("utci_peak", "degree_C", "universal_thermal_comfort_index",
             "highest universal thermal climate index of the run")  # fmt: skip


def _peak_variables(peak, kind: tuple) -> dict:
    """Mean and quantiles over each event's samples of ``peak`` (return periods, samples,
    y, x), a field of ``kind`` (``PEAK_DEPTH`` or ``PEAK_UTCI``)."""
    prefix, units, standard_name, what = kind
    with warnings.catch_warnings():  # a cell NaN in every sample (outside the domain) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.stack([np.nanmean(p, axis=0) for p in peak])
    quantiles = np.stack([weighted_quantiles(p, QUANTILES) for p in peak])
    attrs = {"units": units, "standard_name": standard_name}
    return {
        f"{prefix}_mean": (("return_period", "y", "x"), mean, {
            **attrs, "long_name": f"{what}, mean over the samples of the event"}),
        f"{prefix}_quantile": (("return_period", "quantile", "y", "x"), quantiles, {
            **attrs, "long_name": f"{what}, quantile over the samples of the event"}),
    }  # fmt: skip


def _depth_variables(peak) -> dict:
    """``peak``: (return periods, samples, y, x) peak depth (m)."""
    out = _peak_variables(peak, PEAK_DEPTH)
    median = out["flood_depth_peak_quantile"][1][:, QUANTILES.index(0.5)]
    out["flood_depth_return_period"] = (("return_period", "y", "x"), median, {
        "units": "m", "standard_name": _DEPTH,
        "long_name": "peak water depth of the return period (median over the samples)"})
    return out


def _probability_variables(peak, hours: dict, settings) -> dict:
    out = {}
    if peak is not None:
        depth_p = np.stack([np.stack([exceedance_probability(p, d)
                                      for d in settings.depth_thresholds]) for p in peak])
        out["flood_depth_exceedance_probability"] = (
            ("return_period", "depth_threshold", "y", "x"), depth_p,
            {"units": "1", "long_name": "probability that the peak water depth exceeds the "
             "depth threshold in the event"})  # fmt: skip
    if hours:
        # hours >= N: exceedance of the largest float below N
        below = np.nextafter(settings.utci_min_hours, -np.inf)
        utci_p = np.stack([[exceedance_probability(event, below) for event in hours[u]]
                           for u in settings.utci_thresholds], axis=1)  # fmt: skip
        out["utci_duration_exceedance_probability"] = (
            ("return_period", "utci_threshold", "y", "x"), utci_p,
            {"units": "1", "minimum_hours": float(settings.utci_min_hours),
             "long_name": f"probability of at least {settings.utci_min_hours:g} h with the "
             "universal thermal climate index above the threshold in the event"})  # fmt: skip
    return out


def probabilistic_fields(template: xr.Dataset, periods, peak, hours: dict, settings,
                         title: str, *, peak_utci=None) -> xr.Dataset:  # fmt: skip
    """The dataset: ``peak`` (return periods, samples, y, x) peak depths (m; None without a
    flood model: no depth fields), ``hours`` UTCI threshold -> (return periods, samples, y,
    x) hours above it (all thresholds or none), ``peak_utci`` (return periods, samples, y, x)
    the highest UTCI (°C; None without a heat model); ``settings`` the ``hazards.impacts``
    section; ``template`` a member's fields (its grid and grid mapping)."""
    variables = _depth_variables(peak) if peak is not None else {}
    if peak_utci is not None:
        variables.update(_peak_variables(peak_utci, PEAK_UTCI))
    variables.update(_probability_variables(peak, hours, settings))
    data_vars = {name: (dims, np.asarray(values, np.float32), georeferenced(dims, attrs))
                 for name, (dims, values, attrs) in variables.items()}  # fmt: skip
    ds = xr.Dataset(data_vars, coords=_coords(template, periods, settings))
    ds.attrs = {"Conventions": CF_VERSION, "title": title,
                "source": "metrotwin risk summary of the variant's members"}  # fmt: skip
    return ds


def write_fields(ds: xr.Dataset, path: Path) -> None:
    """Write ``ds`` to ``path`` atomically (a temporary file renamed on success)."""
    encoding = {name: {"zlib": True, "complevel": COMPRESSION_LEVEL, "_FillValue": np.nan}
                for name in ds.data_vars}  # fmt: skip
    for name in ds.coords:
        encoding[name] = {"_FillValue": None}
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, format="NETCDF4", engine="netcdf4", encoding=encoding)
