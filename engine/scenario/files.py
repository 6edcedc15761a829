"""Paths in a scenario file: ``${METROTWIN_REFDATA}`` expanded, relative paths taken from the
scenario's folder, ``pkg://PACKAGE/PATH`` read from an installed package, and the file checked
to be an existing regular file. Used by every schema with a file in it (the scenario, its data
sources, the models' parameters)."""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
import stat
from pathlib import Path
from typing import Any

from metrotwin.scenario.messages import short_repr

DEFAULT_REFDATA = "../shared/data"
REFDATA_VARIABLE = "${METROTWIN_REFDATA}"
#: a file shipped inside an installed package: ``pkg://momepy/datasets/bubenec.gpkg``
PACKAGE_PREFIX = "pkg://"
#: how to get the packages whose data the ready-made scenarios read
EXAMPLES_HINT = "pip install metrotwin[examples]"


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


def package_file(written: str) -> Path:
    """The file ``PATH`` inside the installed package of ``pkg://PACKAGE/PATH``, read in place
    (nothing copied, nothing downloaded). ValueError naming the package when it is not
    installed, or the path when it is malformed."""
    package, _, inner = written[len(PACKAGE_PREFIX) :].partition("/")
    shown = short_repr(written, 200)
    if not package.isidentifier() or not inner:
        raise ValueError(f"{shown}: a package file is written pkg://PACKAGE/PATH/IN/PACKAGE")
    if importlib.util.find_spec(package) is None:
        raise ValueError(
            f"{shown}: the package {package!r} is not installed; {EXAMPLES_HINT} "
            f"(or pip install {package})"
        )
    return Path(str(importlib.resources.files(package).joinpath(*inner.split("/"))))


def missing_packages(data: Any) -> str | None:
    """One message for every ``pkg://PACKAGE/...`` path in the parsed scenario ``data`` whose
    package is not installed (a scenario names the same package in several sources), or
    None: each field would otherwise repeat it."""
    missing = sorted({p for p in _packages_named(data) if importlib.util.find_spec(p) is None})
    if not missing:
        return None
    names = ", ".join(missing)
    return (
        f"the scenario reads data shipped inside the package {names}, which is not installed; "
        f"{EXAMPLES_HINT} (or pip install {' '.join(missing)})"
    )


def _packages_named(data: Any):
    """The PACKAGE of every ``pkg://PACKAGE/...`` string anywhere in ``data``."""
    if isinstance(data, dict):
        data = list(data.values())
    if isinstance(data, list):
        for item in data:
            yield from _packages_named(item)
    elif isinstance(data, str) and data.startswith(PACKAGE_PREFIX):
        package = data[len(PACKAGE_PREFIX) :].partition("/")[0]
        if package.isidentifier():
            yield package


def check_file(value: Any, info) -> Path:
    """The path of an existing regular file: a FIFO or device would block or never end, a
    folder cannot be read as a file. Messages name the path as written in the scenario."""
    if not isinstance(value, (str, Path)) or not str(value):
        raise ValueError(f"expected a file path, got {short_repr(value)}")
    written = str(value)
    is_packaged = written.startswith(PACKAGE_PREFIX)
    path = package_file(written) if is_packaged else Path(expand_path(written))
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
        elif is_packaged:
            hint = " in the installed package (an older version? see the package's data files)"
        raise ValueError(f"file not found: {shown}{hint}") from None
    except (OSError, ValueError) as err:  # permissions, a name too long, a NUL byte
        raise ValueError(f"cannot use the file {shown} ({type(err).__name__})") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
        raise ValueError(f"{shown} is {kind}; give a data file")
    return path
