"""All readings of a scenario in one table, in the form of a CF discrete-sampling-geometry
timeSeries: a *station* (one sensor measuring one variable) table and an *obs* table of
readings, each reading pointing at its station and keeping its quality flag."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metrotwin.observe.flags import GOOD, WITHHELD, counts, rejection_summary


@dataclass
class ObservationSet:
    """Readings with their stations; values in the variables' model units, times in UTC.

    Station arrays (length n_station): ``sensor_id``, ``variable`` (names), ``x``, ``y``
    (scenario CRS, m; NaN unknown), ``lon``, ``lat`` (degrees; NaN when given as x, y),
    ``error_std`` (model units), ``interval`` (counting interval of vehicle counts, s),
    ``cell`` (flat grid index, -1 none), ``link`` (link index, -1 none), ``distance`` (from the
    sensor to its cell centre or link centre line, m).

    Reading arrays (length n_obs, in the order read): ``station`` (index), ``time``
    (datetime64[ns], UTC; NaT when malformed), ``value`` (model units), ``flag`` (see
    :mod:`metrotwin.observe.flags`), ``source`` (index into ``sources``).
    """

    sensor_id: np.ndarray
    variable: np.ndarray
    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    error_std: np.ndarray
    interval: np.ndarray
    cell: np.ndarray
    link: np.ndarray
    distance: np.ndarray
    station: np.ndarray
    time: np.ndarray
    value: np.ndarray
    flag: np.ndarray
    source: np.ndarray
    sources: list[str]

    @property
    def n_station(self) -> int:
        return len(self.sensor_id)

    @property
    def n_obs(self) -> int:
        return len(self.station)

    def counts(self) -> dict[str, int]:
        """Readings per flag meaning."""
        return counts(self.flag)

    def summary(self) -> str:
        """One line for the run log: kept, withheld, rejected by reason."""
        return rejection_summary(self.flag)

    @property
    def usable(self) -> np.ndarray:
        """Mask of the readings the analysis may use (good) or verify against (withheld)."""
        return (self.flag == GOOD) | (self.flag == WITHHELD)

    def for_analysis(self, start, end, variable: str):
        """The good readings of ``variable`` with ``start <= time < end`` (datetime64): their
        (cell or link index, value, error std, reading index), for the analysis step."""
        var = self.variable[self.station] == variable
        when = (self.time >= np.datetime64(start, "ns")) & (self.time < np.datetime64(end, "ns"))
        rows = np.flatnonzero((self.flag == GOOD) & var & when)
        st = self.station[rows]
        target = np.where(self.link[st] >= 0, self.link[st], self.cell[st])
        return target, self.value[rows], self.error_std[st], rows
