"""One accepted sensor reading, as the journal keeps it and the cycle assimilates it.

Its fields are those of a row of an observations CSV (``sensor_id, time, variable, value,
units``: see ``metrotwin.observe.read_csv``), so that the journal of a live twin is also the
observations file of an offline run that must give the same analyses.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the CSV header of a journal exported for an offline run
CSV_COLUMNS = ("sensor_id", "time", "variable", "value", "units")


@dataclass(frozen=True)
class Reading:
    """``sensor_id`` (as in the scenario's sensors table), ``time`` (ISO 8601 in UTC with a
    ``Z``, to the second: ``2026-07-15T06:10:00Z``), ``variable`` (the sensor's), ``value``
    (finite, in ``units``)."""

    sensor_id: str
    time: str
    variable: str
    value: float
    units: str

    @property
    def key(self) -> tuple[str, str]:
        """What makes a reading a duplicate: the same sensor at the same time."""
        return (self.sensor_id, self.time)

    def csv_row(self) -> tuple:
        """The reading as a row under ``CSV_COLUMNS``.

        >>> Reading("gauge00", "2026-07-15T06:10:00Z", "water_depth", 0.25, "m").csv_row()
        ('gauge00', '2026-07-15T06:10:00Z', 'water_depth', 0.25, 'm')
        """
        return (self.sensor_id, self.time, self.variable, self.value, self.units)
