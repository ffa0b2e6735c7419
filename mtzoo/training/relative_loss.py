"""Early stopping that judges tasks on comparable scales.

The total validation loss adds a regression task's squared error (about
1 on standardized labels) to a binary task's log loss (0.1 for a rare
positive class) and a multiclass cross-entropy (up to log K): the task
with the largest loss decides when training stops. `val_relative_loss`
divides each task's validation loss by the loss of predicting the
training labels' mean or class frequencies (1: no better than that
constant; 0: perfect) and averages over tasks with their weights, so each
task counts by its weight, whatever its kind and scale. Tasks without a
constant to compare with (retrieval) are divided by the loss of a uniform
guess among their candidates, `log(candidates)`.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from mtzoo import tasks as tasks_lib
from mtzoo.tasks.retrieval import IN_BATCH
from mtzoo.tasks.retrieval import SAMPLED

MONITOR = "val_relative_loss"


def constant_losses(tasks, train_labels: dict, train_weights: dict,
                    validation_labels: dict,
                    validation_weights: dict) -> dict[str, float]:
    """Each ranking task's validation loss when it predicts the training
    labels' mean (regression, binary) or class frequencies (multiclass);
    tasks with no labelled validation row are left out."""
    from mtzoo.baselines import models as baseline_models

    losses = {}
    for task in tasks_lib.ranking_tasks(tasks):
        weights = validation_weights[task.name]
        if not np.any(weights > 0) or not np.any(
                train_weights[task.name] > 0):
            continue
        labels = validation_labels[task.name]
        predictions = baseline_models.constant(
            task, train_labels[task.name], train_weights[task.name],
            len(labels)).astype(np.float32)
        loss = task.make_loss()(labels, predictions, sample_weight=weights)
        losses[task.name] = float(keras.ops.convert_to_numpy(loss))
    return losses


class RelativeValidationLoss(keras.callbacks.Callback):
    """Adds `val_relative_loss` to each epoch's logs (put it before the
    callbacks that read it, such as `EarlyStopping(monitor=MONITOR)`).

    Args:
        weights: task name -> the task's weight in the average (tasks with
            weight 0 are left out).
        references: task name -> the loss that counts as 1 (see
            `constant_losses`, `uniform_losses`); a task without one counts
            its loss as it is.
    """

    def __init__(self, weights: dict[str, float],
                 references: dict[str, float]):
        super().__init__()
        self.weights = {name: w for name, w in weights.items() if w > 0}
        self.references = dict(references)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or "val_loss" not in logs:
            return
        total, weight_sum = 0.0, 0.0
        for name, weight in self.weights.items():
            value = logs.get(f"val_{name}_loss")
            if value is None:
                continue
            value = float(value)
            reference = self.references.get(name, 1.0)
            total += weight * value / max(reference, 1e-12)
            weight_sum += weight
        logs[MONITOR] = (total / weight_sum if weight_sum
                         else float(logs["val_loss"]))


def uniform_losses(tasks, batch_size: int,
                   catalogue_sizes: dict[str, int]) -> dict[str, float]:
    """Each retrieval task's loss when it scores all its candidates alike:
    `log` of the batch (in-batch negatives), of the sample plus the
    positive (sampled) or of the catalogue (all)."""
    losses = {}
    for task in tasks_lib.retrieval_tasks(tasks):
        candidates = {IN_BATCH: batch_size,
                      SAMPLED: task.num_sampled + 1}.get(
            task.negatives, catalogue_sizes.get(task.name, 0))
        if candidates > 1:
            losses[task.name] = math.log(candidates)
    return losses


def for_splits(splits, batch_size: int,
               catalogues: dict) -> RelativeValidationLoss:
    """The callback for a run's tasks, its references from the training
    and validation rows and the retrieval tasks' candidates."""
    from mtzoo import data as data_lib

    train_labels, train_weights = data_lib.label_arrays(splits.train,
                                                        splits.tasks)
    labels, weights = data_lib.label_arrays(splits.validation, splits.tasks)
    return RelativeValidationLoss(
        {task.name: task.weight for task in splits.tasks},
        {**constant_losses(splits.tasks, train_labels, train_weights,
                           labels, weights),
         **uniform_losses(splits.tasks, batch_size,
                          {n: len(c) for n, c in catalogues.items()})})
