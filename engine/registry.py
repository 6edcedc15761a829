"""Which models exist: built-in and third-party, found through the entry-point group
``metrotwin.models`` (xarray's backend plugins in spirit). A model that fails to load is a
warning, not a crash."""

from __future__ import annotations

import functools
import warnings
from importlib.metadata import entry_points

from pydantic import BaseModel, ValidationError

from metrotwin.model import Model

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
        from metrotwin.messages import short_repr

        raise ValueError(
            f"parameters of model {name!r} must be a mapping, got {short_repr(params)}"
        )
    try:
        return cls.Params.model_validate(params)
    except ValidationError as err:
        from metrotwin.scenario import format_validation_error

        raise ValueError(format_validation_error(err, prefix=name)) from None
