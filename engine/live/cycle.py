"""One cycle of a live twin: the assimilating variant advanced from its last analysis to the
next coupling time with the readings that arrived, analysed, and checkpointed atomically.

A cycle does what one coupling step of ``metrotwin run`` does, in the same order: the
members and the control advance to the step's end, the readings of the window since the
last analysis are analysed (``AssimilatingCoupler.advance_to``), the clock moves on. The only
difference is where the readings come from: the coupler is handed, before each step, every
reading heard so far (``AssimilatingCoupler.observe``), in arrival order. An offline run
reading the journal as its observations CSV holds the same readings in the same rows, so each
analysis picks the same readings in the same order and the analyses agree bit for bit
(tests/engine/live/test_cycle.py), provided that every reading arrived before the cycle of
its time ran (a later one is kept, but its window was analysed without it).

After the analysis the whole ensemble is saved (``metrotwin.results.checkpoint``: written
beside, then renamed), so that a twin killed at any point continues from its last analysis.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from metrotwin.city.build import build_city
from metrotwin.errors import CheckpointError, ScenarioError
from metrotwin.live.observations import LiveObservations
from metrotwin.live.reading import Reading
from metrotwin.results.checkpoint import (
    has_checkpoint,
    read_checkpoint,
    saved_time,
    write_checkpoint,
)
from metrotwin.results.indicators import IndicatorSeries
from metrotwin.results.output import write_json
from metrotwin.run.runner import PreparedVariant, prepare_variant

log = logging.getLogger("metrotwin.live")

#: simulated seconds within which two times are the same (the clock adds float intervals)
TIME_TOLERANCE_S = 1e-9
#: how many readings the coupler held at each recent checkpoint, beside it: a restart hands
#: the coupler that many of the journal's first readings, the shape its checkpoint has
READINGS_FILE = "readings.json"


def next_step_end(coupler, t: float) -> float | None:
    """The end (s) of the coupling step ``Coupler.run`` takes from ``t``: the next coupling
    time, never past an output time or the period's end; None at the end."""
    clock = coupler.ctx.clock
    if t >= clock.end - TIME_TOLERANCE_S:
        return None
    k = int(t // clock.coupling_interval + 1e-9) + 1
    until = min(k * clock.coupling_interval, clock.end)
    later = [o for o in coupler.output_times() if o > t + TIME_TOLERANCE_S]
    return min(until, later[0]) if later else until


class LiveCycle:
    """The assimilating ``variant`` of ``scenario`` kept by a live twin whose state (the
    checkpoint) lives in ``folder``.

    ``add(readings)`` takes what arrived; ``run()`` runs one cycle (returns its time, s
    since the period's start); ``restore()`` continues from the checkpoint after a crash."""

    def __init__(self, scenario, folder: Path, *, variant: str = "baseline"):
        if scenario.assimilation is None or scenario.observations is None:
            raise ScenarioError("a live twin assimilates its sensors: the scenario needs an "
                                "observations section (its sensor tables) and an assimilation "
                                "section", source="assimilation")  # fmt: skip
        self.folder = Path(folder)
        city = build_city(scenario)
        self.observations = LiveObservations(scenario.observations, Path("."), city)
        # snapped on the city first (the coupler needs a set), then on the variant's state,
        # on which an offline run snaps: an intervention may put a building on a sensor
        self.p: PreparedVariant = prepare_variant(
            scenario, variant, city, observations=self.observations.observation_set())
        self.observations.bind(self.p.state)
        self.p.coupler.initialize()
        self.p.coupler.observe(self.observations.observation_set())

    # -- what the twin asks ----------------------------------------------------------------
    @property
    def coupler(self):
        return self.p.coupler

    @property
    def t(self) -> float:
        """Simulated time (s since the period's start) of the last analysis."""
        return self.p.ctx.clock.now

    def datetime_at(self, t: float) -> datetime:
        """The UTC time of simulated time ``t`` (s; naive: the period's start is UTC)."""
        start = self.p.scenario.period.start
        if start.tzinfo is not None:
            start = start.astimezone(timezone.utc).replace(tzinfo=None)
        return start + timedelta(seconds=float(t))

    @property
    def next_time(self) -> float | None:
        """Simulated time (s) of the next cycle; None when the period has ended."""
        return next_step_end(self.p.coupler, self.t)

    def add(self, readings: Iterable[Reading]) -> int:
        """Take the readings that arrived (in arrival order); returns how many."""
        return self.observations.add(readings)

    # -- the cycle -------------------------------------------------------------------------
    def run(self) -> float:
        """Advance to the next coupling time with every reading heard so far, analyse, and
        save the checkpoint; returns the cycle's time (s). ``ValueError`` after the end."""
        until = self.next_time
        if until is None:
            raise ValueError("the twin's period has ended: no cycle left to run")
        coupler = self.p.coupler
        coupler.observe(self.observations.observation_set())
        coupler.advance_to(until)
        self.p.ctx.clock.now = until
        self.checkpoint()
        log.info("cycle at t = %g s: %d readings analysed so far", until, coupler.assimilated)
        return until

    def checkpoint(self) -> None:
        """Save the ensemble at the last analysis (atomically: the previous checkpoint stays
        until this one is complete), the count of readings it holds noted first."""
        self.folder.mkdir(parents=True, exist_ok=True)
        counts = self._saved_counts()
        counts[repr(float(self.t))] = self.p.coupler.obs.n_obs
        # this one and the one before: a crash between the two leaves either in place
        write_json(self.folder / READINGS_FILE, dict(list(counts.items())[-2:]))
        write_checkpoint(self.folder, self.p, t=self.t, records=0, series=IndicatorSeries(),
                         tile=None)  # fmt: skip

    def _saved_counts(self) -> dict[str, int]:
        path = self.folder / READINGS_FILE
        try:
            counts = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            raise CheckpointError(f"{path} cannot be read; delete {self.folder} to start the "
                                  "twin afresh from the journal") from None  # fmt: skip
        if not (isinstance(counts, dict)
                and all(isinstance(n, int) and n >= 0 for n in counts.values())):  # fmt: skip
            raise CheckpointError(f"{path} is not a map of times to reading counts; delete "
                                  f"{self.folder} to start the twin afresh from the journal")
        return counts

    def restore(self) -> bool:
        """Continue from the checkpoint in ``folder``, if there is one (checked first:
        ``CheckpointError`` for a damaged one or one of another scenario), with the readings
        heard so far (``add`` the journal first). Returns whether there was one."""
        if not has_checkpoint(self.folder):
            return False
        t = saved_time(self.folder)
        count = self._saved_counts().get(repr(t))
        heard = len(self.observations.readings)
        if count is None or count > heard:
            raise CheckpointError(
                f"{self.folder}: the checkpoint at t = {t} s was made with "
                f"{'an unknown number of' if count is None else count} readings, and the "
                f"journal holds {heard}; delete {self.folder} to start the twin afresh from "
                "the journal")  # fmt: skip
        coupler = self.p.coupler
        coupler.observe(self.observations.observation_set(count))  # the checkpoint's shape
        read_checkpoint(self.folder, self.p)
        coupler.observe(self.observations.observation_set())
        log.info("restarted from the checkpoint at t = %g s", self.t)
        return True
