"""A strict format for what a checkpoint keeps besides the fields: JSON for the tree, HDF5
datasets for its arrays. Reading it runs nothing (no pickle, no eval, no object arrays).

The tree is what models' ``checkpoint()`` return: dicts with string keys, lists, strings,
booleans, None, numbers (Python or numpy scalars; integers of any size, so a numpy bit
generator's ``state`` is plain JSON) and numpy arrays of booleans or numbers. In the JSON an
array is ``{"__array__": NAME}``, the dataset NAME of the companion HDF5 file, and a float
that JSON cannot hold (nan, inf) is ``{"__float__": "nan" | "inf" | "-inf"}``; tuples become
lists. Anything else is refused when written, and anything else found when read.

``check_like`` compares a tree read back with the one the model gives now (same scenario,
freshly initialised): same keys, same kinds of values, arrays of the same dtype and shape, so
that a checkpoint of another shape is refused by name instead of broadcast into the state.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

ARRAY_TAG = "__array__"
FLOAT_TAG = "__float__"
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
#: dtype kinds an array may have: booleans, integers, unsigned, floats, complex
_NUMERIC_KINDS = "biufc"
_ARRAY_NAME = re.compile(r"^a[0-9]{6}$")
#: the deepest nesting read back (models' states are a few levels deep)
MAX_DEPTH = 64


class FormatError(ValueError):
    """A tree or a file does not follow the format; ``where`` is the dotted path in it."""

    def __init__(self, where: str, problem: str):
        self.where, self.problem = where, problem
        super().__init__(f"{where}: {problem}" if where else problem)


# -- writing ---------------------------------------------------------------------------------
def encode(tree: Any, arrays: dict[str, np.ndarray], where: str = "") -> Any:
    """A JSON-ready copy of ``tree``; its numpy arrays are added to ``arrays`` (under new
    names, for ``write_arrays``) and referenced by name. Raises ``FormatError`` naming the
    path of a value the format cannot hold."""
    if tree is None or isinstance(tree, (bool, str)):
        return tree
    if isinstance(tree, np.bool_):
        return bool(tree)
    if isinstance(tree, (int, np.integer)):
        return int(tree)
    if isinstance(tree, (float, np.floating)):
        value = float(tree)
        if math.isfinite(value):
            return value
        return {FLOAT_TAG: "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(tree, np.ndarray):
        if tree.dtype.kind not in _NUMERIC_KINDS or tree.dtype.fields is not None:
            raise FormatError(where, f"an array of dtype {tree.dtype}; only arrays of "
                                     "booleans or numbers can be saved")  # fmt: skip
        name = f"a{len(arrays):06d}"
        arrays[name] = np.array(tree, order="C")  # a copy (ascontiguousarray makes 0-d 1-d)
        return {ARRAY_TAG: name}
    if isinstance(tree, Mapping):
        out = {}
        for key, value in tree.items():
            if not isinstance(key, str):
                raise FormatError(where, f"a key {key!r} of type {type(key).__name__}; keys "
                                         "must be strings")  # fmt: skip
            if key in (ARRAY_TAG, FLOAT_TAG):
                raise FormatError(where, f"the key {key!r} is reserved by the checkpoint format")
            out[key] = encode(value, arrays, _join(where, key))
        return out
    if isinstance(tree, (list, tuple)):
        return [encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(tree)]
    raise FormatError(where, f"a {type(tree).__module__}.{type(tree).__qualname__}; a checkpoint "
                             "holds numbers, strings, booleans, None, lists, dicts with string "
                             "keys and numpy arrays of numbers")  # fmt: skip


def dumps(data: Any) -> bytes:
    """Canonical JSON (sorted keys, no spaces, UTF-8) of an ``encode``d tree."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")  # fmt: skip


def write_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """The arrays of an ``encode``d tree, one dataset each."""
    with h5py.File(path, "w") as f:
        for name, values in arrays.items():
            f.create_dataset(name, data=values)


# -- reading ---------------------------------------------------------------------------------
def loads(raw: bytes) -> Any:
    """Parse JSON strictly: UTF-8, no NaN/Infinity literals, no repeated keys."""

    def no_constant(name):
        raise FormatError("", f"the JSON literal {name} (non-finite floats are tagged)")

    def no_repeats(pairs):
        out = {}
        for key, value in pairs:
            if key in out:
                raise FormatError("", f"the key {key!r} appears twice in one object")
            out[key] = value
        return out

    try:
        text = raw.decode("utf-8")
        data = json.loads(text, parse_constant=no_constant, object_pairs_hook=no_repeats)
    except FormatError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as err:
        raise FormatError("", f"not valid JSON ({err})") from None
    _check_depth(data)
    return data


def _check_depth(data: Any) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` (the readers recurse)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FormatError("", f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            stack += [(v, depth + 1) for v in node.values()]
        elif isinstance(node, list):
            stack += [(v, depth + 1) for v in node]


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every dataset of a file written by ``write_arrays``, checked to be a plain numeric
    array (no groups, strings, variable-length, compound or object data)."""
    out = {}
    with h5py.File(path, "r") as f:
        for name, item in f.items():
            if not isinstance(item, h5py.Dataset) or not _ARRAY_NAME.match(name):
                raise FormatError(name, "not an array of this format")
            out[name] = read_numeric(item, name)
    return out


def read_numeric(dataset: h5py.Dataset, where: str) -> np.ndarray:
    """A dataset's values if it holds booleans or numbers; refuses any other type (h5py
    would otherwise build Python objects for strings and variable-length data)."""
    dtype = dataset.dtype
    if (dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None
            or h5py.check_vlen_dtype(dtype) is not None
            or h5py.check_string_dtype(dtype) is not None):  # fmt: skip
        raise FormatError(where, f"data of type {dtype}; only booleans and numbers are valid")
    if dataset.shape is None:  # an HDF5 null dataspace: h5py would give an Empty object
        raise FormatError(where, "a dataset without a shape (null dataspace)")
    return np.asarray(dataset[()])  # a 0-d dataset reads as a numpy scalar otherwise


def decode(data: Any, arrays: Mapping[str, np.ndarray], where: str = "",
           used: set[str] | None = None) -> Any:  # fmt: skip
    """Undo ``encode``: the tree with the arrays put back; refuses anything but plain JSON
    values and well-formed tags (``used`` collects the array names referenced)."""
    if data is None or isinstance(data, (bool, str, int, float)):
        return data
    if isinstance(data, list):
        return [decode(v, arrays, f"{where}[{i}]", used) for i, v in enumerate(data)]
    if not isinstance(data, dict):
        raise FormatError(where, f"a {type(data).__name__}, not a JSON value")
    if ARRAY_TAG in data or FLOAT_TAG in data:
        if len(data) != 1:
            raise FormatError(where, f"a tag with other keys: {sorted(data)}")
        if ARRAY_TAG in data:
            name = data[ARRAY_TAG]
            if not isinstance(name, str) or name not in arrays:
                raise FormatError(where, f"refers to an array {name!r} that the arrays file "
                                         "does not hold")  # fmt: skip
            if used is not None:
                if name in used:  # each array belongs to one place (no aliasing)
                    raise FormatError(where, f"refers to the array {name!r} a second time")
                used.add(name)
            return arrays[name]
        tag = data[FLOAT_TAG]
        if tag not in _NON_FINITE:
            raise FormatError(where, f"{FLOAT_TAG} {tag!r}; valid: {', '.join(_NON_FINITE)}")
        return _NON_FINITE[tag]
    return {k: decode(v, arrays, _join(where, k), used) for k, v in data.items()}


def check_like(saved: Any, expected: Any, where: str = "") -> None:
    """Refuse ``saved`` unless it has the structure of ``expected`` (a tree the model gives
    now): the same dict keys, values of the same kind (numbers, strings, booleans) and arrays
    of the same dtype and shape. Lists are checked item by item where the lengths agree (a
    list may grow during a run). An expected None accepts any value."""
    if expected is None:
        return
    if isinstance(expected, np.ndarray):
        if not isinstance(saved, np.ndarray):
            raise FormatError(where, f"{_kind(saved)} where this run has an array")
        if saved.dtype != expected.dtype or saved.shape != expected.shape:
            raise FormatError(where, f"an array of {saved.dtype} {saved.shape} where this run "
                                     f"has {expected.dtype} {expected.shape}")  # fmt: skip
        return
    if isinstance(expected, Mapping):
        if not isinstance(saved, dict):
            raise FormatError(where, f"{_kind(saved)} where this run has a dict")
        missing, extra = set(expected) - set(saved), set(saved) - set(expected)
        if missing or extra:
            raise FormatError(where, f"keys differ (missing: {sorted(missing)[:5]}, unexpected: "
                                     f"{sorted(extra)[:5]})")  # fmt: skip
        for key, value in expected.items():
            check_like(saved[key], value, _join(where, key))
        return
    if isinstance(expected, (list, tuple)):
        if not isinstance(saved, list):
            raise FormatError(where, f"{_kind(saved)} where this run has a list")
        if len(saved) == len(expected):
            for i, (s, e) in enumerate(zip(saved, expected)):
                check_like(s, e, f"{where}[{i}]")
        return
    if _kind(saved) != _kind(expected):
        raise FormatError(where, f"{_kind(saved)} where this run has {_kind(expected)}")


def _kind(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "a boolean"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return "an array"
    return f"a {type(value).__name__}"


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
