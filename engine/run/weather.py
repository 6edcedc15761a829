"""The weather of a run: air temperature, humidity, wind, pressure, radiation and the sun.

``load_weather(spec, period, grid)`` reads the scenario's ``forcing.weather`` section: a
design day (clear-sky sun from pvlib, a sinusoidal air temperature), an EPW file (its used
columns read with pandas, stamped as ``pvlib.iotools.read_epw`` does) or a CSV file whose
header gives every column's units. It returns
a :class:`WeatherSeries`; ``series.at(t)`` gives the weather at ``t`` seconds after the period
start as a :class:`WeatherAt`.

Everything is evaluated once, on a 60 s time axis covering the period, so that ``at(t)`` is a
cheap interpolation: models may call it every step.

* Global shortwave is interpolated as a clear-sky index (measured / Ineichen clear sky), so
  that hourly means do not put sunshine before sunrise; the diffuse share is the measured one
  or, without it, Reindl et al. (1990) doi:10.1016/0038-092X(90)90060-P (with Ta and RH).
* Longwave down is the file's where it has one, else Brutsaert (1975)
  doi:10.1029/WR011i005p00742 clear-sky emissivity with the cloud correction of Crawford &
  Duchon (1999) doi:10.1175/1520-0450(1999)038<0474:AIPFEL>2.0.CO;2, the cloud fraction
  taken from the daytime clear-sky index (held through the night).

>>> from metrotwin.scenario.scenario import Weather, Period, DesignDay
>>> from metrotwin.run.testing import make_grid
>>> spec = Weather(design_day=DesignDay(), latitude=48.0, longitude=11.0)
>>> period = Period(start="2026-07-01T06:00:00", duration="6 h")
>>> w = load_weather(spec, period, make_grid(4, 4)).at(6 * 3600.0)
>>> round(w.sun_altitude) > 55, 300 < w.shortwave_global < 1000
(True, True)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from metrotwin.errors import DataSourceError
from metrotwin.physics import (KELVIN_OFFSET, STANDARD_PRESSURE, STEFAN_BOLTZMANN,
                               saturation_vapour_pressure)

STEP = 60.0  # resolution of the precomputed time axis (s)


class WeatherError(DataSourceError):
    """A weather file or design day that cannot be used (names the file, field and value)."""


@dataclass(frozen=True)
class WeatherAt:
    """The weather at one time. Temperatures in K, angles in degrees, fluxes in W m-2."""

    time: datetime
    air_temperature: float  # K
    relative_humidity: float  # %
    wind_speed: float  # m s-1 at 10 m
    wind_direction: float  # degrees from north the wind blows FROM
    air_pressure: float  # Pa
    shortwave_global: float  # on a horizontal plane
    shortwave_direct_normal: float  # beam on a plane facing the sun
    shortwave_diffuse: float  # diffuse on a horizontal plane
    longwave_down: float
    sun_altitude: float  # apparent elevation above the horizon
    sun_azimuth: float  # clockwise from north

    @property
    def is_day(self) -> bool:
        return self.sun_altitude > 0.0


FIELDS = (
    "air_temperature",
    "relative_humidity",
    "wind_speed",
    "wind_direction",
    "air_pressure",
    "shortwave_global",
    "shortwave_direct_normal",
    "shortwave_diffuse",
    "longwave_down",
    "sun_altitude",
    "sun_azimuth",
)


class WeatherSeries:
    """Weather of a period on a regular time axis ``times`` (s since the period start)."""

    def __init__(self, start: datetime, times: np.ndarray, values: dict[str, np.ndarray],
                 *, latitude: float, longitude: float, source: str):
        self.start = start
        self.times = np.asarray(times, dtype=float)
        self.values = values
        self.latitude = latitude
        self.longitude = longitude
        self.source = source
        az = np.radians(values["sun_azimuth"])
        self._az_xy = (np.sin(az), np.cos(az))
        wd = np.radians(values["wind_direction"])
        self._wd_xy = (np.sin(wd), np.cos(wd))

    def at(self, t: float) -> WeatherAt:
        """The weather ``t`` seconds after the period start (linear interpolation)."""
        t = float(t)
        x = self.times

        def f(name):
            return float(np.interp(t, x, self.values[name]))

        az = math.degrees(math.atan2(np.interp(t, x, self._az_xy[0]), np.interp(t, x, self._az_xy[1])))
        wd = math.degrees(math.atan2(np.interp(t, x, self._wd_xy[0]), np.interp(t, x, self._wd_xy[1])))
        return WeatherAt(
            time=self.start + timedelta(seconds=t),
            air_temperature=f("air_temperature"),
            relative_humidity=f("relative_humidity"),
            wind_speed=f("wind_speed"),
            wind_direction=wd % 360.0,
            air_pressure=f("air_pressure"),
            shortwave_global=f("shortwave_global"),
            shortwave_direct_normal=f("shortwave_direct_normal"),
            shortwave_diffuse=f("shortwave_diffuse"),
            longwave_down=f("longwave_down"),
            sun_altitude=f("sun_altitude"),
            sun_azimuth=az % 360.0,
        )

    @property
    def mean_air_temperature(self) -> float:
        """Mean air temperature of the period (K)."""
        return float(np.mean(self.values["air_temperature"]))


# -- entry point -------------------------------------------------------------------------------
def load_weather(spec, period, grid) -> WeatherSeries:
    """The weather of ``period`` from a scenario ``forcing.weather`` section.

    Parameters
    ----------
    spec : metrotwin.scenario.scenario.Weather (design_day or file; latitude/longitude/utc_offset).
    period : metrotwin.scenario.scenario.Period.
    grid : metrotwin.city.grid.Grid, whose centre gives the default latitude and longitude.
    """
    lon_c, lat_c = grid.lonlat_centre()
    latitude = spec.latitude if spec.latitude is not None else lat_c
    longitude = spec.longitude if spec.longitude is not None else lon_c
    source = str(spec.file) if spec.file is not None else "design_day"
    meta_lat = None
    if spec.file is not None and Path(spec.file).suffix.lower() == ".epw":
        frame, meta_lat, meta_lon, meta_tz = _read_epw(Path(spec.file), period)
        if spec.latitude is None:
            latitude, longitude = meta_lat, meta_lon
        tz_hours = spec.utc_offset if spec.utc_offset is not None else meta_tz
    else:
        tz_hours = spec.utc_offset if spec.utc_offset is not None else round(longitude / 15.0)
        frame = None
    _check_latitude(latitude, source if meta_lat is not None else "the weather's latitude")
    _check_latitude(longitude, source, name="longitude", limit=180.0)
    tz = timezone(timedelta(hours=float(tz_hours)))
    start = period.start if period.start.tzinfo is not None else period.start.replace(tzinfo=tz)
    n = int(math.ceil(period.seconds / STEP)) + 1
    times = np.arange(n) * STEP
    stamps = _stamps(start, times)
    sun = _sun(stamps, latitude, longitude)
    clear = _clear_sky(stamps, latitude, longitude, sun)
    if spec.file is None:
        values = _design_day(spec.design_day, start, times, longitude, tz_hours, sun, clear)
    elif frame is not None:
        values = _from_frame(frame, stamps, sun, clear, source)
    elif Path(spec.file).suffix.lower() == ".csv":
        values = _from_frame(_read_csv(Path(spec.file), tz), stamps, sun, clear, source)
    else:
        raise WeatherError(
            f"{spec.file}: unknown weather file type {Path(spec.file).suffix!r}; use .epw or .csv"
        )
    values["sun_altitude"] = sun["apparent_elevation"]
    values["sun_azimuth"] = sun["azimuth"]
    return WeatherSeries(start, times, values, latitude=latitude, longitude=longitude, source=source)


# -- helpers -----------------------------------------------------------------------------------
def _check_latitude(value: float, source: str, *, name="latitude", limit=90.0) -> None:
    if not (np.isfinite(value) and -limit <= value <= limit):
        raise WeatherError(f"{source}: {name} {value!r} is outside -{limit:g}..{limit:g} degrees")


def _stamps(start: datetime, times: np.ndarray):
    import pandas as pd

    return pd.Timestamp(start) + pd.to_timedelta(times, unit="s")


def _sun(stamps, latitude, longitude) -> dict[str, np.ndarray]:
    import pvlib

    pos = pvlib.solarposition.get_solarposition(stamps, latitude, longitude)
    return {k: pos[k].to_numpy(dtype=float)
            for k in ("apparent_elevation", "azimuth", "apparent_zenith", "zenith")}


def _clear_sky(stamps, latitude, longitude, sun) -> dict[str, np.ndarray]:
    """Ineichen-Perez clear sky (pvlib, Linke turbidity from its climatology)."""
    import pandas as pd
    import pvlib

    loc = pvlib.location.Location(latitude, longitude)
    # the sun position of ``_sun`` is passed on: pvlib would compute it a second time
    position = pd.DataFrame({k: sun[k] for k in ("apparent_zenith", "apparent_elevation",
                                                 "zenith")}, index=stamps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = loc.get_clearsky(stamps, model="ineichen", solar_position=position)
    extra = pvlib.irradiance.get_extra_radiation(stamps).to_numpy(dtype=float)
    return {
        "ghi": cs["ghi"].to_numpy(dtype=float),
        "dni": cs["dni"].to_numpy(dtype=float),
        "dhi": cs["dhi"].to_numpy(dtype=float),
        "extra": extra,
    }


def reindl_diffuse_fraction(kt, sin_alt, t_air_c, rh):
    """Diffuse share of global radiation, Reindl et al. (1990) with Ta (degC) and RH (%)."""
    kt, s = np.asarray(kt, float), np.maximum(np.asarray(sin_alt, float), 0.0)
    phi = np.asarray(rh, float) / 100.0
    low = np.minimum(1.0 - 0.232 * kt + 0.0239 * s - 0.000682 * t_air_c + 0.0195 * phi, 1.0)
    mid = np.clip(1.329 - 1.716 * kt + 0.267 * s - 0.00357 * t_air_c + 0.106 * phi, 0.1, 0.97)
    high = np.maximum(0.426 * kt - 0.256 * s + 0.00349 * t_air_c + 0.0734 * phi, 0.1)
    return np.where(kt <= 0.3, low, np.where(kt < 0.78, mid, high))


def longwave_down(t_air, rh, cloud):
    """Longwave down (W m-2): Brutsaert (1975) clear sky, Crawford & Duchon (1999) clouds."""
    e_hpa = saturation_vapour_pressure(np.asarray(t_air)) * np.asarray(rh) / 100.0 / 100.0
    eps_clear = 1.24 * (e_hpa / np.asarray(t_air)) ** (1.0 / 7.0)
    eps = np.asarray(cloud) + (1.0 - np.asarray(cloud)) * eps_clear
    return eps * STEFAN_BOLTZMANN * np.asarray(t_air) ** 4


def _split(ghi, sun, clear, t_air, rh, diffuse=None, dni=None):
    """Direct normal and diffuse from global (and measured parts where given)."""
    sin_alt = np.sin(np.radians(np.maximum(sun["apparent_elevation"], 0.0)))
    day = sun["apparent_elevation"] > 1.0
    if diffuse is None:
        top = np.maximum(clear["extra"] * sin_alt, 1e-6)
        kt = np.where(day, np.clip(ghi / top, 0.0, 1.2), 0.0)
        diffuse = ghi * reindl_diffuse_fraction(kt, sin_alt, t_air - KELVIN_OFFSET, rh)
    diffuse = np.minimum(diffuse, ghi)
    if dni is None:
        dni = np.where(day, (ghi - diffuse) / np.maximum(sin_alt, 0.05), 0.0)
    dni = np.where(day, np.clip(dni, 0.0, 1400.0), 0.0)
    diffuse = np.where(day, diffuse, ghi)
    return dni, diffuse


def _design_day(dd, start, times, longitude, tz_hours, sun, clear) -> dict:
    # local solar hour: clock hour corrected for the longitude within the time zone
    h0 = start.hour + start.minute / 60.0 + start.second / 3600.0
    solar_hour = h0 + times / 3600.0 + (longitude - 15.0 * float(tz_hours)) / 15.0
    mean = 0.5 * (dd.air_temperature_max + dd.air_temperature_min)
    amp = 0.5 * (dd.air_temperature_max - dd.air_temperature_min)
    t_air = KELVIN_OFFSET + mean + amp * np.cos(2 * np.pi * (solar_hour - dd.hour_of_max) / 24.0)
    vapour = dd.relative_humidity / 100.0 * saturation_vapour_pressure(KELVIN_OFFSET + mean)
    rh = np.minimum(100.0 * vapour / saturation_vapour_pressure(t_air), 100.0)
    c = dd.cloud_cover
    # Kasten & Czeplak (1980) cloud reduction of global radiation
    ghi = clear["ghi"] * (1.0 - 0.75 * c**3.4)
    if c > 0:
        dni, dhi = _split(ghi, sun, clear, t_air, rh)
    else:
        dni, dhi = clear["dni"], clear["dhi"]
    n = len(times)
    return {
        "air_temperature": t_air,
        "relative_humidity": rh,
        "wind_speed": np.full(n, dd.wind_speed),
        "wind_direction": np.full(n, dd.wind_direction),
        "air_pressure": np.full(n, STANDARD_PRESSURE),
        "shortwave_global": ghi,
        "shortwave_direct_normal": np.asarray(dni, float),
        "shortwave_diffuse": np.asarray(dhi, float),
        "longwave_down": longwave_down(t_air, rh, np.full(n, c)),
    }


# -- files -------------------------------------------------------------------------------------
#: column -> {accepted unit: factor, offset to SI}
CSV_UNITS: dict[str, dict[str, tuple[float, float]]] = {
    "air_temperature": {"degC": (1.0, KELVIN_OFFSET), "degree_C": (1.0, KELVIN_OFFSET),
                        "K": (1.0, 0.0)},
    "relative_humidity": {"%": (1.0, 0.0), "percent": (1.0, 0.0)},
    "wind_speed": {"m s-1": (1.0, 0.0), "m/s": (1.0, 0.0)},
    "wind_direction": {"degree": (1.0, 0.0), "degrees": (1.0, 0.0), "deg": (1.0, 0.0)},
    "air_pressure": {"Pa": (1.0, 0.0), "hPa": (100.0, 0.0), "kPa": (1000.0, 0.0)},
    "shortwave_global": {"W m-2": (1.0, 0.0), "W/m2": (1.0, 0.0)},
    "shortwave_diffuse": {"W m-2": (1.0, 0.0), "W/m2": (1.0, 0.0)},
    "shortwave_direct_normal": {"W m-2": (1.0, 0.0), "W/m2": (1.0, 0.0)},
    "longwave_down": {"W m-2": (1.0, 0.0), "W/m2": (1.0, 0.0)},
}
REQUIRED = ("air_temperature", "relative_humidity", "wind_speed", "wind_direction", "shortwave_global")
#: plausible ranges in SI units, to catch wrong units and sentinels (-999, 9999)
RANGES = {
    "air_temperature": (183.0, 333.0),
    "relative_humidity": (0.0, 100.5),
    "wind_speed": (0.0, 75.0),
    "wind_direction": (0.0, 360.0),
    "air_pressure": (50_000.0, 110_000.0),
    "shortwave_global": (0.0, 1500.0),
    "shortwave_diffuse": (0.0, 1000.0),
    "shortwave_direct_normal": (0.0, 1400.0),
    "longwave_down": (100.0, 600.0),
}


def _read_csv(path: Path, tz):
    """A CSV whose header names each column as ``name [units]`` and a ``time`` column."""
    import pandas as pd

    try:
        raw = pd.read_csv(path)
    except Exception as err:
        raise WeatherError(f"{path}: cannot read the weather CSV ({type(err).__name__})") from None
    columns = {}
    for number, col in enumerate(raw.columns, start=1):
        name, _, unit = str(col).partition("[")
        name, unit = name.strip(), unit.rstrip("]").strip()
        if name == "time":
            continue
        if name not in CSV_UNITS:  # the header is not quoted: the file may be anything
            raise WeatherError(
                f"{path}: column {number} of the header is no weather variable; valid columns: "
                f"time, {', '.join(CSV_UNITS)}"
            )
        if unit not in CSV_UNITS[name]:
            raise WeatherError(
                f"{path}: column {name!r} has units {unit or 'none'!r}; give them in the header "
                f"as '{name} [unit]' with one of: {', '.join(CSV_UNITS[name])}"
            )
        factor, offset = CSV_UNITS[name][unit]
        columns[name] = pd.to_numeric(raw[col], errors="coerce") * factor + offset
    time_cols = [c for c in raw.columns if str(c).partition("[")[0].strip() == "time"]
    if not time_cols:
        raise WeatherError(f"{path}: no 'time' column (ISO 8601 local times)")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise WeatherError(f"{path}: missing column(s) {', '.join(missing)}")
    index = pd.to_datetime(raw[time_cols[0]], errors="coerce")
    if index.isna().any():
        row = int(np.flatnonzero(index.isna())[0]) + 2
        raise WeatherError(f"{path}: line {row}: the time is not a date (ISO 8601 local time)")
    index = pd.DatetimeIndex(index)
    index = index.tz_localize(tz) if index.tz is None else index
    frame = pd.DataFrame(columns)
    frame.index = index
    return frame, str(path)


#: EPW data columns (0-based, EnergyPlus Auxiliary Programs, "EnergyPlus Weather File (EPW)
#: Data Dictionary") -> names as pvlib.iotools.read_epw gives them
EPW_COLUMNS = {0: "year", 1: "month", 2: "day", 3: "hour", 6: "temp_air", 8: "relative_humidity",
               9: "atmospheric_pressure", 12: "ghi_infrared", 13: "ghi", 14: "dni", 15: "dhi",
               20: "wind_direction", 21: "wind_speed"}


def _read_epw(path: Path, period):
    """The records of an EPW file near the period, stamped as pvlib.iotools.read_epw stamps
    them with ``coerce_year`` (hour h of the file at h - 1 h, the start of its interval, in
    the file's time zone); pandas reads only the columns used (about 10x faster than pvlib)."""
    import pandas as pd

    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = fh.readline().split(",")
        lat, lon, tz = float(head[6]), float(head[7]), float(head[8])
    except Exception as err:
        raise WeatherError(
            f"{path}: cannot read the EPW file's LOCATION line ({type(err).__name__})"
        ) from None
    _check_latitude(lat, str(path))
    try:
        raw = pd.read_csv(path, skiprows=8, header=None, usecols=list(EPW_COLUMNS),
                          dtype=float, encoding="utf-8", encoding_errors="replace")
    except Exception as err:
        raise WeatherError(f"{path}: cannot read the EPW file ({type(err).__name__})") from None
    data = raw.rename(columns=EPW_COLUMNS)
    stamp = pd.to_datetime({"year": np.full(len(data), period.start.year),
                            "month": data["month"].astype(int), "day": data["day"].astype(int)})
    stamp = stamp + pd.to_timedelta(data["hour"].to_numpy() - 1.0, unit="h")
    data.index = pd.DatetimeIndex(stamp).tz_localize(timezone(timedelta(hours=tz)))
    frame = pd.DataFrame(
        {
            "air_temperature": data["temp_air"].astype(float) + KELVIN_OFFSET,
            "relative_humidity": data["relative_humidity"].astype(float),
            "wind_speed": data["wind_speed"].astype(float),
            "wind_direction": data["wind_direction"].astype(float),
            "air_pressure": data["atmospheric_pressure"].astype(float),
            "shortwave_global": data["ghi"].astype(float),
            "shortwave_diffuse": data["dhi"].astype(float),
            "shortwave_direct_normal": data["dni"].astype(float),
        }
    )
    lw = data["ghi_infrared"].astype(float)
    if (lw < 9999).all():
        frame["longwave_down"] = lw
    # pvlib stamps EPW hour h at h-1 (the start of the interval): the state variables are
    # instantaneous at the hour's end, the radiation is the hour's mean (centre: half hour)
    frame.attrs["state_shift"] = 3600.0
    frame.attrs["radiation_shift"] = 1800.0
    # EPW marks missing values with 99.9 / 999 / 9999 sentinels: make them NaN
    for name, (lo, hi) in RANGES.items():
        if name in frame and name not in ("air_temperature",):
            frame.loc[frame[name] > hi * 1.5, name] = np.nan
    frame.loc[data["temp_air"] >= 99.9, "air_temperature"] = np.nan
    return (frame, str(path)), lat, lon, tz


def _from_frame(frame_source, stamps, sun, clear, source) -> dict:
    """Interpolate a file's records onto the time axis, after checking gaps and ranges."""
    frame, path = frame_source
    ftimes = (frame.index - stamps[0]).total_seconds().to_numpy()
    t = (stamps - stamps[0]).total_seconds().to_numpy()
    if ftimes.size == 0 or ftimes[0] > t[0] + 1e-6 or ftimes[-1] < t[-1] - 1e-6:
        span = f"{frame.index[0]} .. {frame.index[-1]}" if len(frame) else "no records"
        raise WeatherError(
            f"{path}: the file covers {span}, which does not span the period "
            f"{stamps[0]} .. {stamps[-1]}"
        )
    if np.any(np.diff(ftimes) <= 0):
        raise WeatherError(f"{path}: times must increase strictly")
    used = (ftimes >= t[0] - 4 * 3600) & (ftimes <= t[-1] + 4 * 3600)
    # records that bracket the period, plus a margin for the radiation shift
    lo = max(int(np.searchsorted(ftimes, t[0], side="right")) - 2, 0)
    hi = min(int(np.searchsorted(ftimes, t[-1], side="left")) + 2, len(ftimes))
    used[:] = False
    used[lo:hi] = True
    for name in frame.columns:
        col = frame[name].to_numpy(dtype=float)[used]
        bad = ~np.isfinite(col)
        lo_r, hi_r = RANGES[name]
        bad |= (col < lo_r) | (col > hi_r)
        if name in REQUIRED or name == "air_pressure":
            if bad.any():
                first = frame.index[used][np.flatnonzero(bad)[0]]
                value = col[np.flatnonzero(bad)[0]]
                raise WeatherError(
                    f"{path}: {name} is missing or out of range at {first} (value {value:g}; "
                    f"expected {lo_r:g}..{hi_r:g} in SI units - a gap, a -999 sentinel or "
                    f"wrong units?)"
                )
        elif bad.any():
            raise WeatherError(
                f"{path}: {name} is missing or out of range at "
                f"{frame.index[used][np.flatnonzero(bad)[0]]}; remove the column or fill the gap"
            )

    state_shift = float(frame.attrs.get("state_shift", 0.0))

    def interp(name, shift=state_shift):
        return np.interp(t, ftimes[used] + shift, frame[name].to_numpy(dtype=float)[used])

    shift = float(frame.attrs.get("radiation_shift", 0.0))
    t_air = interp("air_temperature")
    rh = np.clip(interp("relative_humidity"), 0.0, 100.0)
    # global: interpolate the clear-sky index of each record (records centred on `shift`)
    rec_t = ftimes[used] + shift
    rec_cs = np.interp(rec_t, t, clear["ghi"], left=np.nan, right=np.nan)
    ghi_rec = frame["shortwave_global"].to_numpy(dtype=float)[used]
    valid = np.isfinite(rec_cs) & (rec_cs > 50.0)
    if valid.sum() >= 1:
        kc = np.clip(ghi_rec[valid] / rec_cs[valid], 0.0, 1.3)
        kc_t = np.interp(t, rec_t[valid], kc)
    else:  # a night-only or polar-night period: no clear-sky reference
        kc_t = np.zeros_like(t)
    ghi = np.where(clear["ghi"] > 0, kc_t * clear["ghi"], 0.0)
    if len(t) and valid.sum() == 0:
        ghi = np.maximum(interp("shortwave_global", shift), 0.0)
    diffuse = dni = None
    if "shortwave_diffuse" in frame:
        kd_rec = np.where(ghi_rec > 1.0, frame["shortwave_diffuse"].to_numpy(float)[used] / np.maximum(ghi_rec, 1.0), 1.0)
        diffuse = ghi * np.clip(np.interp(t, rec_t, kd_rec), 0.0, 1.0)
    dni, diffuse = _split(ghi, sun, clear, t_air, rh, diffuse=diffuse, dni=None)
    cloud_rec = np.clip(1.0 - ghi_rec[valid] / np.maximum(rec_cs[valid], 1.0), 0.0, 1.0) if valid.any() else np.zeros(1)
    cloud = np.interp(t, rec_t[valid], cloud_rec) if valid.any() else np.zeros_like(t)
    values = {
        "air_temperature": t_air,
        "relative_humidity": rh,
        "wind_speed": interp("wind_speed"),
        "wind_direction": _interp_direction(t, ftimes[used] + state_shift, frame["wind_direction"].to_numpy(float)[used]),
        "air_pressure": interp("air_pressure") if "air_pressure" in frame else np.full_like(t, STANDARD_PRESSURE),
        "shortwave_global": ghi,
        "shortwave_direct_normal": dni,
        "shortwave_diffuse": diffuse,
    }
    if "longwave_down" in frame:
        values["longwave_down"] = interp("longwave_down", shift)
    else:
        values["longwave_down"] = longwave_down(t_air, rh, cloud)
    return values


def _interp_direction(t, times, degrees):
    """Interpolate directions (degrees) through their unit vectors (359 -> 1 passes 0)."""
    rad = np.radians(degrees)
    x, y = np.interp(t, times, np.sin(rad)), np.interp(t, times, np.cos(rad))
    return np.degrees(np.arctan2(x, y)) % 360.0
