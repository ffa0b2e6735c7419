"""Training helpers: task weighting, callbacks, checkpoints, distribution.

Submodules load on first use, so `mtzoo.training.momentum` (what the
command line checks) is read without TensorFlow.
"""

from mtzoo import lazy

_NAMES = {"CheckpointMismatchError": "checkpoint",
          "LazyAdam": "lazy_adam",
          "NonFiniteLossError": "callbacks",
          "STRATEGIES": "weighting",
          "StopOnNonFiniteLoss": "callbacks",
          "TrainingCheckpoint": "checkpoint",
          "Weighting": "weighting"}
_MODULES = ("distribution", "weighting")

__all__ = sorted([*_NAMES, *_MODULES])
__getattr__ = lazy.loader("mtzoo.training", _NAMES, _MODULES)
