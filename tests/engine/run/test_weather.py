"""metrotwin.run.weather: design day, EPW and CSV weather, and their errors."""

from __future__ import annotations

import pytest

from metrotwin.scenario.scenario import DesignDay, Period, Weather
from metrotwin.run.testing import make_grid
from metrotwin.run.weather import WeatherError, load_weather

GRID = make_grid(4, 4)


def test_design_day_has_its_extremes_and_a_clear_sky():
    spec = Weather(design_day=DesignDay(air_temperature_max=33, air_temperature_min=20,
                                        hour_of_max=15), latitude=48.0, longitude=15.0,
                   utc_offset=1)
    w = load_weather(spec, Period(start="2026-07-01T00:00:00", duration="24 h"), GRID)
    temps = [w.at(h * 3600.0).air_temperature - 273.15 for h in range(25)]
    assert max(temps) == pytest.approx(33.0, abs=0.05)
    assert min(temps) == pytest.approx(20.0, abs=0.05)
    noon = w.at(12 * 3600.0 + 0 * 60)
    assert 60 < noon.sun_altitude < 66  # 90 - 48 + 23.1 = 65.1 at solar noon
    assert 800 < noon.shortwave_global < 1000
    assert w.at(0.0).shortwave_global == 0.0 and not w.at(0.0).is_day
    assert noon.shortwave_diffuse < 0.25 * noon.shortwave_global


def test_epw_is_read(refdata):
    path = refdata / "heat" / "solweig_demo_rasters" / "athens_1m" / "athens_2023.epw"
    w = load_weather(Weather(file=path), Period(start="2023-07-21T00:00:00", duration="24 h"), GRID)
    assert w.latitude == pytest.approx(38.0)
    # EPW hour 13 (12:00-13:00 local standard time): 37.8 degC; the file's daily range 25.1-37.9
    assert w.at(13 * 3600.0).air_temperature - 273.15 == pytest.approx(37.8, abs=0.01)
    assert 850 < w.at(12.5 * 3600.0).shortwave_global < 1000


def _csv(tmp_path, header, rows):
    path = tmp_path / "w.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


HEADER = ("time,air_temperature [degC],relative_humidity [%],wind_speed [m s-1],"
          "wind_direction [degree],shortwave_global [W m-2]")


def _rows(n=8, temp=20.0):
    return [f"2026-07-01T{h:02d}:00:00,{temp},50,2,180,{max(0, 100 * (h - 5))}" for h in range(n)]


def test_csv_with_units_is_read(tmp_path):
    path = _csv(tmp_path, HEADER, _rows())
    w = load_weather(Weather(file=path, latitude=48, longitude=11),
                     Period(start="2026-07-01T00:00:00", duration="6 h"), GRID)
    assert w.at(3600.0).air_temperature == pytest.approx(293.15)


def test_csv_wrong_units_are_refused(tmp_path):
    path = _csv(tmp_path, HEADER.replace("[degC]", "[degF]"), _rows())
    with pytest.raises(WeatherError, match="air_temperature.*degF"):
        load_weather(Weather(file=path), Period(start="2026-07-01T00:00:00", duration="6 h"), GRID)


def test_csv_gap_is_refused(tmp_path):
    rows = _rows()
    rows[3] = rows[3].replace(",20.0,", ",,")
    path = _csv(tmp_path, HEADER, rows)
    with pytest.raises(WeatherError, match="w.csv: air_temperature is missing.*03:00"):
        load_weather(Weather(file=path), Period(start="2026-07-01T00:00:00", duration="6 h"), GRID)


def test_csv_kelvin_in_celsius_column_is_refused(tmp_path):
    path = _csv(tmp_path, HEADER, _rows(temp=293.0))
    with pytest.raises(WeatherError, match="out of range"):
        load_weather(Weather(file=path), Period(start="2026-07-01T00:00:00", duration="6 h"), GRID)


def test_period_outside_the_file_is_refused(tmp_path):
    path = _csv(tmp_path, HEADER, _rows())
    with pytest.raises(WeatherError, match="does not span the period"):
        load_weather(Weather(file=path), Period(start="2026-07-01T00:00:00", duration="12 h"), GRID)


def test_latitude_outside_90_is_refused(tmp_path):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="latitude"):
        Weather(design_day=DesignDay(), latitude=95.0)
    epw = tmp_path / "bad.epw"
    epw.write_text("LOCATION,X,NA,NA,src,NA,95.00,23.75,2.0,175.0\n")
    with pytest.raises(WeatherError, match="latitude 95"):
        load_weather(Weather(file=epw), Period(start="2023-07-21T00:00:00", duration="1 h"), GRID)


def test_epw_reader_matches_pvlib(refdata):
    # the fast reader must give the records and stamps of pvlib.iotools.read_epw
    import numpy as np
    import pvlib

    from metrotwin.scenario.scenario import Period
    from metrotwin.run.weather import _read_epw

    path = refdata / "heat" / "solweig_demo_rasters" / "athens_1m" / "athens_2023.epw"
    period = Period(start="2023-07-21T00:00:00", duration="24 h")
    (frame, _), lat, lon, tz = _read_epw(path, period)
    data, meta = pvlib.iotools.read_epw(str(path), coerce_year=2023)
    assert (lat, lon, tz) == (float(meta["latitude"]), float(meta["longitude"]), float(meta["TZ"]))
    assert (frame.index == data.index).all()
    np.testing.assert_array_equal(frame["shortwave_global"], data["ghi"].astype(float))
    np.testing.assert_array_equal(frame["air_temperature"], data["temp_air"].astype(float) + 273.15)
    np.testing.assert_array_equal(frame["wind_direction"], data["wind_direction"].astype(float))
