"""Pydantic validation errors as one message a user can act on: every problem with its place in
the file (``variants.cool_city.models.heat``), the value given (bounded) and what would be
valid; for a union (``type: levee`` or ``type: trees`` ...), only the branch the user meant."""

from __future__ import annotations

from pydantic import ValidationError

from metrotwin.scenario.messages import short_repr


def validation_problems(err: ValidationError) -> list[tuple[str, str]]:
    """(field path, message) for each problem pydantic found, in plain words.

    Where a field accepts one of several forms (a union), pydantic reports every form that did
    not fit; only the form that came closest (fewest unknown or missing fields) is kept, and
    the form's class name is left out of the path.
    """
    errors = _closest_union_branch(err.errors(include_url=False))
    problems = []
    for e in errors:
        where = ".".join(str(p) for p in e["loc"] if not _is_branch(p))
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling against the documented fields)"
        elif e["type"] == "missing":
            msg = "required field is missing"
        value = e.get("input")
        if e["type"] != "missing" and "got " not in msg and _is_scalar(value):
            shown = short_repr(value, 200)
            if shown not in msg:
                msg += f" (got {shown})"
        problems.append((where, msg))
    return problems


def _is_branch(part) -> bool:
    """A location part that names a union member (a class or tag), not a field."""
    part = str(part)
    return part.startswith("function-") or (part[:1].isupper() and part.isidentifier())


def _closest_union_branch(errors: list[dict]) -> list[dict]:
    groups: dict[tuple, dict[str, list]] = {}
    for e in errors:
        loc = tuple(str(p) for p in e["loc"])
        cut = next((i for i, p in enumerate(loc) if _is_branch(p) and not p.startswith("function-")), None)
        if cut is not None:
            groups.setdefault(loc[:cut], {}).setdefault(loc[cut], []).append(e)
    drop = set()
    for branches in groups.values():
        if len(branches) < 2:
            continue

        def misfit(items):
            return sum(e["type"] in ("extra_forbidden", "missing") for e in items), len(items)

        best = min(branches, key=lambda b: misfit(branches[b]))
        drop |= {id(e) for b, items in branches.items() if b != best for e in items}
    return [e for e in errors if id(e) not in drop]


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def format_validation_error(err: ValidationError, prefix: str = "") -> str:
    """One line per problem: the field's path, what is wrong, the value given."""
    lines = []
    for where, msg in validation_problems(err):
        path = ".".join(p for p in (prefix, where) if p)
        lines.append(f"{path}: {msg}" if path else msg)
    return "\n".join(lines)
