"""Scales, labels and the wording of the report: round colour-bar ranges that cover the data,
better/worse by the indicator's direction, readable numbers and intervention lines."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrotwin.results.compare_context import describe_interventions, describe_period
from metrotwin.viz.colors import nice_range, shared_range, style_of, verdict
from metrotwin.viz.report_format import display_units, fmt, fmt_change


@given(st.floats(-1e4, 1e4), st.floats(1e-3, 1e4))
def test_nice_range_covers_the_data_with_round_steps(lo, width):
    hi = lo + width
    a, b, n = nice_range(lo, hi)
    slack = 0.011 * width  # nice_range may stop up to 1 % short of either end
    assert a <= lo + slack and b >= hi - slack and 3 <= n <= 7
    step = (b - a) / (n - 1)
    mantissa = step / 10 ** np.floor(np.log10(step))
    assert min(abs(mantissa - m) for m in (1, 2, 2.5, 5, 10)) < 1e-6
    assert b - a <= 5 * width + 1e-9  # not absurdly wide


def test_shared_range_is_symmetric_for_differences():
    lo, hi = shared_range(
        [np.array([-1.0, 0.5]), np.array([2.0, np.nan])], symmetric=True, robust=100
    )
    assert (lo, hi) == (-2.0, 2.0)
    assert shared_range([np.array([np.nan])]) == (0.0, 1.0)


def test_verdict_follows_the_better_direction():
    assert verdict(-1.0, "lower") == "better" and verdict(1.0, "lower") == "worse"
    assert verdict(1.0, "higher") == "better" and verdict(0.0, "higher") == "same"
    assert verdict(None, "lower") == "same"


def test_display_units_and_numbers():
    assert display_units("m2", 5e5) == (1e-4, "ha") and display_units("m2", 10.0) == (1.0, "m²")
    assert display_units("degree_C", 30) == (1.0, "°C") and display_units("1", 3) == (1.0, "")
    assert fmt(1234567.0, "m³") == "1,234,567 m³" and fmt(-0.01234) == "−0.0123"
    assert fmt(None) == "–"
    html = fmt_change(-2.0, -20.0, "lower", "°C")
    assert "better" in html and "−20.0 %" in html and "▼" in html
    assert "worse" in fmt_change(3.0, None, "lower", "ha")
    assert style_of("surface_temperature").display(300.0) == pytest.approx(26.85)
    assert style_of("link_speed").display(10.0) == pytest.approx(36.0)


def test_intervention_and_period_wording():
    base = [{"type": "cool_roof", "where": {}}]
    lines = describe_interventions(
        base + [{"type": "trees", "where": {"district": ["Oldtown"]}, "fraction": 0.3,
                 "land_cover": None}], base)  # fmt: skip
    assert lines == ["trees in Oldtown (fraction 0.3)"]
    assert (
        describe_period({"start": "2026-07-15T06:00:00", "end": "2026-07-15T12:00:00"})
        == "15 Jul 2026, 06:00 to 12:00"
    )
