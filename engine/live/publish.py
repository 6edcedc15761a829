"""What a live twin publishes each cycle, atomically, into its output folder ``OUT``:

* ``OUT/cycles/<time>/`` (``<time>``: the cycle's UTC time, ``20260715T061000Z``), written
  as ``OUT/cycles/.<time>.part`` and renamed when complete, holding ``nowcast/`` (the analysis:
  ``fields.nc`` with the key CF fields, ``indicators.json``, ``status.json``) and
  ``forecast/`` (``fields.nc`` at every coupling time of the horizon, ``indicators.json``,
  ``warnings.json``); the last ``keep`` cycles are kept;
* ``OUT/nowcast`` and ``OUT/forecast``: links to the newest complete cycle's folders,
  replaced in one ``rename`` each (a reader never sees a half-written folder: a failure
  leaves the previous cycle's in place) and ``OUT/status.json`` (written beside, renamed);
* to MQTT, through an injected ``publisher(topic, payload, retain=True)``: the status
  (``<topic>/status``), the warnings (``<topic>/alerts``) and the headline indicators
  (``<topic>/indicators``), retained, so a client that connects later gets the latest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from metrotwin import __version__
from metrotwin.errors import OutputError
from metrotwin.results.output import FieldWriter, write_json

CYCLES_DIR = "cycles"
NOWCAST, FORECAST = "nowcast", "forecast"
STATUS_FILE = "status.json"
#: a cycle folder's name: its UTC time
CYCLE_NAME = re.compile(r"^[0-9]{8}T[0-9]{6}Z$")

Publisher = Callable[..., object]


def cycle_name(when) -> str:
    """The folder name of a cycle at ``when`` (a naive UTC datetime)."""
    return when.strftime("%Y%m%dT%H%M%SZ")


def write_fields(path: Path, state, outputs: dict, times: list[float], *, start, attrs: dict,
                 snapshots: list[dict] | None = None) -> None:  # fmt: skip
    """A CF ``fields.nc`` of ``outputs`` (name -> VarSpec) of ``state`` at ``times`` (s
    since ``start``); ``snapshots`` (one name -> array per time) put into the state before
    each record (a forecast's fields), else the state as it is (one time)."""
    writer = FieldWriter(path, state, outputs, start=start, attrs=attrs)
    ok = False
    try:
        for i, t in enumerate(times):
            for name, values in (snapshots[i] if snapshots else {}).items():
                state[name][...] = values
            writer.append(t)
        ok = True
    finally:
        writer.close(success=ok)


def headline(indicators: dict) -> dict[str, float | None]:
    """The totals of ``indicators`` (model -> name -> ``Indicator``) as ``model.name``."""
    return {f"{model}.{key}": ind.to_json()["value"]
            for model, inds in indicators.items() for key, ind in inds.items()}  # fmt: skip


def indicators_json(indicators: dict, cycle_time: str) -> dict:
    """``indicators.json`` of a nowcast or forecast issued at ``cycle_time`` (ISO 8601)."""
    return {"cycle_time": cycle_time, "metrotwin_version": __version__,
            "models": {m: {k: ind.to_json() for k, ind in inds.items()}
                       for m, inds in indicators.items()}}  # fmt: skip


class CyclePublisher:
    """Publishes each cycle into ``out`` and to ``publisher`` (None: files only) under
    ``topic``; keeps the last ``keep`` cycle folders."""

    def __init__(self, out: Path, *, keep: int = 24, publisher: Publisher | None = None,
                 topic: str = "city/twin"):  # fmt: skip
        if keep < 1:
            raise ValueError(f"keep = {keep}: at least the newest cycle is kept")
        self.out, self.keep, self.publisher, self.topic = Path(out), keep, publisher, topic
        self.cycles = self.out / CYCLES_DIR

    def latest(self) -> str | None:
        """The name of the cycle ``OUT/nowcast`` shows (None: nothing published yet)."""
        link = self.out / NOWCAST
        if not link.is_symlink():
            return None
        return Path(os.readlink(link)).parent.name

    def publish(self, name: str, write: Callable[[Path, Path], None], status: dict,
                warnings: list[dict], headline_values: dict) -> Path:  # fmt: skip
        """Write cycle ``name`` (``write(nowcast folder, forecast folder)`` fills them,
        then the status is added), switch the links to it, prune, and publish to MQTT."""
        self.cycles.mkdir(parents=True, exist_ok=True)
        final = self.cycles / name
        part = self.cycles / f".{name}.part"
        shutil.rmtree(part, ignore_errors=True)  # what a crashed cycle left
        (part / NOWCAST).mkdir(parents=True)
        (part / FORECAST).mkdir()
        try:
            write(part / NOWCAST, part / FORECAST)
            write_json(part / NOWCAST / STATUS_FILE, status)
            write_json(part / FORECAST / "warnings.json", {"cycle_time": status["cycle_time"],
                                                           "warnings": warnings})  # fmt: skip
            replaced = self.cycles / f".{name}.old"
            if final.exists():  # the same cycle again (a restart): the old one set aside
                shutil.rmtree(replaced, ignore_errors=True)
                final.rename(replaced)
            part.rename(final)
        except BaseException:
            shutil.rmtree(part, ignore_errors=True)
            raise
        shutil.rmtree(replaced, ignore_errors=True)
        for what in (NOWCAST, FORECAST):
            _relink(self.out / what, Path(CYCLES_DIR) / name / what)
        write_json(self.out / STATUS_FILE, status)
        self._prune()
        self._announce(status, warnings, headline_values)
        return final

    def _prune(self) -> None:
        """Remove the cycle folders older than the last ``keep`` (only folders named as
        cycles; never the one the links show)."""
        names = sorted(p.name for p in self.cycles.iterdir()
                       if p.is_dir() and not p.is_symlink()
                       and CYCLE_NAME.match(p.name))  # fmt: skip
        shown = self.latest()
        for old in names[:-self.keep]:
            if old != shown:
                shutil.rmtree(self.cycles / old)

    def _announce(self, status: dict, warnings: list[dict], headline_values: dict) -> None:
        if self.publisher is None:
            return
        alerts = {"cycle_time": status["cycle_time"], "warnings": [w["text"] for w in warnings]}
        indicators = {"cycle_time": status["cycle_time"], "indicators": headline_values}
        for sub, payload in (("status", status), ("alerts", alerts),
                             ("indicators", indicators)):  # fmt: skip
            self.publisher(f"{self.topic}/{sub}", json.dumps(payload, allow_nan=False),
                           retain=True)  # fmt: skip


def _relink(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` in one rename (a new link beside, renamed over it).
    Refuses to replace anything but a link (a user's folder of that name stays)."""
    if link.exists() and not link.is_symlink():
        raise OutputError(f"{link} is not a link the live twin made (a folder or file of "
                          "yours?); move it away or choose another output folder with -o")
    tmp = link.with_name(f".{link.name}.link")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)
