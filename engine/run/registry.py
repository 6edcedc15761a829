"""Which models exist: built-in and third-party, found through the entry-point group
``metrotwin.models`` (xarray's backend plugins in spirit). A model that fails to load is a
warning, not a crash."""

from __future__ import annotations

import functools
import warnings
from importlib.metadata import entry_points

from pydantic import BaseModel, ValidationError

from metrotwin import numba_cache_dir
from metrotwin.run.model import Model
from metrotwin.scenario.messages import short_repr
from metrotwin.scenario.validation import format_validation_error

GROUP = "metrotwin.models"


@functools.lru_cache(maxsize=1)
def list_models() -> dict[str, type[Model]]:
    """Name -> model class, for every model registered in the entry-point group."""
    models: dict[str, type[Model]] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        if ep.name in models:
            continue  # the same package installed twice: first one wins
        try:
            cls = ep.load()
        except Exception as err:  # a broken plugin must not break the others
            warnings.warn(f"model {ep.name!r} failed to load:\n{err}", RuntimeWarning, stacklevel=2)
            continue
        if not (isinstance(cls, type) and issubclass(cls, Model)):
            warnings.warn(
                f"entry point {ep.name!r} = {ep.value} is not a metrotwin.Model subclass; ignored",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        models[ep.name] = cls
    return models


def refresh_models() -> None:
    """Forget the cached registry (after installing a plugin in the same process)."""
    list_models.cache_clear()


def get_model(name: str) -> type[Model]:
    models = list_models()
    if name not in models:
        raise ValueError(
            f"unknown model {name!r}; installed models: {', '.join(sorted(models)) or 'none'}"
        )
    return models[name]


def model_params(name: str, params) -> BaseModel:
    """Validate a model's parameters from the scenario against its own schema."""
    cls = get_model(name)
    if isinstance(params, cls.Params):
        return params
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValueError(
            f"parameters of model {name!r} must be a mapping, got {short_repr(params)}"
        )
    try:
        return cls.Params.model_validate(params)
    except ValidationError as err:
        raise ValueError(format_validation_error(err, prefix=name)) from None


def describe_fields(schema: type[BaseModel]) -> list[tuple[str, str, str, str]]:
    """(name, type, default, description) of each field of a pydantic model, for
    ``metrotwin models``: what a scenario may write under a model or an intervention."""
    rows = []
    for name, field in schema.model_fields.items():
        if field.is_required():
            default = "required"
        else:
            value = field.get_default(call_default_factory=True)
            default = "none" if value is None else _short(value)
        rows.append((name, type_name(field.annotation), default, field.description or ""))
    return rows


def type_name(annotation) -> str:
    """A type as a scenario writer reads it: ``float``, ``list[str] | None``, ``'raised' |
    'closed'``."""
    import types
    import typing

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:  # a validated type (a duration parsed to seconds): its base
        return type_name(args[0])
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join("None" if a is type(None) else type_name(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(type_name(a) for a in args)}]" if args else name
    return getattr(annotation, "__name__", str(annotation).replace("typing.", ""))


def nested_schemas(annotation) -> list[type[BaseModel]]:
    """The pydantic models inside a field's type (``list[Inflow]`` -> ``[Inflow]``)."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in nested_schemas(arg)]


def _short(value, width: int = 40) -> str:
    if isinstance(value, BaseModel):
        text = str(value.model_dump(exclude_defaults=True) or f"{type(value).__name__}()")
    else:
        text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


#: model name -> whether its kernels were missing from numba's cache when first asked
_UNCOMPILED: dict[str, bool] = {}


def uncompiled_models(names) -> list[str]:
    """Those of the built-in models ``names`` whose numba kernels were not in the cache when
    this process first asked (their first run compiles them: about a minute for the demo's
    three). A guess from the cache folder's index files, for telling the user what the wait
    is; ``metrotwin run`` asks before it builds anything."""
    for name in names:
        if name not in _UNCOMPILED:
            _UNCOMPILED[name] = _uncached(name)
    return [name for name in names if _UNCOMPILED[name]]


def _uncached(name: str) -> bool:
    import hashlib
    import os
    import sys
    from pathlib import Path

    cls = list_models().get(name)
    module = sys.modules.get(cls.__module__) if cls else None
    if module is None or not cls.__module__.startswith("metrotwin.models."):
        return False
    # numba's _CacheLocator.get_suitable_cache_subpath: the source folder's name and its hash
    folder = os.path.dirname(os.path.abspath(module.__file__))
    sub = f"{Path(folder).name}_{hashlib.sha1(folder.encode()).hexdigest()}"
    return not any((numba_cache_dir() / sub).glob("*.nbi"))
