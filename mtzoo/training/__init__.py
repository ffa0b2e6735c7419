"""Training helpers: task weighting strategies."""

from mtzoo.training import weighting
from mtzoo.training.weighting import STRATEGIES
from mtzoo.training.weighting import Weighting

__all__ = ["STRATEGIES", "Weighting", "weighting"]
