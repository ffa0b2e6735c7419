"""Training helpers: task weighting, callbacks, checkpoints, distribution."""

from mtzoo.training import distribution
from mtzoo.training import weighting
from mtzoo.training.callbacks import NonFiniteLossError
from mtzoo.training.callbacks import StopOnNonFiniteLoss
from mtzoo.training.checkpoint import CheckpointMismatchError
from mtzoo.training.checkpoint import TrainingCheckpoint
from mtzoo.training.lazy_adam import LazyAdam
from mtzoo.training.weighting import STRATEGIES
from mtzoo.training.weighting import Weighting

__all__ = ["CheckpointMismatchError", "LazyAdam", "NonFiniteLossError",
           "STRATEGIES",
           "StopOnNonFiniteLoss", "TrainingCheckpoint", "Weighting",
           "distribution", "weighting"]
