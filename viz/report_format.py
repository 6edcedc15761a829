"""How the comparison report writes numbers, changes, tables and pictures in HTML."""

from __future__ import annotations

import base64
import html

import numpy as np

from metrotwin.viz.colors import verdict

E = html.escape

#: what a row's ``better`` means, under its name
BETTER_TEXT = {"lower": "lower is better", "higher": "higher is better",
               "neither": "neither direction is better"}  # fmt: skip
#: units of the indicators -> how the report writes them
UNIT_LABELS = {"degree_C": "°C", "m3": "m³", "1": "", "m s-1": "m/s", "h-1": "per hour",
               "W m-2": "W/m²", "km h-1": "km/h", "km2": "km²", "K min": "K·min"}  # fmt: skip


def display_units(units: str, magnitude: float) -> tuple[float, str]:
    """(factor, label) to show values of ``units`` with the given typical magnitude."""
    if units == "m2":
        return (1e-4, "ha") if magnitude >= 1e4 else (1.0, "m²")
    if units == "s" and magnitude >= 600:
        return (1 / 60, "min")
    if units == "h" and 0 < magnitude < 1:
        return (60.0, "min")
    if units == "km2" and magnitude < 0.1:
        return (100.0, "ha")
    return 1.0, UNIT_LABELS.get(units, units)


def row_unit(row, comp=None) -> tuple[float, str]:
    """(factor, label) of an indicator row's values, from their magnitude (and that of its
    time series in ``comp``)."""
    vals = [abs(v) for v in row.values.values() if v is not None]
    if comp is not None:
        for series in comp.series.get(row.key, {}).values():
            vals += [abs(v) for v in series if v is not None]
    return display_units(row.units, max(vals, default=0.0))


def fmt(v: float | None, unit: str = "") -> str:
    if v is None or not np.isfinite(v):
        return "–"
    a = abs(v)
    if a >= 1000:
        text = f"{v:,.0f}"
    elif a >= 100:
        text = f"{v:.0f}"
    elif a >= 10:
        text = f"{v:.1f}"
    elif a == 0:
        text = "0"
    else:
        text = f"{v:.3g}"
    text = text.replace("-", "−")
    return f"{text} {unit}".strip() if unit else text


def fmt_change(diff: float | None, pct: float | None, better: str, unit: str) -> str:
    """``▼ 1.2 ha (−12 %)`` in green (better) or red (worse), plain where neither direction
    is better. ``unit`` is that of the change (K for a temperature, ``change_units``)."""
    if diff is None:
        return '<span class="same">–</span>'
    v = verdict(diff, better)
    arrow = "▲" if diff > 0 else "▼" if diff < 0 else "="
    sign = "+" if diff > 0 else ""
    p = "" if pct is None else f" ({'+' if pct > 0 else ''}{fmt(pct)} %)"
    if v == "same":
        return '<span class="same">no change</span>'
    return f'<span class="{v}">{arrow} {sign}{fmt(diff, unit)}{p}</span>'


def scaled(v, f):
    return None if v is None else v * f


def img_tag(data: bytes, alt: str, mime: str = "image/png") -> str:
    b64 = base64.b64encode(data).decode("ascii")
    # no loading="lazy": a printed page or a screenshot would show lazy images blank
    return f'<img src="data:{mime};base64,{b64}" alt="{html.escape(alt)}">'


def figure(data: bytes, caption: str, mime: str = "image/png") -> str:
    return (f"<figure>{img_tag(data, caption, mime)}<figcaption>{html.escape(caption)}"
            "</figcaption></figure>")  # fmt: skip


def table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return (
        f"<div class='tbl'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )
