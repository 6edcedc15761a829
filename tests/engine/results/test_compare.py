"""The comparison of variants: indicators.csv, comparison.nc and report.html from runs made
with stand-in models whose outputs are known, checked against the run folders themselves."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
import xarray as xr

from metrotwin.cli import main
from metrotwin.results.indicators import change
from metrotwin.errors import DataSourceError
from metrotwin.viz.report import compare_runs

from tests._support.fakemodels import make_fake_run, small_scenario
from tests._support.pictures import inlined_images, is_real_picture

VARIANTS = ["baseline", "green_blue", "cool_city"]  # the scenario's order


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_fake_run(tmp_path_factory.mktemp("cmp") / "run")


@pytest.fixture(scope="module")
def report(run):
    """The full comparison, with the 3D views (the slow part: made once)."""
    return compare_runs(run)


def indicators(run, variant):
    return json.loads((run / variant / "indicators.json").read_text())["models"]


def test_files_of_the_comparison(run, report):
    assert report == run / "comparison" / "report.html"
    assert sorted(p.name for p in report.parent.iterdir()) == [
        "comparison.nc", "indicators.csv", "report.html"]  # fmt: skip


def test_csv_has_every_indicator_with_its_change(run, report):
    rows = list(csv.DictReader((report.parent / "indicators.csv").open()))
    totals = {(r["variant"], r["model"], r["indicator"]): r for r in rows if r["scope"] == "total"}
    for variant in VARIANTS:
        for model, inds in indicators(run, variant).items():
            for name, ind in inds.items():
                row = totals[(variant, model, name)]
                base = indicators(run, "baseline")[model][name]["value"]
                assert float(row["value"]) == pytest.approx(ind["value"], rel=1e-5)
                assert float(row["baseline"]) == pytest.approx(base, rel=1e-5)
                diff = ind["value"] - base
                assert float(row["change"]) == pytest.approx(diff, rel=1e-5, abs=1e-9)
                if ind["units"] == "degree_C":  # an interval scale: a difference in K only
                    assert row["change_percent"] == ""
                elif base:
                    assert float(row["change_percent"]) == pytest.approx(
                        100 * diff / abs(base), rel=1e-4
                    )
                if variant != "baseline" and abs(diff) > 1e-9:
                    lower = ind["better"] == "lower"
                    assert row["verdict"] == ("better" if (diff < 0) == lower else "worse")
    # per municipality: the model's by_district values, with their own baseline
    muni = [r for r in rows if r["scope"] == "municipality" and r["indicator"] == "mean_utci"]
    assert {r["area"] for r in muni} == {"Northbank", "Oldtown", "Eastfield"}
    for r in muni:
        want = indicators(run, r["variant"])["heat"]["mean_utci"]["by_district"][r["area"]]
        assert float(r["value"]) == pytest.approx(want, rel=1e-5)
    groups = {r["area"] for r in rows if r["scope"] == "group"}
    assert groups == {"walk", "car", "bike"}


def test_cool_roofs_cool_every_municipality(run, report):
    """The stand-in heat model cools cool roofs by 6 K: the cool_city variant must be better
    in the table and in every municipality (a sign check through the whole pipeline)."""
    rows = list(csv.DictReader((report.parent / "indicators.csv").open()))
    mine = [r for r in rows if r["variant"] == "cool_city" and r["indicator"] == "mean_utci"]
    assert mine and all(r["verdict"] == "better" and float(r["change"]) < 0 for r in mine)


def test_netcdf_has_a_variant_dimension_and_the_maps(run, report):
    ds = xr.open_dataset(report.parent / "comparison.nc")
    assert list(ds.variant.values) == VARIANTS
    assert ds.attrs["Conventions"].startswith("CF-")
    key = list(ds.indicator.values).index("flood.flood_volume")
    for i, v in enumerate(VARIANTS):
        assert float(ds.indicator_value[i, key]) == pytest.approx(
            indicators(run, v)["flood"]["flood_volume"]["value"], rel=1e-5, abs=1e-6
        )
    np.testing.assert_allclose(ds.indicator_change[0], 0, atol=1e-12)
    # the peak-depth map and its change are computed from the variants' own fields
    fields = {v: xr.open_dataset(run / v / "fields.nc") for v in VARIANTS}
    peak = {v: fields[v].flood_water_thickness.max("time").values for v in VARIANTS}
    np.testing.assert_allclose(
        ds.flood_water_thickness_max.sel(variant="green_blue"), peak["green_blue"]
    )
    np.testing.assert_allclose(ds.flood_water_thickness_max_change.sel(variant="green_blue"),
                               peak["green_blue"] - peak["baseline"], atol=1e-6)  # fmt: skip
    assert float(ds.flood_water_thickness_max_change.sel(variant="green_blue").min()) < 0
    assert "link_speed_min" in ds and ds.link_speed_min.dims == ("variant", "link")
    # where green_blue changes the city: its green roofs are exactly the cells that changed
    lc_base, lc_gb = fields["baseline"].land_cover.values, fields["green_blue"].land_cover.values
    meanings = ds.intervention.attrs["flag_meanings"].split()
    green = meanings.index("green_roof")
    np.testing.assert_array_equal(ds.intervention.sel(variant="green_blue").values == green,
                                  lc_gb != lc_base)  # fmt: skip
    assert int((ds.intervention.sel(variant="baseline") != 0).sum()) == 0
    assert ds.indicator_value_by_municipality.dims == ("variant", "indicator", "municipality")


def test_report_is_self_contained_and_every_image_is_a_real_picture(run, report):
    html = report.read_text()
    assert "<script" not in html.lower()
    assert not re.search(r'(src|href)="(https?:|//)', html), "the page must not load anything"
    for name in [*VARIANTS, "Northbank", "Oldtown", "Eastfield", "Gains most"]:
        assert name in html
    pics = list(inlined_images(html))
    renders = [img for mime, img in pics if mime == "image/jpeg"]
    assert len(renders) == 2 * len(VARIANTS)  # flood and heat views of every variant
    for img in renders:
        assert img.shape == (768, 1024, 3)
    assert len(pics) >= 12
    for _, img in pics:
        assert is_real_picture(img), "an image is (nearly) uniform"


def test_a_flood_only_run_has_no_heat_anywhere(tmp_path):
    run = make_fake_run(tmp_path / "run", models=("flood",))
    report = compare_runs(run, render=False)
    html = report.read_text()
    assert "Peak water depth" in html and "felt temperature" not in html.lower()
    ds = xr.open_dataset(report.parent / "comparison.nc")
    assert "flood_water_thickness_max" in ds and "universal_thermal_comfort_index_max" not in ds


def test_demo_like_run_without_models(tmp_path):
    """No model at all: only what the variants change (and it says so), no crash."""
    data = small_scenario(models=())
    run = make_fake_run(tmp_path / "run", models=(), scenario=data)
    out = compare_runs(run, tmp_path / "cmp", render=False)
    html = out.read_text()
    assert "No simulation model ran" in html and "Where each variant changes the city" in html
    rows = list(csv.DictReader((out.parent / "indicators.csv").open()))
    assert rows == []


def test_cli_compare_of_variant_folders_and_errors(run, tmp_path, capsys):
    out = tmp_path / "two"
    assert main(["compare", str(run / "baseline"), str(run / "cool_city"), "-o", str(out),
                 "--no-3d"]) == 0  # fmt: skip
    assert f"report: {out / 'report.html'}" in capsys.readouterr().out
    ds = xr.open_dataset(out / "comparison.nc")
    assert list(ds.variant.values) == ["baseline", "cool_city"]
    with pytest.raises(DataSourceError, match="no such run directory"):
        compare_runs(tmp_path / "missing")
    assert main(["compare", str(tmp_path / "missing")]) == 2
    assert "no such run directory" in capsys.readouterr().err
    other = make_fake_run(tmp_path / "coarse", models=("flood",),
                          scenario={**small_scenario(("flood",)),
                                    "domain": {"generated": {"size_x": 1200, "size_y": 960,
                                                             "resolution": 40}}})  # fmt: skip
    with pytest.raises(DataSourceError, match="different grids"):
        compare_runs([run / "baseline", other / "cool_city"], tmp_path / "x", render=False)


def test_change_helper():
    assert change(8.0, 10.0) == (-2.0, -20.0)
    assert change(1.0, 0.0) == (1.0, None)
    assert change(None, 3.0) == (None, None)


# -- issue 16: a report for every run, and a report that does not mislead ------------------------
def _one_district_scenario(variants: bool = True) -> dict:
    """A flat 600 m x 400 m domain from the data-domain path (like heat_athens): one
    district, read back from fields.nc as a scalar flag_values."""
    data = small_scenario(("flood", "heat"))
    data["domain"] = {"data": {"crs": "EPSG:32632", "resolution": 20.0,
                               "extent": [690000.0, 5335000.0, 690600.0, 5335400.0],
                               "elevation": {"constant": 0.0}, "default_land_cover": "paved"}}
    data["variants"] = {"cool_city": data["variants"]["cool_city"]} if variants else {}
    return data  # fmt: skip


def test_a_one_district_run_gets_its_report(tmp_path):
    """heat_athens has one district: its flag_values attribute reads back as a 0-d array."""
    run = make_fake_run(tmp_path / "run", ("flood", "heat"), _one_district_scenario())
    report = run / "comparison" / "report.html"
    assert report.is_file()
    rows = list(csv.DictReader((report.parent / "indicators.csv").open()))
    assert {r["area"] for r in rows if r["scope"] == "municipality"} == {"domain"}


def test_a_one_variant_run_gets_a_report_of_its_own_results(tmp_path):
    run = make_fake_run(tmp_path / "run", ("flood", "heat"), _one_district_scenario(False))
    report = run / "comparison" / "report.html"
    page = report.read_text(encoding="utf-8")
    assert "results of baseline" in page
    assert "minus" not in page and "Difference maps" not in page  # nothing to differ from
    for section in ("indicators", "maps", "time"):
        assert f"id='{section}'" in page, section
    for _, img in inlined_images(page):
        assert is_real_picture(img)
    assert main(["compare", str(run)]) == 0  # and `metrotwin compare` of one variant too


def test_a_failing_report_fails_the_run_after_publishing_it(tmp_path, monkeypatch):
    """The report breaks (here: a bug in it): the run still publishes its outputs, then
    stops with a MetrotwinError (exit status 2) that says how to retry."""
    import metrotwin.viz.report as compare
    from metrotwin.errors import MetrotwinError

    def broken(*args, **kwargs):
        raise ValueError("iteration over a 0-d array")

    monkeypatch.setattr(compare, "compare_runs", broken)
    with pytest.raises(MetrotwinError) as err:
        make_fake_run(tmp_path / "run", ("flood", "heat"), _one_district_scenario())
    message = str(err.value)
    assert "iteration over a 0-d array" in message
    assert f"metrotwin compare {tmp_path / 'run'}" in message
    for variant in ("baseline", "cool_city"):  # the outputs stay
        assert (tmp_path / "run" / variant / "fields.nc").is_file()
        assert (tmp_path / "run" / variant / "indicators.json").is_file()


def _cell_of(page: str, description: str) -> str:
    """The HTML of the indicator table row whose first cell starts with ``description``."""
    start = page.index(f"<tr><td>{description}<span")
    return page[start : page.index("</tr>", start)]


def test_temperature_changes_are_differences_in_kelvin(run, report):
    page = report.read_text(encoding="utf-8")
    row = _cell_of(page, "mean felt temperature")  # the stand-in heat model's mean UTCI
    assert re.search(r"[▲▼] [+−]?[0-9.]+ K<", row), row
    assert "%" not in row
    area = _cell_of(page, "area with strong heat stress")  # a ratio-scale quantity: percent
    assert "%" in area
    with xr.open_dataset(report.parent / "comparison.nc") as ds:
        key = list(ds["indicator"].values).index("heat.mean_utci")
        assert np.isnan(ds["indicator_change_percent"].values[:, key]).all()
        assert ds["universal_thermal_comfort_index_max_change"].attrs["units"] == "K"


def test_images_are_not_lazy_loaded(report):
    """A printed page or a screenshot would leave lazy images blank."""
    assert "loading=" not in report.read_text(encoding="utf-8")


def test_declared_direction_of_improvement():
    from metrotwin.results.indicators import Indicator, direction
    from metrotwin.viz.colors import verdict

    # more water drained, infiltrated or held on roofs is better; rain fallen is neither
    assert direction("flood.volume_drainage", "lower") == "higher"
    assert direction("flood.volume_infiltration", "lower") == "higher"
    assert direction("flood.volume_retention", "lower") == "higher"
    assert direction("flood.volume_rain", "lower") == "neither"
    assert direction("heat.utci_mean", "lower") == "lower"
    assert direction("x.y", "neither") == "neither"
    assert verdict(12.0, "higher") == "better" and verdict(12.0, "neither") == "changed"
    with pytest.raises(ValueError, match="sideways"):
        Indicator(1.0, "m3", "water", better="sideways")


def test_parts_of_day_a_run_covers(run):
    """The small town's run (06:00-09:00 on 15 July, about 48 N) is daytime only; the same
    grid from 20:00 to 23:00 covers both; rows of a part not covered are left out."""
    from types import SimpleNamespace

    from metrotwin.results.compare_context import covered, parts_of_day
    from metrotwin.results.rundata import open_variants

    base = open_variants(run / "baseline")[0]
    try:
        assert parts_of_day(base) == {"day"}
        evening = base.times + np.timedelta64(14, "h")
        late = SimpleNamespace(ds=base.ds, times=evening, resolved=base.resolved)
        assert parts_of_day(late) == {"day", "night"}
    finally:
        base.close()
    assert not covered("very_strong_heat_stress_hours_night", {"day"})
    assert covered("very_strong_heat_stress_hours_day", {"day"})
    assert covered("utci_mean", {"day"})


def test_known_explanations_match_intervention_and_sign():
    from metrotwin.viz.explanations import explain

    hot = explain(["cool_roof"], "mobility.heat_exposure_minutes_above_38", +8.6)
    assert hot is not None and "reflected shortwave" in hot.text
    assert explain(["cool_roof"], "mobility.heat_exposure_minutes_above_38", -1.0) is None
    assert explain(["green_roof"], "mobility.heat_exposure_minutes_above_38", +8.6) is None
    assert explain(["cool_roof"], "flood.flooded_area_10cm", +1.0) is None


def test_compare_returns_the_comparison_it_writes(run, report):
    """``compare`` computes (no drawing): its rows are the variants' indicators.json and its
    maps those of comparison.nc."""
    from metrotwin.results.compare import compare
    from metrotwin.results.comparison import Comparison

    with compare(run) as comp:
        assert isinstance(comp, Comparison) and comp.variants == VARIANTS
        rows = {row.key: row for row in comp.rows}
        for variant in VARIANTS:
            for model, inds in indicators(run, variant).items():
                for name, ind in inds.items():
                    assert rows[f"{model}.{name}"].values[variant] == pytest.approx(ind["value"])
        with xr.open_dataset(report.parent / "comparison.nc") as ds:
            for m in comp.maps:
                np.testing.assert_array_equal(ds[f"{m.name}_{m.summary}"].values,
                                              np.stack([m.values[v] for v in VARIANTS]))
        assert comp.road_segments is not None and comp.road_segments.shape[1:] == (2, 2)


def test_the_municipality_that_gains_most():
    """Ranked by its relative gain (a difference in K for temperatures); none where no
    municipality improves or neither direction is better."""
    from metrotwin.results.comparison import IndicatorRow

    base = {"A": 10.0, "B": 100.0}
    row = IndicatorRow("flood", "flooded_area", "m2", "", "lower",
                       by_district={"baseline": base, "v": {"A": 5.0, "B": 60.0}})  # fmt: skip
    assert row.best_district("v", "baseline") == ("A", 50.0, 5.0)  # -50 % beats -40 %
    hot = IndicatorRow("heat", "utci", "degree_C", "", "lower",
                       by_district={"baseline": {"A": 30.0, "B": 40.0},
                                    "v": {"A": 29.0, "B": 38.0}})  # fmt: skip
    assert hot.best_district("v", "baseline") == ("B", 2.0, 2.0)  # 2 K beats 1 K
    worse = IndicatorRow("flood", "flooded_area", "m2", "", "lower",
                         by_district={"baseline": base, "v": {"A": 11.0, "B": 101.0}})  # fmt: skip
    assert worse.best_district("v", "baseline") is None
    neither = IndicatorRow("flood", "volume_rain", "m3", "", "neither",
                           by_district={"baseline": base, "v": {"A": 5.0, "B": 60.0}})  # fmt: skip
    assert neither.best_district("v", "baseline") is None
