"""The report's text and tables: a card per variant (its headline changes, the municipality
that gains most, known explanations), the indicators for the whole city, per municipality and
per population group. The numbers and verdicts come from the ``Comparison``."""

from __future__ import annotations

import numpy as np

from metrotwin.results.fields import verdict
from metrotwin.results.indicators import change, change_units
from metrotwin.viz.explanations import explain
from metrotwin.viz.report_format import (
    BETTER_TEXT,
    E,
    fmt,
    fmt_change,
    row_unit,
    scaled,
    table,
)


# -- the variants' cards -------------------------------------------------------------------------
def cards(comp) -> str:
    """One card per variant: what it is, what it changes, its headline results."""
    alone = len(comp.variants) == 1
    out = [_card(comp, v, alone) for v in comp.variants]
    title = "The variants" if len(comp.variants) > 1 else "The variant"
    return f"<h2>{title}</h2><div class='cards'>{''.join(out)}</div>"


def _card(comp, v: str, alone: bool) -> str:
    desc = comp.descriptions.get(v, "")
    inter = comp.interventions.get(v, [])
    body = f"<p>{E(desc)}</p>" if desc else ""
    if inter and (v != comp.baseline or alone):
        body += "<p class='small mute'>Changes: " + "; ".join(E(i) for i in inter) + "</p>"
    area = comp.change_area.get(v, {})
    if area and v != comp.baseline:
        body += "<p class='small'>" + ", ".join(
            f"{E(lab)} {fmt(a['all'], 'ha')}" for lab, a in area.items()) + "</p>"  # fmt: skip
    if v != comp.baseline:
        body += _headline(comp, v)
    return (f"<div class='card'><h3>{E(v)}"
            f"{' (reference)' if v == comp.baseline and not alone else ''}</h3>"
            f"{body}</div>")  # fmt: skip


def _headline(comp, variant) -> str:
    """The largest changes of a variant and the municipality that gains most."""
    lines = []
    for row, diff, pct in comp.largest_changes(variant):
        f, u = row_unit(row, comp)
        lines.append(f"<li>{E(row.description or row.name)}: "
                     f"{fmt_change(diff * f, pct, row.better, change_units(u))}</li>")  # fmt: skip
    if not lines:
        return "<p class='mute small'>No indicator changes.</p>" if comp.rows else ""
    return f"<ul>{''.join(lines)}</ul>{_gains_most(comp, variant)}{_why(comp, variant)}"


def _gains_most(comp, variant) -> str:
    gains = comp.gains_most(variant)
    if gains is None:
        return ""
    top, wins, improving = gains
    return (f"<p><b>Gains most: {E(top)}</b> <span class='small mute'>(it improves most on "
            f"{wins} of the {improving} indicators that improve in some municipality)"
            "</span></p>")  # fmt: skip


def _why(comp, variant) -> str:
    """The known explanations of the variant's surprising results (``viz.explanations``)."""
    found: dict = {}
    for row in comp.rows:
        if not comp.is_main(row):
            continue
        diff, _ = change(row.values.get(variant), row.values.get(comp.baseline))
        item = explain(comp.intervention_types.get(variant, []), row.key, diff)
        if item is not None:
            found.setdefault(item, []).append(row.description or row.name)
    return "".join(
        f"<div class='small why'><p><b>{E(item.question)}</b> {E(item.text)}</p>"
        f"<p class='mute'>It explains the {'rise' if item.rises else 'fall'} of: "
        f"{E('; '.join(names))}.</p></div>"
        for item, names in found.items()
    )


# -- the indicator tables ------------------------------------------------------------------------
def _values_table(comp, rows, get, first: str = "Indicator") -> str:
    """Indicator rows (grouped by model) x variants; ``get(row, variant)`` gives a value.
    Each variant's cell holds its value and, below, its change from the reference."""
    header = [first, f"{E(comp.baseline)}"] + [E(v) for v in comp.others]
    out, model = [], None
    for row in rows:
        if row.model != model:
            model = row.model
            title = "derived from the maps" if model == "maps" else f"{model} model"
            out.append([f"<b>{E(title)}</b>"] + [""] * (len(header) - 1))
        out.append(_values_row(comp, row, get))
    return table(header, out)


def _values_row(comp, row, get) -> list[str]:
    f, u = row_unit(row, comp)
    base = get(row, comp.baseline)
    cells = [f"{E(row.description or row.name)}<span class='d'><span class='tech'>"
             f"{E(row.name)}{' (' + E(u) + ')' if u else ''}, </span>"
             f"{BETTER_TEXT.get(row.better, '')}</span>", fmt(scaled(base, f), u)]  # fmt: skip
    return cells + [_value_cell(row, get(row, v), base, f, u) for v in comp.others]


def _value_cell(row, val, base, f: float, u: str) -> str:
    """A variant's value and, below it, its change from the reference."""
    diff, pct = change(val, base, ratio=row.ratio)
    return (f"{fmt(scaled(val, f), u)}<span class='d'>"
            f"{fmt_change(scaled(diff, f), pct, row.better, change_units(u))}</span>")  # fmt: skip


def _total(row, v):
    return row.values.get(v)


def indicator_table(comp) -> str:
    if not comp.rows:
        return ""
    main = [r for r in comp.rows if comp.is_main(r)]
    tech = [r for r in comp.rows if not comp.is_main(r)]
    intro = ("Each variant's value, with its change from the reference below it."
             if comp.others else "The run's value of each indicator.")  # fmt: skip
    if "night" not in comp.parts_of_day or "day" not in comp.parts_of_day:
        intro += (f" The run covers {'daytime' if 'day' in comp.parts_of_day else 'night'} "
                  "only: indicators of the other part of the day are left out.")  # fmt: skip
    out = ["<h2 id='indicators'>Indicators for the whole city</h2>"
           f"<p class='small mute'>{intro}</p>", _values_table(comp, main, _total)]  # fmt: skip
    if tech:
        out.append(f"<details><summary class='small'>{len(tech)} technical indicators (water "
                   "budgets, model checks)</summary>" + _values_table(comp, tech, _total)
                   + "</details>")  # fmt: skip
    return "".join(out)


# -- per municipality ----------------------------------------------------------------------------
def municipalities(comp) -> str:
    rows_with = [r for r in comp.rows if r.by_district]
    out = ["<h2 id='municipalities'>Per municipality</h2>"]
    if not comp.districts:
        return out[0] + "<p class='mute'>This city has no municipalities in its district layer.</p>"
    if not rows_with and not any(comp.change_area.values()):
        return ""
    if rows_with and len(comp.variants) > 1:
        out.append(_gains_table(comp, rows_with))
    elif not rows_with and comp.rows:
        out.append("<p class='mute'>No indicator is given per municipality in these runs.</p>")
    if rows_with:
        out.append("<p class='small mute'>Every indicator in each municipality (tap to open):</p>")
        out += [_municipality(comp, rows_with, d) for d in comp.districts]
    if comp.change_area and any(comp.change_area.values()):
        out.append(_change_area_table(comp))
    return "".join(out)


def _municipality(comp, rows, d: str) -> str:
    """The folded table of every indicator in municipality ``d``."""
    def get(row, v):
        return (row.by_district.get(v) or {}).get(d)

    return (f"<details><summary><b>{E(d)}</b>: {_tally(comp, rows, get)}"
            "</summary>" + _values_table(comp, rows, get) + "</details>")  # fmt: skip


def _tally(comp, rows, get) -> str:
    """``green_blue better on 15, worse on 3 indicators; ...`` for a summary line."""
    parts = []
    for v in comp.others:
        verdicts = [verdict(change(get(r, v), get(r, comp.baseline))[0], r.better) for r in rows]
        parts.append(f"{E(v)} <span class='better'>better on {verdicts.count('better')}</span>, "
                     f"<span class='worse'>worse on {verdicts.count('worse')}</span>")  # fmt: skip
    return "; ".join(parts) + f" of {len(rows)} indicators" if parts else f"{len(rows)} indicators"


def _gains_table(comp, rows) -> str:
    """Which municipality gains most from each variant, indicator by indicator."""
    body = [[E(row.description or row.name)]
            + [_gain_cell(row, row.best_district(v, comp.baseline)) for v in comp.others]
            for row in rows]  # fmt: skip
    return ("<h3>Which municipality gains most</h3><p class='small mute'>For each indicator, "
            "the municipality whose value improves most (relative to its own reference value) "
            "under each variant; the tables below give every municipality's numbers.</p>"
            + table(["Indicator", *[E(v) for v in comp.others]], body))  # fmt: skip


def _gain_cell(row, gain) -> str:
    if gain is None:
        return "<span class='same'>none</span>"
    sign = "+" if row.better == "higher" else "−"
    if not row.ratio:  # a temperature: its difference in K
        pct = f" ({sign}{fmt(abs(gain[2]))} K)"
    else:
        pct = f" ({sign}{fmt(abs(gain[1]))} %)" if np.isfinite(gain[1]) else ""
    return f"<span class='better'>{E(gain[0])}</span><span class='d'>{pct}</span>"


def _change_area_table(comp) -> str:
    header = ["Variant: change", *[E(d) for d in comp.districts], "whole city"]
    rows = []
    for v in comp.variants:
        for label, per in comp.change_area.get(v, {}).items():
            rows.append([f"{E(v)}: {E(label)}", *[fmt(per.get(d), "ha") for d in comp.districts],
                         fmt(per.get("all"), "ha")])  # fmt: skip
    return ("<h3>Where each variant changes the city (area, hectares)</h3>"
            "<p class='small mute'>An area can count under more than one change (a green roof "
            "in a district whose drains are upgraded).</p>" + table(header, rows))  # fmt: skip


# -- per population group ------------------------------------------------------------------------
def groups(comp) -> str:
    """One table: for each indicator given by population group, a row per group."""
    rows_with = [r for r in comp.rows if r.by_group]
    if not rows_with:
        return ""
    header = ["Group", E(comp.baseline)] + [E(v) for v in comp.others]
    body = []
    for row in rows_with:
        f, u = row_unit(row, comp)
        body.append([f"<b>{E(row.description or row.name)}</b><span class='d'>"
                     f"{E(u) + ', ' if u else ''}{BETTER_TEXT.get(row.better, '')}</span>"]
                    + [""] * len(header[1:]))  # fmt: skip
        for g in comp.groups:
            b = (row.by_group.get(comp.baseline) or {}).get(g)
            body.append([E(g), fmt(scaled(b, f), u)]
                        + [_value_cell(row, (row.by_group.get(v) or {}).get(g), b, f, u)
                           for v in comp.others])  # fmt: skip
    return ("<h2 id='groups'>By population group</h2><p class='small mute'>Travel and heat "
            "exposure of each group of people, as the mobility model reports them: who gains "
            "and who loses under each variant.</p>" + table(header, body))  # fmt: skip
