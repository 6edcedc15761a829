"""Design storms: an IDF relation (``metrotwin.scenario.hazards``) turned into a hyetograph in
the form the scenario's rain forcing takes (``forcing.rainfall.hyetograph``: [time since start
(s), intensity (mm/h)] pairs, each intensity holding until the next time; a last pair at the
storm's end stops the rain).

Both methods are built from the IDF depth curve ``D(d) = i(d) * d`` (mm for a storm of
duration ``d``):

- Chicago (Keifer & Chu 1957, J. Hydraul. Div. ASCE 83(HY4), 1332): the storm whose every
  window of duration ``d`` around the peak (a fraction ``r`` before it, ``1 - r`` after) holds
  exactly the IDF depth ``D(d)``. Its cumulative depth is ``P(tp) - P(tp - r x) = r D(x)`` and
  ``P(tp + (1 - r) x) - P(tp) = (1 - r) D(x)``; each block's rate is the exact mean of the
  Keifer & Chu instantaneous intensity over the block (for the parametric IDF,
  ``i(t_b) = a ((1 - c) t_b / r + b) / (t_b / r + b)^(1 + c)``, t_b in minutes before the peak).
- Alternating block (Chow, Maidment & Mays 1988, Applied Hydrology, sec. 14.4): the depth
  increments ``D(k dt) - D((k - 1) dt)``, largest at the peak block, the next ones placed
  alternately after and before it; the total is the IDF depth at the storm duration.

An IDF table is interpolated linearly in log(intensity) against log(duration) between its
durations, and held at its first intensity below the shortest one.

A centred 1-hour Chicago storm in 20-minute blocks: its middle block is the 20-minute IDF
intensity, 1200 / (20 + 8)^0.75 = 98.6 mm/h:

>>> from metrotwin.scenario.hazards import DesignStorms
>>> storms = DesignStorms.model_validate({
...     "idf": {"form": "parametric", "coefficients": {10: {"a": 1200, "b": 8, "c": 0.75}}},
...     "return_periods": [10],
...     "hyetograph": {"duration": "1 h", "time_step": "20 min", "peak_position": 0.5}})
>>> [(t, round(i, 1)) for t, i in design_hyetograph(storms, 10)]
[(0.0, 26.7), (1200.0, 98.6), (2400.0, 26.7), (3600.0, 0.0)]
"""

from __future__ import annotations

import numpy as np

from metrotwin.errors import ScenarioError
from metrotwin.scenario.hazards import DesignStorms, IdfParametric, IdfTable
from metrotwin.scenario.schema import MAX_RAIN

SECONDS_PER_HOUR = 3600.0


def idf_intensity(idf: IdfTable | IdfParametric, period: float, seconds) -> np.ndarray:
    """Mean intensity (mm/h) of the ``period``-year storm lasting ``seconds`` (s, > 0)."""
    seconds = np.asarray(seconds, dtype=float)
    if isinstance(idf, IdfParametric):
        return idf.intensity(period, seconds / 60.0)
    durations = np.log(np.asarray(idf.durations, dtype=float))
    log_i = np.log(np.asarray(idf.intensities[period], dtype=float))
    # np.interp holds the end values outside the table: the first intensity below the
    # shortest duration (a constant rate), the last above (refused by DesignStorms)
    return np.exp(np.interp(np.log(seconds), durations, log_i))


def idf_depth(idf: IdfTable | IdfParametric, period: float, seconds) -> np.ndarray:
    """IDF depth ``D(d) = i(d) d`` (mm) of the ``period``-year storm of ``seconds`` (s); 0 at 0."""
    seconds = np.asarray(seconds, dtype=float)
    out = np.zeros_like(seconds)
    wet = seconds > 0
    out[wet] = idf_intensity(idf, period, seconds[wet]) * seconds[wet] / SECONDS_PER_HOUR
    return out


def chicago_cumulative(storms: DesignStorms, period: float, times) -> np.ndarray:
    """Cumulative depth (mm) of the Chicago storm at ``times`` (s since its start)."""
    shape = storms.hyetograph
    r, total = shape.peak_position, shape.duration
    peak = r * total
    times = np.asarray(times, dtype=float)
    before_peak = r * idf_depth(storms.idf, period, total)  # depth fallen up to the peak
    out = np.empty_like(times)
    early = times < peak
    if r > 0:
        out[early] = before_peak - r * idf_depth(storms.idf, period, (peak - times[early]) / r)
    late = ~early
    if r < 1:
        after = (times[late] - peak) / (1 - r)
        out[late] = before_peak + (1 - r) * idf_depth(storms.idf, period, after)
    else:
        out[late] = before_peak
    return out


def alternating_block_depths(storms: DesignStorms, period: float) -> np.ndarray:
    """Depth (mm) of each block of the alternating-block storm, in time order."""
    shape = storms.hyetograph
    n = round(shape.duration / shape.time_step)
    cumulative = idf_depth(storms.idf, period, shape.time_step * np.arange(n + 1))
    increments = np.sort(np.diff(cumulative))[::-1]  # largest first
    peak = min(int(shape.peak_position * n), n - 1)
    order = _alternating_slots(peak, n)
    blocks = np.empty(n)
    blocks[order] = increments
    return blocks


def _alternating_slots(peak: int, n: int) -> np.ndarray:
    """Block indices from the peak outwards: peak, peak+1, peak-1, peak+2, ...; once one side
    is full the rest go to the other side."""
    slots = [peak]
    after, before = peak + 1, peak - 1
    while len(slots) < n:
        if after < n:
            slots.append(after)
            after += 1
        if before >= 0 and len(slots) < n:
            slots.append(before)
            before -= 1
    return np.asarray(slots)


def design_hyetograph(storms: DesignStorms, period: float) -> list[tuple[float, float]]:
    """The ``period``-year design storm as ``forcing.rainfall.hyetograph`` pairs: [(start of
    each block (s), mean intensity over the block (mm/h)), ..., (storm end (s), 0.0)].

    ScenarioError if a block's intensity exceeds MAX_RAIN (the bound on every rain input)."""
    if period not in storms.return_periods:
        raise ScenarioError(
            f"no design storm for a {period:g}-year return period; hazards.design_storms has "
            f"{', '.join(f'{t:g}' for t in storms.return_periods)}"
        )
    shape = storms.hyetograph
    n = round(shape.duration / shape.time_step)
    starts = shape.time_step * np.arange(n + 1)
    if shape.method == "chicago":
        blocks = np.diff(chicago_cumulative(storms, period, starts))
    else:
        blocks = alternating_block_depths(storms, period)
    rates = blocks * SECONDS_PER_HOUR / shape.time_step
    worst = float(rates.max())
    if worst > MAX_RAIN:
        raise ScenarioError(
            f"hazards.design_storms: the {period:g}-year {shape.method} storm reaches "
            f"{worst:g} mm/h in a {shape.time_step:g}-s block, above the {MAX_RAIN:g} mm/h "
            f"any rain input allows; lengthen hyetograph.time_step or check the IDF relation"
        )
    return [(float(t), float(i)) for t, i in zip(starts[:-1], rates)] + [(float(starts[-1]), 0.0)]
