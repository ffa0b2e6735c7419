"""The registry of architectures: list them and build them by name."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Callable

from mtzoo import catalog


@dataclasses.dataclass(frozen=True)
class Architecture:
    name: str
    builder: Callable
    description: str
    paper: str | None = None


_REGISTRY: dict[str, Architecture] = {}


def register(name: str):
    """Decorator adding a builder function to the registry under `name`,
    described by its entry in `mtzoo.catalog.ARCHITECTURES`."""
    info = catalog.architecture(name)

    def decorator(builder):
        if name in _REGISTRY:
            raise ValueError(f"Architecture '{name}' is registered twice.")
        _REGISTRY[name] = Architecture(name, builder, info.description,
                                       info.paper)
        return builder

    return decorator


def available() -> list[str]:
    """Names of the registered architectures."""
    return list(_REGISTRY)


def get(name: str) -> Architecture:
    """The registry entry of an architecture, with a helpful error."""
    if name not in _REGISTRY:
        raise ValueError(
            f"Unknown architecture {name!r}. Available: {available()}")
    return _REGISTRY[name]


def hyperparameters(name: str) -> dict:
    """The builder's keyword arguments and their defaults."""
    signature = inspect.signature(get(name).builder)
    return {
        p.name: p.default for p in signature.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def build(name: str, features, tasks, **hparams):
    """Builds an architecture by name.

    Args:
        name: one of `available()`.
        features: list of adapted feature specs.
        tasks: list of task specs.
        **hparams: the builder's keyword arguments; unknown ones are an
            error that lists the valid ones.

    Returns:
        A `mtzoo.models.MultiTaskModel`.
    """
    entry = get(name)
    valid = hyperparameters(name)
    unknown = sorted(set(hparams) - set(valid))
    if unknown:
        raise TypeError(
            f"Architecture '{name}' has no hyperparameters {unknown}. "
            f"Valid: {sorted(valid)}"
        )
    return entry.builder(features, tasks, **hparams)
