"""The risk report of a real (tiny) risk run: the summarizer's risk.json read by the report,
so the two agree on every key they share (the fake run of test_report_risk has the
comparison's keys only)."""

from __future__ import annotations

import copy
import json

import pytest

from metrotwin.results.risk.summary import RISK_FILE
from metrotwin.run.runner import run_scenario
from metrotwin.run.scenario import parse_scenario
from metrotwin.viz.report import compare_runs
from metrotwin.viz.report_risk import eur
from metrotwin.viz.report_risk_events import count
from tests.engine.scenario.test_hazards_fit import BASE


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data = copy.deepcopy(BASE)
    data["hazards"]["sampling"] = {"method": "morris", "members": 2, "levels": 4, "seed": 3}
    out = tmp_path_factory.mktemp("riskreport") / "out"
    results = run_scenario(parse_scenario(data), out, progress=False, report=compare_runs)
    risk = {v: json.loads((folder / RISK_FILE).read_text()) for v, folder in results.items()}
    html = (out / "comparison" / "report.html").read_text(encoding="utf-8")
    return out, risk, html


def test_the_report_shows_the_summarizers_numbers(run):
    out, risk, html = run
    for variant in ("baseline", "drained"):
        ead = risk[variant]["flood"]["expected_annual_damage"]["total"]
        assert ead["p50"] > 0
        for q in ("p05", "p50", "p95"):
            assert eur(ead[q]) in html, (variant, q)
        for event in risk[variant]["flood"]["exposed_people_by_return_period"]:
            assert count(event["p50"]) in html
    assert "What each event does" in html and "Expected annual damage by district" in html
    comparison = json.loads((out / "comparison" / "risk_comparison.json").read_text())
    assert comparison["ranking"] == ["drained"]
    # the run's hazards reach the report: its sampling design and the uncertain input
    assert "4 samples, morris design" in html and "default economics" not in html
    sensitivity = comparison["variants"]["baseline"]["sensitivity"]
    assert "models.flood.manning_uniform" in json.dumps(sensitivity)
