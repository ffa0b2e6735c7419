"""Package names that load their submodule on first use."""

from __future__ import annotations

import importlib


def loader(package: str, names: dict[str, str], modules=()):
    """A module `__getattr__` for `package`: `names` maps each public name
    to the submodule that defines it, imported when the name is first
    read, and `modules` are submodules read as attributes of the package
    (so importing the package imports none of them)."""

    def __getattr__(name):
        if name in modules:
            return importlib.import_module(f"{package}.{name}")
        if name in names:
            module = importlib.import_module(f"{package}.{names[name]}")
            return getattr(module, name)
        raise AttributeError(f"module '{package}' has no attribute "
                             f"{name!r}")

    return __getattr__
