"""Heatwave design days from the return-period table: the table's own values at its periods,
log-linear in T between them, refused outside, and a valid ``design_day`` section."""

from __future__ import annotations

import math

import pytest

from metrotwin.errors import ScenarioError
from metrotwin.run.heatwave import design_day_maximum, heatwave_design_day
from metrotwin.scenario.hazards import Heatwaves
from metrotwin.scenario.scenario import DesignDay

HEAT = Heatwaves.model_validate({"daily_max_temperature": {2: 32.0, 20: 35.0, 200: 38.5},
                                 "diurnal_range": 11.0})  # fmt: skip


def test_the_tables_periods_give_the_tables_values():
    for period, value in HEAT.daily_max_temperature.items():
        assert design_day_maximum(HEAT, period) == value


def test_between_periods_the_maximum_is_linear_in_log_t():
    # sqrt(2 * 20) years is halfway in ln(T) between 2 and 20: halfway between 32 and 35 °C
    assert design_day_maximum(HEAT, math.sqrt(40.0)) == pytest.approx(33.5, rel=1e-14)
    # 100 yr: ln(100/20) / ln(10) = 0.69897 of the way from 35 to 38.5 °C
    assert design_day_maximum(HEAT, 100.0) == pytest.approx(35 + 3.5 * math.log10(5), rel=1e-14)


def test_a_period_outside_the_table_is_refused():
    with pytest.raises(ScenarioError, match=r"no design day for a 500-year return period; "
                                            r"the daily_max_temperature table spans 2 to 200"):
        design_day_maximum(HEAT, 500.0)


def test_the_design_day_is_a_valid_weather_section():
    day = heatwave_design_day(HEAT, 20.0, relative_humidity=40.0)
    assert day == {"relative_humidity": 40.0, "air_temperature_max": 35.0,
                   "air_temperature_min": 24.0}  # fmt: skip
    assert DesignDay.model_validate(day).air_temperature_min == 24.0
