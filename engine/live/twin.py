"""The loop of a live twin: restart from the last checkpoint if there is one, replay the
journal's readings, then cycle as readings arrive and the clock says, publishing a nowcast and
a forecast each cycle.

The ingest side (the MQTT client and the journal) drives it through three calls:

* ``LiveTwin(scenario, out, options=..., clock=..., publisher=...)``;
* ``start(journal)``: every reading the journal holds, in the journal's order; the twin
  continues from its checkpoint (a twin that was killed) and catches up;
* ``feed(readings, arrived=..., counts=...)`` for each batch of readings accepted (already
  journaled, in arrival order), and ``poll()`` when none came (a wall clock's cycle may be
  due); ``counts``: accepted and quarantined totals, for ``status.json``.

``run_live(twin, batches, journal)`` is that loop over an iterable of batches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from metrotwin import __version__
from metrotwin.live.alerts import Places, forecast_warnings
from metrotwin.live.clock import SimulatedClock, WallClock, reading_time, utc_now
from metrotwin.live.cycle import LiveCycle
from metrotwin.live.forecast import KEY_FIELDS, Forecast, run_forecast
from metrotwin.live.publish import (
    CyclePublisher,
    Publisher,
    cycle_name,
    headline,
    indicators_json,
    write_fields,
)
from metrotwin.live.reading import Reading
from metrotwin.results.output import write_json

log = logging.getLogger("metrotwin.live")

#: where the twin keeps its checkpoint, in its output folder
STATE_DIR = "state"


@dataclass
class TwinOptions:
    """``horizon``: seconds forecast each cycle; ``keep``: cycle folders kept;
    ``silent_after``: seconds without a reading after which a sensor is reported silent;
    ``topic``: where MQTT messages go (``<topic>/status``, ...); ``thresholds``: field ->
    warning threshold (``metrotwin.live.alerts.THRESHOLDS`` otherwise)."""

    horizon: float = 7200.0
    keep: int = 24
    silent_after: float = 1800.0
    topic: str = "city/twin"
    thresholds: dict[str, float] = field(default_factory=dict)


def iso(when: datetime) -> str:
    """A naive UTC datetime as ISO 8601 with a ``Z``, to the second."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class LiveTwin:
    """A live twin of ``scenario`` (its ``variant``) writing into ``out``; ``clock``: when
    cycles run (default: the wall clock); ``publisher(topic, payload, retain=True)``: MQTT."""

    def __init__(self, scenario, out: Path, *, options: TwinOptions | None = None,
                 clock: SimulatedClock | WallClock | None = None,
                 publisher: Publisher | None = None, variant: str = "baseline"):  # fmt: skip
        self.out = Path(out)
        self.options = options or TwinOptions()
        self.clock = clock if clock is not None else WallClock()
        self.cycle = LiveCycle(scenario, self.out / STATE_DIR, variant=variant)
        self.publisher = CyclePublisher(self.out, keep=self.options.keep, publisher=publisher,
                                        topic=self.options.topic)  # fmt: skip
        self.last_heard: dict[str, datetime] = {}
        self.last_arrival: float | None = None  # wall time (time.time()) of the newest reading
        self.counts: dict[str, int] = {}
        self.late = 0  # readings that arrived after the cycle of their time had run
        self.forecast: Forecast | None = None

    @property
    def finished(self) -> bool:
        """Whether the scenario's period is over (no cycle left)."""
        return self.cycle.next_time is None

    # -- what the ingest side calls ---------------------------------------------------------
    def start(self, journal: Iterable[Reading] = ()) -> list[dict]:
        """Continue from the checkpoint if there is one, with every reading of ``journal``
        (all accepted so far, in order); publish the restored analysis again (a twin killed
        after its checkpoint may not have published it, or not all of its messages), then
        the cycles that are due. Returns the statuses published."""
        self._hear(list(journal), None)
        published = [self._publish()] if self.cycle.restore() else []
        return published + self._run_due()

    def feed(self, readings: Iterable[Reading], *, arrived: float | None = None,
             counts: dict[str, int] | None = None) -> list[dict]:  # fmt: skip
        """Take readings that arrived (journaled, in arrival order; ``arrived``: wall time
        of the last, default now) and run the cycles that are due; returns their statuses."""
        readings = list(readings)
        if counts:
            self.counts.update(counts)
        self._hear(readings, time.time() if arrived is None and readings else arrived)
        return self._run_due()

    def poll(self) -> list[dict]:
        """Run the cycles that are due with what has arrived."""
        return self._run_due()

    def tick(self) -> list[dict]:
        """Run the next cycle now (a simulated clock), whatever has arrived."""
        self.clock.tick()
        return self._run_due()

    # -- the loop --------------------------------------------------------------------------
    def _hear(self, readings: list[Reading], arrived: float | None) -> None:
        self.cycle.add(readings)
        self.clock.heard(readings)
        analysed_until = self.cycle.datetime_at(self.cycle.t)
        for r in readings:
            when = reading_time(r)
            if when is not None and self.cycle.t > 0 and when <= analysed_until:
                self.late += 1  # kept (an offline run of the journal analyses it)
            if when is not None and (r.sensor_id not in self.last_heard
                                     or when > self.last_heard[r.sensor_id]):  # fmt: skip
                self.last_heard[r.sensor_id] = when
        if readings and arrived is not None:
            self.last_arrival = arrived

    def _run_due(self) -> list[dict]:
        published = []
        while (t := self.cycle.next_time) is not None and self.clock.due(self.cycle.datetime_at(t)):
            self.cycle.run()
            published.append(self._publish())
        return published

    def _publish(self) -> dict:
        """Forecast from the analysis, then publish the cycle; returns its status."""
        cycle, p = self.cycle, self.cycle.p
        when = cycle.datetime_at(cycle.t)
        self.forecast = run_forecast(cycle.coupler, p.scenario, self.options.horizon)
        places = Places.of(p.state, cycle.coupler.obs)
        warnings = forecast_warnings(self.forecast, places, self.options.thresholds)
        indicators = cycle.coupler.indicators()
        status = {}

        def write(nowcast: Path, forecast: Path) -> None:
            self._write_nowcast(nowcast, indicators, when)
            self._write_forecast(forecast, when)
            status.update(self._status(when, warnings))

        self.publisher.publish(cycle_name(when), write, status, warnings, headline(indicators))
        log.info("published the cycle at %s: %d warning(s)", iso(when), len(warnings))
        return status

    def _write_nowcast(self, folder: Path, indicators: dict, when: datetime) -> None:
        p = self.cycle.p
        outputs = {n: s for n, s in p.coupler.output_variables().items() if n in KEY_FIELDS}
        write_fields(folder / "fields.nc", p.state, outputs, [self.cycle.t],
                     start=p.scenario.period.start, attrs=self._attrs("nowcast", when))  # fmt: skip
        write_json(folder / "indicators.json", indicators_json(indicators, iso(when)))

    def _write_forecast(self, folder: Path, when: datetime) -> None:
        f, p = self.forecast, self.cycle.p
        run = f.coupler
        outputs = {n: s for n, s in run.output_variables().items() if n in f.fields}
        snapshots = [{n: f.fields[n][i] for n in f.fields} for i in range(len(f.times))]
        write_fields(folder / "fields.nc", run.state, outputs, [float(t) for t in f.times],
                     start=p.scenario.period.start, attrs=self._attrs("forecast", when),
                     snapshots=snapshots)  # fmt: skip
        write_json(folder / "indicators.json", indicators_json(f.indicators, iso(when)))

    def _attrs(self, kind: str, when: datetime) -> dict:
        p = self.cycle.p
        return {"title": f"metrotwin live {kind} of scenario {p.scenario.name} at {iso(when)}",
                "source": f"metrotwin {__version__}", "scenario": p.scenario.name,
                "variant": p.name, "history": f"{iso(utc_now())} metrotwin live"}  # fmt: skip

    def _status(self, when: datetime, warnings: list[dict]) -> dict:
        """The cycle's ``status.json``: times, sensors, counts, latency, warnings."""
        o, cycle = self.options, self.cycle
        since = when - timedelta(seconds=cycle.p.ctx.clock.coupling_interval)
        silent_since = when - timedelta(seconds=o.silent_after)
        declared = sorted({s.sensor_id for s in cycle.observations.sensors})
        published = time.time()
        status = {
            "cycle_time": iso(when), "simulated_seconds": cycle.t,
            "published_at": iso(utc_now()),
            "scenario": cycle.p.scenario.name, "variant": cycle.p.name,
            "forecast_until": iso(when + timedelta(seconds=o.horizon)),
            "readings_heard": len(cycle.observations.readings),
            "readings_assimilated": int(cycle.coupler.assimilated),
            "readings_late": self.late,
            "sensors_declared": len(declared),
            "sensors_heard_from": sorted(s for s, t in self.last_heard.items() if t > since),
            "sensors_silent": [s for s in declared
                               if self.last_heard.get(s, datetime.min) <= silent_since],
            "silent_after_s": o.silent_after,
            "latency_s": (None if self.last_arrival is None
                          else round(published - self.last_arrival, 3)),
            "warnings": [w["text"] for w in warnings],
        }  # fmt: skip
        if self.counts:
            status["counts"] = dict(self.counts)
        return status


def run_live(twin: LiveTwin, batches: Iterable[Iterable[Reading]],
             journal: Iterable[Reading] = (),
             counts: Callable[[], dict[str, int]] | None = None) -> int:  # fmt: skip
    """Start ``twin`` with ``journal`` and feed it each of ``batches`` (an empty batch: a
    chance for a wall clock's cycle), until the batches end or the period does (a twin
    restarted after its period published its last cycle again and returns at once); with a
    simulated clock the cycles up to the feed's last reading run once it ends. ``counts()``:
    the ingest's counts, for ``status.json``, asked after each batch. Returns the number of
    cycles published."""
    done = len(twin.start(journal))
    if twin.finished:
        return done
    for batch in batches:
        done += len(twin.feed(batch, counts=counts() if counts else None))
        if twin.finished:
            return done
    clock = twin.clock
    if isinstance(clock, SimulatedClock):  # the cycle of the feed's last time
        while (not twin.finished and clock.newest is not None
               and clock.newest >= twin.cycle.datetime_at(twin.cycle.next_time)):  # fmt: skip
            done += len(twin.tick())
    return done
