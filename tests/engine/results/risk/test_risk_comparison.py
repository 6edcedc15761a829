"""The comparison of a risk run's variants (metrotwin.results.risk.risk_comparison) on a fake
run whose numbers are known (tests/_support/risk_run.py)."""

import json

import numpy as np
import pytest

from metrotwin.errors import DataSourceError
from metrotwin.results.risk import RiskInputError
from metrotwin.results.risk.costs import unit_cost_table
from metrotwin.results.risk.risk_comparison import compare_risk, is_risk_folder
from tests._support.risk_run import DISTRICTS, RESOLUTION, VARIANTS, make_risk_run, per_sample


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_risk_run(tmp_path_factory.mktemp("risk"))


def _hand_cost(kind: str, cells: int) -> float:
    row = unit_cost_table()[kind]
    a = sum(1.03**-t for t in range(1, 31))
    renewals = sum(1.03**-t for t in np.arange(row.lifetime_years, 30 - 1e-9, row.lifetime_years))
    amount = cells * RESOLUTION**2 / (50.0 if row.unit == "tree" else 1.0)
    return amount * (row.cost_per_unit * (1 + renewals) + row.maintenance_per_unit_year * a)


def test_costs_npv_and_equity_by_hand(run):
    comp = compare_risk(sorted(run.iterdir()))
    assert [v.name for v in comp.variants] == ["baseline", "cool_city", "green_blue"]
    gb = next(v for v in comp.variants if v.name == "green_blue")
    cost = _hand_cost("green_roof", 1200) + _hand_cost("drainage_upgrade", 3000)
    assert gb.present_cost == pytest.approx(cost, rel=1e-12)
    ead_b, deaths_b = per_sample(1.0, 1.0)
    ead_v, deaths_v = per_sample(*VARIANTS["green_blue"][:2])
    # inflation 0 in the fixture: no price conversion; VOLY 40 000 EUR, 1 life year per death
    benefit = (ead_b - ead_v) + (deaths_b - deaths_v) * 40_000.0
    npv = benefit * sum(1.03**-t for t in range(1, 31)) - cost
    np.testing.assert_allclose(gb.cba["npv_per_sample"], npv, rtol=1e-12)
    assert gb.cba["npv"]["p50"] == pytest.approx(np.median(npv))
    assert [v.name for v in comp.ranking()] == ["green_blue", "cool_city"]
    # equity: mean district EAD shares of the fixture, per resident
    shares_b, shares_v = VARIANTS["baseline"][2], VARIANTS["green_blue"][2]
    expected = {d: (shares_b[d] * ead_b.mean() - shares_v[d] * ead_v.mean()) / n
                for d, n in DISTRICTS.items()}  # fmt: skip
    assert gb.per_resident == pytest.approx(expected)
    assert gb.gains_most == max(expected, key=expected.get)


def test_sensitivity_finds_the_input_each_indicator_depends_on(run):
    comp = compare_risk(sorted(run.iterdir()))
    ead, deaths = comp.baseline.sensitivity
    assert ead.method == deaths.method == "sobol"
    # EAD = c (1 + 3 u1 + 0.5 u2^2): u1 carries ~97 % of the variance; deaths = 3 + 2 u2:
    # u2 all of it
    assert ead.total[0] > ead.total[1] and deaths.total[1] > deaths.total[0]


def test_unreadable_risk_summary_names_the_file(tmp_path):
    folder = tmp_path / "baseline"
    folder.mkdir()
    (folder / "risk.json").write_text("{not json", encoding="utf-8")
    assert is_risk_folder(folder)
    with pytest.raises(DataSourceError, match=r"baseline/risk.json"):
        compare_risk([folder])


def test_samples_that_do_not_match_are_refused(run, tmp_path):
    risk = json.loads((run / "green_blue" / "risk.json").read_text())
    risk["ead_per_sample"] = risk["ead_per_sample"][:-1]
    bad = tmp_path / "green_blue"
    bad.mkdir()
    (bad / "risk.json").write_text(json.dumps(risk))
    with pytest.raises(RiskInputError, match="samples"):
        compare_risk([run / "baseline", bad])


@pytest.mark.parametrize("sampling, method", [
    ({"method": "morris", "members": 12, "levels": 4, "seed": 2}, "morris"),
    ({"method": "lhs", "members": 256, "seed": 2}, "rbd_fast"),
])  # fmt: skip
def test_each_design_gets_a_method_valid_on_it(tmp_path, sampling, method):
    comp = compare_risk(sorted(make_risk_run(tmp_path, sampling).iterdir()))
    ead, deaths = comp.baseline.sensitivity
    assert ead.method == deaths.method == method and not ead.note
    # EAD hangs on the first input (3 u1 against 0.5 u2^2), heat deaths on the second only
    assert ead.main[0] > ead.main[1] and deaths.main[1] > deaths.main[0]
    if method == "morris":  # a linear effect: mu* is the slope per unit quantile exactly
        slopes = [3 * 2.0e6, 2.0]  # EAD0 * 3 per u1, 2 deaths per u2
        assert ead.main[0] == pytest.approx(slopes[0])
        assert deaths.main[1] == pytest.approx(slopes[1])


def test_costs_come_from_a_member_that_ran_whole(tmp_path):
    """A member whose grid was split over ranks counted its interventions' cells on its tile
    only: the costs are read from a member that ran on one rank, and when every member ran
    split the report says its costs are too low."""
    import yaml  # noqa: PLC0415 - the test's own files

    root = make_risk_run(tmp_path / "run")
    whole = compare_risk(sorted(root.iterdir()))
    members = root / "green_blue" / "members"
    written = next(members.iterdir())  # the fixture's one resolved scenario
    resolved = yaml.safe_load((written / "scenario.resolved.yaml").read_text())
    (written / "scenario.resolved.yaml").unlink()
    ids = sorted(m["id"] for m in json.loads((root / "green_blue" / "risk.json").read_text())
                 ["members"])  # fmt: skip
    halved = {k: v // 2 for k, v in resolved["run"]["interventions_cells_changed"].items()}
    split = {**resolved, "run": {**resolved["run"], "ranks": 2,
                                 "interventions_cells_changed": halved}}  # fmt: skip
    for member, content in ((ids[0], split), (ids[1], resolved)):  # the split one read first
        (members / member).mkdir(exist_ok=True)
        (members / member / "scenario.resolved.yaml").write_text(yaml.safe_dump(content))
    again = compare_risk(sorted(root.iterdir()))
    cost = lambda comp: next(v for v in comp.variants if v.name == "green_blue").present_cost  # noqa: E731
    assert cost(again) == cost(whole) and not any("split" in n for n in again.notes)
    # every member split: the costs are what the tiles said, and the report says so
    (members / ids[1] / "scenario.resolved.yaml").write_text(yaml.safe_dump(split))
    last = compare_risk(sorted(root.iterdir()))
    assert cost(last) < cost(whole)
    assert any("green_blue ran on a grid split over ranks" in n for n in last.notes)
