"""The comparison report of a risk run: per variant its expected annual flood damage and heat
deaths with their 90 % bands, what it costs, its net present value and benefit-cost ratio
(bands over the samples), the ranking of the variants, who gains (benefit per resident by
district), exceedance-probability maps and which uncertain input matters. The numbers come
from ``metrotwin.results.risk.risk_comparison``; this module draws them."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from metrotwin.results.output import write_json, write_text_atomic
from metrotwin.results.risk.costs import unit_costs
from metrotwin.results.risk.risk_comparison import (
    EAD,
    EXCEEDANCE,
    HEAT_DEATHS,
    RiskComparison,
    compare_risk,
)
from metrotwin.results.rundata import open_fields
from metrotwin.viz.report_format import E, figure, fmt, table
from metrotwin.viz.report_risk_events import districts_section, events_section
from metrotwin.viz.report_risk_figures import exceedance_grid, sensitivity_chart
from metrotwin.viz.report_style import CSS

log = logging.getLogger("metrotwin.report")

#: the report's numbers for programs, beside report.html
RISK_COMPARISON_FILE = "risk_comparison.json"
#: a sensitivity index's 95 % half-width above which the report says the samples are too few
WIDE_CONFIDENCE = 0.1

SECTIONS = (("risk", "Risk and cost-benefit"), ("ranking", "Ranking"), ("costs", "Costs"),
            ("events", "Events"), ("districts", "Districts"), ("equity", "Who gains"), ("exceedance", "Exceedance maps"),
            ("sensitivity", "Which uncertainty matters"),
            ("assumptions", "Assumptions"))  # fmt: skip


def write_risk_report(folders: list[Path], path: Path) -> Path:
    """Write the risk report of the risk variant folders ``folders`` to ``path``."""
    comp = compare_risk(folders)
    body = [
        _header(comp), _risk_table(comp), _ranking(comp), _costs(comp),
        events_section(comp, eur), districts_section(comp, eur), _equity(comp),
        _exceedance(comp), _sensitivity(comp), _assumptions(comp),
    ]  # fmt: skip
    title = f"{comp.scenario or 'risk run'}: risk of the variants"
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{E(title)}</title><style>{CSS}</style></head>"
            f"<body><main>{''.join(body)}</main></body></html>")  # fmt: skip
    write_json(Path(path).parent / RISK_COMPARISON_FILE, comp.to_json())
    write_text_atomic(Path(path), page)
    log.info("risk report %s written", path)
    return Path(path)


# -- numbers ----------------------------------------------------------------------------------
def eur(v: float | None) -> str:
    """``€1.25 M``, ``€350 k``, ``−€12``: an amount in EUR, short."""
    if v is None or not np.isfinite(v):
        return "–"
    sign, a = ("−" if v < 0 else ""), abs(v)
    for div, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if a >= div:
            return f"{sign}€{fmt(a / div)}{suffix}"
    return f"{sign}€{fmt(a)}"


def unit_label(unit: str) -> str:
    """How the report writes a unit-cost unit (m², m³, m, tree, link)."""
    return {"m2": "m²", "m3": "m³", "tree": "trees", "link": "links"}.get(unit, E(unit))


def banded(b: dict | None, form=fmt) -> str:
    """The median of a band with its 90 % range under it (5 % to 95 %) and the mean."""
    if not b:
        return "–"
    return (f"{form(b['p50'])}<span class='d'>90 %: {form(b['p05'])} to {form(b['p95'])}"
            f"<br>mean {form(b['mean'])}</span>")  # fmt: skip


def _share_positive(values) -> float | None:
    values = np.asarray(values or [], dtype=float)
    return float(np.mean(values > 0)) if values.size else None


# -- sections ---------------------------------------------------------------------------------
def _header(comp: RiskComparison) -> str:
    nav = " ".join(f'<a href="#{a}">{t}</a>' for a, t in SECTIONS)
    e = comp.hazards.economics
    samples = len(comp.baseline.risk.get("ead_per_sample") or [])
    notes = "".join(f"<p class='mute small'>{E(n)}</p>" for n in comp.notes)
    return (f"<h1>{E(comp.scenario or 'Risk run')}: risk of the variants</h1><nav>{nav}</nav>"
            f"<p>Each variant was run for every design event and every sample of the uncertain "
            f"inputs ({samples} samples, {E(comp.hazards.sampling.method)} design). Bands are "
            f"the 5 % to 95 % range over the samples. Money in EUR of {e.price_year}; costs and "
            f"benefits discounted at {fmt(100 * e.discount_rate)} % over {e.horizon_years} "
            f"years; the reference is <b>{E(comp.baseline.name)}</b>.</p>{notes}")  # fmt: skip


def _risk_table(comp: RiskComparison) -> str:
    rows = []
    for v in comp.variants:
        cba = v.cba or {}
        share = _share_positive(cba.get("npv_per_sample"))
        rows.append([
            f"<b>{E(v.name)}</b>", banded(v.risk.get(EAD), eur),
            banded(v.risk.get(HEAT_DEATHS)), eur(v.present_cost) if v.cba else "–",
            banded(cba.get("annual_benefit"), eur), banded(cba.get("npv"), eur),
            banded(cba.get("bcr")),
            "–" if share is None else f"{fmt(100 * share)} %",
        ])  # fmt: skip
    header = ["Variant", "Expected annual damage (per yr)", "Heat deaths per year",
              "Cost (present value)", "Benefit per year", "Net present value",
              "Benefit–cost ratio", "Samples with NPV > 0"]  # fmt: skip
    return (f"<h2 id='risk'>Risk and cost-benefit</h2>{table(header, rows)}"
            "<p class='small mute'>Benefit: the baseline's expected annual damage and heat "
            "deaths less the variant's, sample by sample (the same draws in both), deaths "
            "valued by the life years they cost. Each cell: median, then its 90 % range and "
            "the mean.</p>")  # fmt: skip


def _ranking(comp: RiskComparison) -> str:
    ranked = comp.ranking()
    if not ranked:
        return ""
    items = []
    for v in ranked:
        npv, bcr = v.cba["npv"], v.cba["bcr"]
        ratio = f"; BCR {fmt(bcr['p50'])} ({fmt(bcr['p05'])} to {fmt(bcr['p95'])})" if bcr else ""
        gains = f"; gains most: <b>{E(v.gains_most)}</b>" if v.gains_most else ""
        items.append(f"<li><b>{E(v.name)}</b>: NPV {eur(npv['p50'])} (90 %: {eur(npv['p05'])} "
                     f"to {eur(npv['p95'])}){ratio}{gains}</li>")  # fmt: skip
    overlap = len(ranked) > 1 and ranked[1].cba["npv"]["p95"] >= ranked[0].cba["npv"]["p05"]
    caution = ("<p class='small'>The bands of the first two overlap: on these samples the "
               "ranking of the leaders is not certain.</p>") if overlap else ""  # fmt: skip
    return (f"<h2 id='ranking'>Ranking by median net present value</h2><ol>{''.join(items)}"
            f"</ol>{caution}")  # fmt: skip


def _costs(comp: RiskComparison) -> str:
    rows = []
    for v in comp.others:
        for c in v.costs:
            rows.append([E(v.name), E(c.label), f"{fmt(c.quantity)} {unit_label(c.unit)}",
                         eur(c.capital),
                         eur(c.renewals), eur(c.maintenance),
                         f"<b>{eur(c.total)}</b>"])  # fmt: skip
    if not rows:
        return ""
    header = ["Variant", "Intervention", "Quantity", "Capital", "Renewals", "Upkeep",
              "Present cost"]  # fmt: skip
    return (f"<h2 id='costs'>Costs of the interventions</h2>{table(header, rows)}"
            "<p class='small mute'>Quantities from the cells each intervention changed; unit "
            "costs and their sources under Assumptions. Renewals at each end of life within "
            "the horizon; upkeep every year.</p>")  # fmt: skip


def _equity(comp: RiskComparison) -> str:
    districts = sorted({d for v in comp.others for d in v.per_resident})
    if not districts:
        return ""
    rows = [[E(d)] + [eur(v.per_resident.get(d)) for v in comp.others] for d in districts]
    gains = "".join(f"<li>{E(v.name)}: <b>{E(v.gains_most or 'no district gains')}</b></li>"
                    for v in comp.others)  # fmt: skip
    return (f"<h2 id='equity'>Who gains: avoided flood damage per resident and year</h2>"
            f"{table(['District'] + [E(v.name) for v in comp.others], rows)}"
            f"<p>The district that gains most per resident:</p><ul>{gains}</ul>"
            "<p class='small mute'>Mean expected annual damage avoided in the district divided "
            "by its residents (the heat-death benefit is not split by district).</p>")  # fmt: skip


def _exceedance(comp: RiskComparison) -> str:
    ranked = comp.ranking()
    shown = [comp.baseline] + ranked[:1]
    figs = []
    for v in shown:
        with open_fields(v.folder) as ds:
            if EXCEEDANCE not in ds:
                continue
            figs.append(figure(
                exceedance_grid(ds[EXCEEDANCE].load(), title=f"{v.name}: P(flood depth > "
                                "threshold) by return period"),
                f"{v.name}: probability over the samples that the flood depth exceeds each "
                "threshold, for each return period's event"))  # fmt: skip
    if not figs:
        return ""
    which = " and the best-ranked variant" if ranked else ""
    return (f"<h2 id='exceedance'>Exceedance maps: the baseline{which}</h2>"
            f"<div class='grid'>{''.join(figs)}</div>")  # fmt: skip


def _sensitivity(comp: RiskComparison) -> str:
    results = comp.baseline.sensitivity
    notes = "".join(f"<li>{E(r.indicator)}: {E(r.note)}</li>" for r in results if r.note)
    if any(r.method != "morris" and max(r.main_conf, default=0) > WIDE_CONFIDENCE
           for r in results):  # fmt: skip
        notes += ("<li>Some confidence intervals are wider than ±"
                  f"{fmt(WIDE_CONFIDENCE)}: too few samples to rank the inputs firmly (an "
                  "index may even come out above 1 or below 0); more members narrow them as "
                  "1/√N.</li>")  # fmt: skip
    notes = f"<ul class='small mute'>{notes}</ul>" if notes else ""
    if not any(r.main for r in results):
        return (f"<h2 id='sensitivity'>Which uncertainty matters</h2>{notes}"
                if results else "")  # fmt: skip
    chart = figure(sensitivity_chart(results),
                   f"{comp.baseline.name}: sensitivity of the headline indicators to the "
                   "uncertain inputs (bars: index; whiskers: 95 % confidence)")  # fmt: skip
    return (f"<h2 id='sensitivity'>Which uncertainty matters ({E(comp.baseline.name)})</h2>"
            f"<div style='max-width:720px'>{chart}</div>{notes}"
            "<p class='small mute'>Sobol' indices (saltelli design): the share of the "
            "indicator's variance an input explains alone (S1) and with its interactions (ST). "
            "Morris (morris design): mean absolute elementary effect mu* and its spread sigma. "
            "Latin hypercube or Sobol samples: RBD-FAST first-order indices.</p>")  # fmt: skip


def _assumptions(comp: RiskComparison) -> str:
    e = comp.hazards.economics
    used = sorted({c.type for v in comp.others for c in v.costs})
    table_rows = unit_costs(e)
    rows = [[E(t), unit_label(table_rows[t].unit), f"€{fmt(table_rows[t].cost_per_unit)}",
             f"€{fmt(table_rows[t].maintenance_per_unit_year)}",
             fmt(table_rows[t].lifetime_years), str(table_rows[t].price_year),
             f"<span class='small' style='display:block;text-align:left;min-width:24em'>"
             f"{E(table_rows[t].basis)}</span>"] for t in used]  # fmt: skip
    costs = table(["Type", "Unit", "Cost per unit", "Upkeep per unit-yr", "Life (yr)",
                   "Price year", "Basis"], rows) if rows else ""  # fmt: skip
    return (f"<h2 id='assumptions'>Assumptions</h2><ul class='small'>"
            f"<li>Discount rate {fmt(100 * e.discount_rate)} %/yr over {e.horizon_years} "
            f"years; prices brought to {e.price_year} at {fmt(100 * e.inflation_rate)} %/yr.</li>"
            f"<li>Value of a life year {eur(e.value_per_life_year)} ({e.life_year_price_year} "
            f"prices); {fmt(e.life_years_lost_per_death)} life year(s) lost per heat death."
            "</li>"
            "<li>Benefits the same every year of the horizon (no growth, no climate trend); "
            "no residual value at the horizon.</li></ul>"
            f"<h3>Unit costs used</h3>{costs}")  # fmt: skip
