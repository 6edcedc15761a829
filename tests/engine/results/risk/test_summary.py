"""summarize_variant on constructed members of the 3-building city (risk_city): damage and EAD
by hand, exceedance maps, facilities cut off at the peak, heat deaths, determinism and
atomic, all-or-nothing writing."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
import xarray as xr

from metrotwin.results.risk.annual import expected_annual_damage
from metrotwin.results.risk.summary import RiskOutputError, summarize_variant
from metrotwin.scenario.hazards import Hazards
from tests.engine.results.risk.risk_city import dataset, depth_grid, write_member

CURVES = "depth_m,residential,commercial,public\n0,0,0,0\n1,0.5,0.4,0.2\n2,1,0.8,0.4\n"
MAX_DAMAGE = "use,eur_per_m2\nresidential,1000\ncommercial,2000\npublic,500\n"


def _hazards(tmp_path, **impacts) -> Hazards:
    (tmp_path / "curves.csv").write_text(CURVES)
    (tmp_path / "max.csv").write_text(MAX_DAMAGE)
    section = {"damage_curves": str(tmp_path / "curves.csv"),
               "max_damage": str(tmp_path / "max.csv"), "utci_min_hours": 4, **impacts}
    return Hazards.model_validate({
        "impacts": section,
        "heatwaves": {"daily_max_temperature": {10: 33.0, 100: 37.0}, "days": 3,
                      "diurnal_range": 12.0}})  # fmt: skip


def _hand_city(root, *, shuffle=None):
    """T = 10: building 1 border 0.5 and 1.0 m, building 2 border 0.25 m; T = 100 twice as
    deep. Samples 0 and 1 identical apart from their parameter."""
    members = []
    for t, scale in ((10.0, 1.0), (100.0, 2.0)):
        for k in (0, 1):
            depth = depth_grid({(0, 1): 0.5 * scale, (1, 0): 1.0 * scale, (1, 4): 0.25 * scale})
            closed = [[0, 0, 0], [1, 0, 0], [0, 0, 0]] if t == 100.0 else None
            members.append(write_member(root, t, k, dataset(depth, closed=closed),
                                        parameters={"manning_n": 0.02 + 0.01 * k}))  # fmt: skip
    if shuffle is not None:
        random.Random(shuffle).shuffle(members)
    return members


def test_damage_and_ead_by_hand(tmp_path):
    """User tables (storeys counted 1): T=10, building 1 (200 m², residential, depth 1 m at
    its border: 0.5 * 1000 * 200 = 100 000 EUR), building 2 (100 m², commercial, 0.25 m:
    0.1 * 2000 * 100 = 20 000), building 3 dry; T=100: 200 000 and 40 000. EAD (trapezoid,
    rarest damage held): 120e3..240e3 over p 0.1..0.01 = 16 200, plus 240e3 * 0.01 = 2 400."""
    doc = summarize_variant(tmp_path, _hand_city(tmp_path), _hazards(tmp_path))
    flood = doc["flood"]
    assert [e["p50"] for e in flood["damage_by_return_period"]] == [120_000.0, 240_000.0]
    ead = flood["expected_annual_damage"]
    assert ead["total"]["mean"] == pytest.approx(18_600.0, rel=1e-12)
    assert ead["total"]["per_sample"] == pytest.approx([18_600.0, 18_600.0], rel=1e-12)
    # West: building 1 (13 500 + 2 000); East: building 2 (2 700 + 400)
    assert ead["by_district"]["West"]["p50"] == pytest.approx(15_500.0, rel=1e-12)
    assert ead["by_district"]["East"]["p95"] == pytest.approx(3_100.0, rel=1e-12)
    # exposed above 0.1 m: buildings 1 and 2; residents of building 1: 200 m² x 2 / 40 m²
    assert [e["p50"] for e in flood["exposed_buildings_by_return_period"]] == [2.0, 2.0]
    assert [e["p50"] for e in flood["exposed_people_by_return_period"]] == [10.0, 10.0]
    assert [m["id"] for m in doc["members"]] == ["T10-s000", "T10-s001", "T100-s000",
                                                 "T100-s001"]  # fmt: skip
    rows = (tmp_path / "risk_districts.csv").read_text().splitlines()
    assert rows[0].startswith("district,residents,buildings,facilities,ead_mean")
    assert rows[0].endswith("damage_p50_T10,damage_p50_T100,exposed_people_p50_T10,"
                            "exposed_people_p50_T100,heat_deaths_annual_mean,"
                            "heat_deaths_annual_p05,heat_deaths_annual_p50,heat_deaths_annual_p95")
    by_district = flood["exposed_people_by_return_period_by_district"]
    assert [e["p50"] for e in by_district["West"]] == [10.0, 10.0]
    assert [e["p50"] for e in by_district["East"]] == [0.0, 0.0]  # a commercial building
    west = rows[1].split(",")
    assert west[:4] == ["West", "10.0", "2.0", "1.0"]
    assert float(west[4]) == pytest.approx(15_500.0, rel=1e-12)


def test_depth_at_the_centroid_is_an_option(tmp_path):
    """FIAT-style: the depth in the footprint's cell, here 0 (water stands beside the raised
    blocks), so no damage; the border rule sees the water next to the walls."""
    members = _hand_city(tmp_path)
    doc = summarize_variant(tmp_path, members, _hazards(tmp_path, depth_at="centroid"))
    assert doc["flood"]["expected_annual_damage"]["total"]["mean"] == 0.0


def test_facility_cut_off_at_the_members_peak(tmp_path):
    """At T=100 link 0-1 is closed at the peak output (the second): node 0, the public
    building's nearest, is cut from nodes 1-2-3. The closure before and after does not count."""
    doc = summarize_variant(tmp_path, _hand_city(tmp_path), _hazards(tmp_path))
    facilities = doc["facilities"]
    assert facilities["count"] == 1
    assert [e["p50"] for e in facilities["cut_off_by_return_period"]] == [0.0, 1.0]


def test_heat_deaths_and_hours(tmp_path):
    """Building 1 (10 residents), 3 days as hot as the design day (max 30 °C, 40 % relative
    humidity) plus the street's anomaly (27 °C simulated where the weather said 25: +2 K);
    Baccini et al. (2008): +1.84 % per °C of daily maximum apparent temperature above
    23.3 °C, 10.4 deaths per 1000 per year. The apparent temperature written out here:
    Kalkstein & Valimont (1986), -2.653 + 0.994 Ta + 0.0153 Td^2, Td from Bolton (1980)."""
    members = []
    for t in (10.0, 100.0):
        hours = {32.0: np.full((6, 8), 5.0), 38.0: np.full((6, 8), 2.0)}
        members.append(write_member(tmp_path, t, 0, dataset(depth_grid({}), utci_hours=hours),
                                    indicators={"models": {"mobility": {
                                        "heat_exposure_minutes_above_38": {
                                            "value": 30.0, "by_group": {"65+": 90.0}}}}}))
    doc = summarize_variant(tmp_path, members, _hazards(tmp_path))
    t_air = 30.0 + (27.0 - 25.0)
    vapour = 0.40 * 611.2 * math.exp(17.67 * 30.0 / (30.0 + 243.5))  # Pa, at the maximum
    x = math.log(vapour / 611.2)
    dew = 243.5 * x / (17.67 - x)
    apparent = -2.653 + 0.994 * t_air + 0.0153 * dew**2
    af = 1.0 - 1.0184 ** -(apparent - 23.3)
    expected = 3 * af * 10.4 / 1000 / 365.25 * 10.0
    heat = doc["heat"]
    got = heat["deaths_by_return_period"][0]["p50"]
    assert got == pytest.approx(expected, rel=1e-5)  # float32 air temperature in the file
    assert heat["expected_annual_deaths"]["mean"] == pytest.approx(
        float(expected_annual_damage([10.0, 100.0], [got, got])), rel=1e-12)
    assert heat["very_strong_heat_stress_hours_per_resident_by_return_period"][0]["p50"] == 2.0
    assert heat["very_strong_heat_stress_hours_by_group_by_return_period"]["65+"][1]["p50"] == 1.5


def test_exceedance_maps_on_constructed_members(tmp_path):
    """Four samples of T=10 with 0.05, 0.2, 0.4, 0.6 m at cell (3, 6) and 2, 4, 5, 8 h of
    UTCI > 32 °C: P(> 0.1/0.3/0.5 m) = 3/4, 2/4, 1/4; quantiles 5/50/95 % (inverse empirical
    CDF) 0.05, 0.2, 0.6 m; mean 0.3125 m; P(>= 4 h) = 3/4."""
    members = []
    for k, (d, h) in enumerate(zip((0.05, 0.2, 0.4, 0.6), (2.0, 4.0, 5.0, 8.0))):
        hours = {32.0: np.full((6, 8), h), 38.0: np.zeros((6, 8))}
        ds = dataset(depth_grid({(3, 6): d}), utci_hours=hours, utci=30.0 + 2 * k)
        members.append(write_member(tmp_path, 10.0, k, ds))
    summarize_variant(tmp_path, members, _hazards(tmp_path))
    with xr.open_dataset(tmp_path / "fields.nc", decode_coords="all") as ds:
        p = ds["flood_depth_exceedance_probability"].sel(return_period=10.0).isel(y=3, x=6)
        np.testing.assert_allclose(p.values, [0.75, 0.5, 0.25])
        q = ds["flood_depth_peak_quantile"].isel(return_period=0, y=3, x=6).values
        np.testing.assert_allclose(q, [0.05, 0.2, 0.6], rtol=1e-7)  # stored as float32
        assert float(ds["flood_depth_peak_mean"][0, 3, 6]) == pytest.approx(0.3125, rel=1e-7)
        assert float(ds["flood_depth_return_period"][0, 3, 6]) == pytest.approx(0.2, rel=1e-7)
        u = ds["utci_duration_exceedance_probability"].sel(utci_threshold=32.0)
        assert float(u[0, 3, 6]) == 0.75
        # peak UTCI 30, 32, 34, 36 °C: mean 33; quantiles 30, 32, 36 (as the depths')
        assert float(ds["utci_peak_mean"][0, 3, 6]) == pytest.approx(33.0, rel=1e-7)
        np.testing.assert_allclose(ds["utci_peak_quantile"][0, :, 3, 6], [30, 32, 36])
        assert np.isnan(ds["utci_peak_mean"][0, 1, 1])  # on a building: no UTCI
        assert ds.rio.crs is not None
        assert ds["return_period"].attrs["units"] == "year"
        assert ds["flood_depth_peak_quantile"].attrs["units"] == "m"


def test_same_inputs_same_bytes_in_any_member_order(tmp_path):
    a, b = tmp_path / "a" / "v", tmp_path / "b" / "v"  # same variant name: same title
    summarize_variant(a, _hand_city(a), _hazards(tmp_path))
    first = {n: (a / n).read_bytes() for n in ("fields.nc", "risk.json", "risk_districts.csv")}
    summarize_variant(a, _hand_city(a, shuffle=3), _hazards(tmp_path))
    summarize_variant(b, _hand_city(b, shuffle=7), _hazards(tmp_path))
    for name, data in first.items():
        assert (a / name).read_bytes() == data, name
        assert (b / name).read_bytes() == data, name


def test_nothing_written_when_the_netcdf_write_fails(tmp_path, monkeypatch):
    """A failure half-way through fields.nc leaves no file, no temporary, no risk.json."""
    members = _hand_city(tmp_path)

    def broken(self, path, **kwargs):
        open(path, "wb").write(b"\x89HDF partial")
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(OSError, match="disk full"):
        summarize_variant(tmp_path, members, _hazards(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.csv", "max.csv", "members"]


def test_non_finite_number_refuses_to_publish(tmp_path):
    members = _hand_city(tmp_path)
    members[0] = type(members[0])(members[0].id, members[0].folder, 10.0, 0,
                                  {"manning_n": math.nan})  # fmt: skip
    with pytest.raises(RiskOutputError, match=r"members\[0\]\.parameters\.manning_n"):
        summarize_variant(tmp_path, members, _hazards(tmp_path))
    assert not (tmp_path / "risk.json").exists() and not (tmp_path / "fields.nc").exists()


def test_incomplete_member_grid_is_refused(tmp_path):
    from metrotwin.results.risk import RiskInputError

    members = _hand_city(tmp_path)[:3]  # T100-s001 missing
    with pytest.raises(RiskInputError, match="missing T100-s001"):
        summarize_variant(tmp_path, members, _hazards(tmp_path))


def test_risk_json_is_strict_json(tmp_path):
    summarize_variant(tmp_path, _hand_city(tmp_path), _hazards(tmp_path))
    text = (tmp_path / "risk.json").read_text()
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-finite {c} in risk.json"))
    assert set(doc) >= {"flood", "facilities", "heat", "members", "settings", "return_periods"}


def test_a_run_without_flood_or_network_gives_null_sections(tmp_path):
    """Heat-only members: no depth fields, ``flood`` and ``facilities`` null (not zeros)."""
    drop = ["flood_depth_max", "flood_water_thickness", "link_closed", "node_x", "node_y",
            "link_from", "link_to"]  # fmt: skip
    members = []
    for t in (10.0, 100.0):
        hours = {32.0: np.full((6, 8), 5.0), 38.0: np.full((6, 8), 1.0)}
        ds = dataset(depth_grid({}), utci_hours=hours).drop_vars(drop)
        members.append(write_member(tmp_path, t, 0, ds))
    doc = summarize_variant(tmp_path, members, _hazards(tmp_path))
    assert doc["flood"] is None and doc["facilities"] is None
    assert doc["heat"]["deaths_by_return_period"][1]["p50"] > 0
    with xr.open_dataset(tmp_path / "fields.nc") as ds:
        assert list(ds.data_vars) == ["utci_duration_exceedance_probability"]
