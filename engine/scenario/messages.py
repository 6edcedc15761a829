"""Bounded text for error messages: a user value is quoted by ``short_repr`` (never the whole
value: an alias-expanded YAML list or a file's contents could be megabytes), and a whole
message is cut to ``MAX_MESSAGE`` characters by ``bounded``."""

from __future__ import annotations

import reprlib

#: most characters of one message to the user (a screenful; the rest is cut with a note)
MAX_MESSAGE = 2000

_repr = reprlib.Repr()
_repr.maxlevel = 2
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 4
_repr.maxstring = _repr.maxother = 60
_repr.maxlong = 40


def short_repr(value, limit: int = 80) -> str:
    """``repr(value)`` of at most ``limit`` characters, built without expanding the whole
    value (nested containers are elided by ``reprlib``, so the cost does not depend on the
    value's size)."""
    if isinstance(value, str):  # reprlib would cut a path in the middle at 60 characters
        text = repr(value[: limit + 1])
    else:
        text = _repr.repr(value)
    return text if len(text) <= limit else text[: max(limit - 3, 1)] + "..."


def bounded(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` cut to ``limit`` characters, saying how much was left out."""
    message = str(message)
    if len(message) <= limit:
        return message
    note = f" ... ({len(message) - limit} more characters left out)"
    return message[: limit - len(note)] + note
