"""Training callbacks."""

from __future__ import annotations

import math
import statistics
import time

import keras


class NonFiniteLossError(FloatingPointError):
    """Raised when a task's training loss becomes NaN or infinite."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops training at the first NaN or infinite loss, naming the task.

    Unlike `keras.callbacks.TerminateOnNaN`, which stops quietly, this raises
    `NonFiniteLossError`, so a script never goes on to save or export a
    broken model, and says which task's loss (`<task>_loss`) went bad first.
    """

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        bad = {}
        for key, value in logs.items():
            if key == "loss" or not key.endswith("_loss"):
                continue
            value = float(value)
            if not math.isfinite(value):
                bad[key[: -len("_loss")]] = value
        total = logs.get("loss")
        if bad or (total is not None and not math.isfinite(float(total))):
            tasks = ", ".join(f"'{name}' ({value})"
                              for name, value in bad.items())
            raise NonFiniteLossError(
                f"Training stopped at batch {batch}: the loss of task "
                f"{tasks or '(total only)'} is not finite. Lower the "
                f"learning rate, check that task's labels and weights, or "
                f"clip gradients (optimizer `clipnorm`).")


class EpochTimer(keras.callbacks.Callback):
    """Times epochs. `seconds`: each epoch's training, up to its
    validation pass; `epoch_seconds`: each whole epoch, validation
    included. `examples_per_second` is the median over epochs after the
    first (which traces and compiles), or the first alone."""

    def __init__(self, rows: int):
        super().__init__()
        self.rows = rows
        self.seconds = []
        self.epoch_seconds = []
        self._start = self._trained = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._trained = None

    def on_test_begin(self, logs=None):
        # Within `fit`, the validation pass starts when training ends.
        if self._start is not None and self._trained is None:
            self._trained = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        end = time.perf_counter()
        self.seconds.append((self._trained or end) - self._start)
        self.epoch_seconds.append(end - self._start)
        self._start = None

    @property
    def examples_per_second(self) -> float:
        timed = self.seconds[1:] or self.seconds
        return statistics.median(self.rows / s for s in timed)
