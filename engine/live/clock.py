"""When a live twin runs its next cycle: on the wall clock (in operation) or on a simulated
clock (tests and replays), which runs a cycle once the feed's newest reading is later than
the next coupling time (every reading of the window has then arrived, from a feed in time
order), or when ticked."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from metrotwin.live.reading import Reading


def utc_now() -> datetime:
    """The wall clock's time, naive UTC (as the twin's cycle times)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def reading_time(reading: Reading) -> datetime | None:
    """A reading's time as a naive UTC datetime (None: not an ISO 8601 time)."""
    try:
        stamp = datetime.fromisoformat(reading.time.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(timezone.utc).replace(tzinfo=None)
    return stamp


class SimulatedClock:
    """Due once the newest reading heard is later than the next cycle's time, or ticked."""

    def __init__(self):
        self.newest: datetime | None = None
        self._ticks = 0

    def heard(self, readings: Iterable[Reading]) -> None:
        for reading in readings:
            stamp = reading_time(reading)
            if stamp is not None and (self.newest is None or stamp > self.newest):
                self.newest = stamp

    def tick(self) -> None:
        """Run the next cycle whatever has arrived."""
        self._ticks += 1

    def due(self, cycle_time: datetime) -> bool:
        """Whether the cycle at ``cycle_time`` (naive UTC) runs now; a tick is used up."""
        if self.newest is not None and self.newest > cycle_time:
            return True
        if self._ticks:
            self._ticks -= 1
            return True
        return False

    def wait(self, seconds: float) -> None:
        """Nothing to wait for: simulated time moves with the feed."""


class WallClock:
    """Due when the wall clock has passed the cycle's time by ``grace`` seconds (readings of
    the window's last instant are on their way)."""

    def __init__(self, grace: float = 30.0):
        self.grace = float(grace)

    def heard(self, readings: Iterable[Reading]) -> None:
        """The wall clock does not follow the feed."""

    def tick(self) -> None:
        """The wall clock runs cycles on time only."""

    def due(self, cycle_time: datetime) -> bool:
        return utc_now() >= cycle_time + timedelta(seconds=self.grace)

    def wait(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

