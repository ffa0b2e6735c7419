"""Weight averaging: the three pieces that must agree, in one place.

An exponential moving average of the weights (Polyak averaging) is kept by
the optimizer (Keras' `use_ema`); `keras.callbacks.SwapEMAWeights` puts the
average in the model at each epoch's end, so validation, early stopping's
kept weights and the saved model are the averaged ones; and a checkpoint
written then holds the average in the model and the trained weights in the
optimizer, which `TrainingCheckpoint(averaged_weights=True)` exchanges back
on restore. `WeightAveraging` makes all three from one momentum.
"""

from __future__ import annotations

import dataclasses

import keras

from mtzoo.training.momentum import capped_momentum
from mtzoo.training.momentum import check_momentum


@dataclasses.dataclass(frozen=True)
class WeightAveraging:
    """Weight averaging at `momentum` (0: off), capped for
    `steps_per_epoch` (see `capped_momentum`).

    Example:

    ```python
    averaging = WeightAveraging.for_run(0.995, steps_per_epoch=176)
    optimizer = keras.optimizers.Adam(1e-3, **averaging.optimizer_options)
    callbacks = averaging.callbacks + [early_stopping, checkpoint]
    ```
    """

    momentum: float = 0.0

    @classmethod
    def for_run(cls, requested: float, steps_per_epoch: int
                ) -> "WeightAveraging":
        return cls(capped_momentum(check_momentum(requested),
                                   steps_per_epoch))

    @property
    def enabled(self) -> bool:
        return self.momentum > 0

    @property
    def optimizer_options(self) -> dict:
        """Keyword arguments of a Keras optimizer."""
        if not self.enabled:
            return {}
        return {"use_ema": True, "ema_momentum": self.momentum}

    @property
    def callbacks(self) -> list:
        """Callbacks to place before early stopping and checkpoints, so
        they judge and keep the averaged weights."""
        if not self.enabled:
            return []
        return [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)]
