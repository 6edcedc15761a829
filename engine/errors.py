"""Errors that reach the user as one clear message (exit status 2), never as a traceback."""

from __future__ import annotations

from metrotwin.scenario.messages import bounded


class MetrotwinError(Exception):
    """Base of every error metrotwin reports to a user.

    The message names the field or file, the value, and what would be valid; it is cut to
    ``metrotwin.scenario.messages.MAX_MESSAGE`` characters (a screenful), whatever built it.
    """

    def __init__(self, message="", *args):
        super().__init__(bounded(message), *args)


class ScenarioError(MetrotwinError):
    """The scenario file (or something it names) is invalid; found before any work starts."""

    def __init__(self, message: str, *, source: str | None = None):
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class DataSourceError(MetrotwinError):
    """A data file the scenario names is missing, unreadable or does not fit the domain."""


class CouplingError(MetrotwinError):
    """The models of a scenario do not fit together (a read variable nobody writes, units)."""


class ModelError(MetrotwinError):
    """A model failed while running (e.g. a numerical blow-up), with the model named."""


class CheckpointError(MetrotwinError):
    """A checkpoint cannot be used to continue a run: a file of it is missing, changed or
    unreadable, it was saved by another metrotwin or with another scenario, or it is of
    the old pickle format (never read: unpickling can run code)."""


class Checkpointed(MetrotwinError):
    """The run stopped after saving a checkpoint (on SIGTERM/SIGUSR1, e.g. before a batch
    job's wall-time limit); ``metrotwin run --restart`` continues it."""

    exit_code = 75  # EX_TEMPFAIL: resubmit


class OutputError(MetrotwinError):
    """The output folder cannot take this run: another run holds it, it is not writable or
    the disk is full, or the run would replace a finished run or a folder the user made."""


class Interrupted(Checkpointed):
    """The run stopped on Ctrl-C: finished variants are kept, the running one saved a
    checkpoint where it could; ``metrotwin run --restart`` continues it."""

    exit_code = 130  # 128 + SIGINT, what shells expect of a program stopped by Ctrl-C
