"""mtzoo: a Keras 3 model zoo for multi-task recommendation.

Submodules load on first use (`mtzoo.models`, `mtzoo.data`, ...), so the
command line answers `mtzoo --help` without importing TensorFlow. Importing
`mtzoo.models` (as `mtzoo.models.load_model` does) registers every mtzoo
layer for `.keras` files.
"""

import importlib
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ start-up chatter (CUDA probing, CPU features) hides the
# output people read; set TF_CPP_MIN_LOG_LEVEL yourself to see it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_SUBMODULES = ("baselines", "catalog", "data", "evaluation", "export",
               "features", "layers", "models", "recipes", "retrieval",
               "runs", "tasks", "text")

__all__ = [*_SUBMODULES, "__version__"]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"mtzoo.{name}")
    raise AttributeError(f"module 'mtzoo' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
