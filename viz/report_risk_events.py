"""The risk report's tables by event and by district: what each return period's event does
(damage, people and buildings exposed, facilities cut off, heat deaths) and the expected
annual damage of each district, each with its 90 % band over the samples. The numbers are
the summarizer's (``risk.json``: ``metrotwin.results.risk.summary``)."""

from __future__ import annotations

from metrotwin.results.risk.risk_comparison import RiskComparison
from metrotwin.viz.report_format import E, fmt, table


def _cell(entry: dict | None, form=fmt) -> str:
    """Median and 90 % range of one band entry (``p05``, ``p50``, ``p95``)."""
    if not entry:
        return "–"
    return (f"{form(entry['p50'])}<span class='d'>90 %: {form(entry['p05'])} to "
            f"{form(entry['p95'])}</span>")  # fmt: skip


def count(value: float) -> str:
    """A number of people, buildings or facilities (a median may fall between two counts).

    >>> count(43.0), count(7187.5), count(0.0)
    ('43', '7,188', '0')
    """
    return f"{value:,.0f}" if value >= 10 or float(value).is_integer() else f"{value:.1f}"


def _per_period(section: dict | None, key: str) -> dict[float, dict]:
    return {e["return_period"]: e for e in ((section or {}).get(key) or [])}


def _event_rows(risk: dict, eur) -> list[list[str]]:
    flood, heat, facilities = risk.get("flood"), risk.get("heat"), risk.get("facilities")
    columns = [(_per_period(flood, "damage_by_return_period"), eur),
               (_per_period(flood, "exposed_people_by_return_period"), count),
               (_per_period(flood, "exposed_buildings_by_return_period"), count),
               (_per_period(facilities, "cut_off_by_return_period"), count),
               (_per_period(heat, "deaths_by_return_period"), fmt)]  # fmt: skip
    return [[f"{t:g} yr"] + [_cell(col.get(t), form) for col, form in columns]
            for t in risk.get("return_periods") or []]  # fmt: skip


def events_section(comp: RiskComparison, eur) -> str:
    """Per variant, one row per return period's event; ``eur`` formats an amount."""
    header = ["Event", "Flood damage", "People exposed", "Buildings exposed",
              "Facilities cut off", "Heat deaths (event)"]  # fmt: skip
    parts = []
    for v in comp.variants:
        rows = _event_rows(v.risk, eur)
        if rows:
            parts.append(f"<h3>{E(v.name)}</h3>{table(header, rows)}")
    if not parts:
        return ""
    return ("<h2 id='events'>What each event does</h2>" + "".join(parts)
            + "<p class='small mute'>Per design event (a return period's storm and heatwave), "
            "over its samples: median and 90 % range. Exposed: water deeper than the exposure "
            "depth next to the building; a facility (public building) is cut off when no open "
            "road links it to the main network at the flood's peak.</p>")  # fmt: skip


def districts_section(comp: RiskComparison, eur) -> str:
    """Expected annual damage per district (rows) and variant (columns), with bands."""
    by_variant = {v.name: ((v.risk.get("flood") or {}).get("expected_annual_damage") or {})
                  .get("by_district") or {} for v in comp.variants}  # fmt: skip
    districts = sorted({d for bands in by_variant.values() for d in bands})
    if not districts:
        return ""
    rows = [[E(d)] + [_cell(by_variant[v.name].get(d), eur) for v in comp.variants]
            for d in districts]  # fmt: skip
    return ("<h2 id='districts'>Expected annual damage by district</h2>"
            + table(["District"] + [E(v.name) for v in comp.variants], rows)
            + "<p class='small mute'>Per year, median over the samples and its 90 % range; "
            "risk_districts.csv in each variant's folder has the residents, buildings, "
            "damage and people exposed per return period and the heat deaths.</p>")  # fmt: skip
