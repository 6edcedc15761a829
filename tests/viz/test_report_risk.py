"""The risk report (metrotwin.viz.report_risk) of a fake risk run: the numbers it must show."""

import json
import re

import numpy as np
import pytest

from metrotwin.results.risk.risk_comparison import compare_risk
from metrotwin.viz.report import compare_runs
from metrotwin.viz.report_risk import eur
from tests._support.risk_run import make_risk_run, per_sample


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = make_risk_run(tmp_path_factory.mktemp("riskrun"))
    path = compare_runs(root)
    return root, path, path.read_text(encoding="utf-8")


def test_a_risk_run_gets_the_risk_report(report):
    root, path, html = report
    assert path == root / "comparison" / "report.html"
    for title in ("Risk and cost-benefit", "Ranking by median net present value",
                  "Costs of the interventions", "Who gains", "Exceedance maps",
                  "Which uncertainty matters", "Assumptions"):  # fmt: skip
        assert title in html
    # two exceedance small-multiple figures (baseline, best variant) and the sensitivity chart
    assert html.count("<img src=\"data:image/png;base64,") == 3


def test_the_report_shows_the_bands_and_npv(report):
    root, _, html = report
    ead, _ = per_sample(1.0, 1.0)
    # the baseline's EAD band (median and 5-95 %), computed here from the fixture's formula
    for q in (0.05, 0.5, 0.95):
        assert eur(float(np.quantile(ead, q))) in html
    comp = compare_risk(sorted(p for p in root.iterdir() if p.name != "comparison"))
    gb = next(v for v in comp.variants if v.name == "green_blue")
    assert eur(gb.cba["npv"]["p50"]) in html and eur(gb.present_cost) in html
    ranking = html[html.index("id='ranking'"):html.index("id='costs'")]
    assert ranking.index("green_blue") < ranking.index("cool_city")
    assert re.search(r"gains most: <b>(Eastfield|Oldtown|Riverside)</b>", ranking)
    # the unit-cost sources are shown with the numbers
    assert "Optigruen" in html and "ILLUSTRATIVE" in html


def test_few_samples_are_said_to_give_wide_sensitivity_intervals(report):
    _, _, html = report
    # the fixture's 32 base samples give bootstrap half-widths above 0.1 for heat deaths
    assert "too few samples to rank the inputs firmly" in html


def test_the_numbers_are_written_for_programs_too(report):
    root, path, html = report
    data = json.loads((path.parent / "risk_comparison.json").read_text(encoding="utf-8"))
    assert data["ranking"] == ["green_blue", "cool_city"]
    npv = data["variants"]["green_blue"]["cost_benefit"]["npv"]["p50"]
    assert eur(npv) in html
