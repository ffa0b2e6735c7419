"""Training helpers: task weighting strategies and callbacks."""

from mtzoo.training import weighting
from mtzoo.training.callbacks import NonFiniteLossError
from mtzoo.training.callbacks import StopOnNonFiniteLoss
from mtzoo.training.weighting import STRATEGIES
from mtzoo.training.weighting import Weighting

__all__ = ["NonFiniteLossError", "STRATEGIES", "StopOnNonFiniteLoss",
           "Weighting", "weighting"]
