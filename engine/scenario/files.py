"""Paths in a scenario file: ``${METROTWIN_REFDATA}`` expanded, relative paths taken from the
scenario's folder, and the file checked to be an existing regular file. Used by every schema
with a file in it (the scenario, its data sources, the models' parameters)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from metrotwin.scenario.messages import short_repr

DEFAULT_REFDATA = "../shared/data"
REFDATA_VARIABLE = "${METROTWIN_REFDATA}"


def expand_path(value: str) -> str:
    """``${METROTWIN_REFDATA}`` replaced by the reference-data folder and ``~`` by the home
    folder; no other variable is expanded (its value could be a secret). Messages name the
    path as written, never the expanded one."""
    if REFDATA_VARIABLE in value:
        # the default is beside the working copy: ../shared/data seen from the current folder
        folder = os.environ.get("METROTWIN_REFDATA") or os.path.abspath(DEFAULT_REFDATA)
        value = value.replace(REFDATA_VARIABLE, folder)
    return os.path.expanduser(value)


class FilePath(str):
    """A path in a scenario: ``${METROTWIN_REFDATA}`` is expanded, relative paths are taken
    from the scenario file's folder, and the file must exist."""


def check_file(value: Any, info) -> Path:
    """The path of an existing regular file: a FIFO or device would block or never end, a
    folder cannot be read as a file. Messages name the path as written in the scenario."""
    if not isinstance(value, (str, Path)) or not str(value):
        raise ValueError(f"expected a file path, got {short_repr(value)}")
    written = str(value)
    path = Path(expand_path(written))
    base = (info.context or {}).get("base_dir") if info.context else None
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    shown = short_repr(written, 200)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        hint = ""
        if REFDATA_VARIABLE in written:
            hint = " (the public reference data: set METROTWIN_REFDATA to its folder)"
        raise ValueError(f"file not found: {shown}{hint}") from None
    except (OSError, ValueError) as err:  # permissions, a name too long, a NUL byte
        raise ValueError(f"cannot use the file {shown} ({type(err).__name__})") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
        raise ValueError(f"{shown} is {kind}; give a data file")
    return path
