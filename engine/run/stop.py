"""Stopping a run on request: SIGTERM and SIGUSR1 (what Slurm sends before the time limit) and
Ctrl-C save a checkpoint at the next coupling step; the message then says what was kept and
how to continue."""

from __future__ import annotations

import os
import signal

from metrotwin.errors import Checkpointed, Interrupted
from metrotwin.hpc.decomposition import is_root
from metrotwin.run.outdir import OutputFolder


class stop_signals:
    """SIGTERM and SIGUSR1 (what Slurm sends before the time limit) and a first Ctrl-C ask
    the run to save a checkpoint at the next coupling step and stop; a second Ctrl-C stops
    at once (KeyboardInterrupt). After ``disarm`` (the variants are being put in place) a
    Ctrl-C is only noted: stopping then would gain nothing and could lose a variant."""

    def __enter__(self):
        self.requested = False
        self.interrupted = False
        self.armed = True
        self._root = is_root()  # under MPI, one rank says it
        self._previous = {}
        for sig in (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: no signal handling
                pass
        return self

    def _handle(self, signum, frame):
        if signum == signal.SIGINT:
            if self.interrupted and self.armed:
                raise KeyboardInterrupt
            if not self.interrupted and self.armed and self._root:
                # os.write: print could re-enter a write of the progress bar to stderr
                os.write(2, b"metrotwin: interrupted; saving a checkpoint at the next coupling "
                            b"step (Ctrl-C again to stop at once)\n")  # fmt: skip
            self.interrupted = True
        self.requested = True

    def disarm(self) -> None:
        self.armed = False

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


def stopped_error(err: BaseException, folder: OutputFolder, stop: stop_signals) -> Checkpointed:
    """The message of a run stopped by a signal or Ctrl-C, after its finished variants are
    published: what was kept, and how to continue."""
    folder.publish(folder.finished_in_work())
    kind = Interrupted if stop.interrupted or isinstance(err, KeyboardInterrupt) else Checkpointed
    if not folder.can_resume():
        what = "interrupted" if kind is Interrupted else "stopped"
        return kind(f"{what} before any variant finished or saved a checkpoint; nothing was "
                    f"kept in {folder.path}")  # fmt: skip
    parts = [str(err) if isinstance(err, Checkpointed) else "interrupted"]
    if folder.done:
        parts.append(f"finished variant(s) kept in {folder.path}: {', '.join(folder.done)}")
    if not isinstance(err, Checkpointed):
        parts.append(f"continue with: metrotwin run SCENARIO -o {folder.path} --restart")
    return kind("; ".join(parts))
