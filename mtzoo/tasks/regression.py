"""Regression tasks: rating, watch time, spend."""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np

from mtzoo.features import DataError
from mtzoo.features import base as columns
from mtzoo.tasks.base import Task
from mtzoo.tasks.base import create
from mtzoo.tasks.base import register_kind
from mtzoo.tasks.losses import LabelScaledLoss


@register_kind
@dataclasses.dataclass(frozen=True)
class RegressionTask(Task):
    """A regression task: linear output in the label's units.

    Losses: `"mse"` (default), `"mae"`, `"huber"`, `"log_cosh"`. Metrics:
    `rmse`, `mae`, `mse` (default `rmse`, `mae`). Evaluation: RMSE, MAE
    and skill `1 - RMSE / RMSE of the mean` (primary).

    Args:
        standardize: bool. Train on labels standardized with the mean and
            standard deviation `adapt` learns from training data; the
            model still predicts, and its loss is still reported, in the
            label's own units. Defaults to True.
        log_transform: bool. Standardize `log1p(label)` instead of the
            label (heavy-tailed targets such as watch time or spend;
            labels must be > -1). Defaults to False.
        label_mean: float. Learned by `adapt`.
        label_scale: float. Learned by `adapt` (the standard deviation, 1
            for a constant label).
        (and the arguments of `Task`)
    """

    standardize: bool = True
    log_transform: bool = False
    label_mean: float | None = None
    label_scale: float | None = None

    kind = "regression"
    LOSSES = {
        "mse": keras.losses.MeanSquaredError,
        "mae": keras.losses.MeanAbsoluteError,
        "huber": keras.losses.Huber,
        "log_cosh": keras.losses.LogCosh,
    }
    DEFAULT_LOSS = "mse"
    DEFAULT_METRICS = ("rmse", "mae")
    uncertainty_factor = 0.5
    primary_metric = "skill"

    def __post_init__(self):
        super().__post_init__()
        if self.label_scale is not None and not self.label_scale > 0:
            raise ValueError(
                f"Task '{self.name}': `label_scale` must be > 0. Received: "
                f"label_scale={self.label_scale!r}")

    @property
    def label_scaling(self):
        if not self.standardize or self.label_mean is None:
            return None
        return self.label_mean, self.label_scale, self.log_transform

    @property
    def needs_adapt(self) -> bool:
        """A task that standardizes but has no statistics yet."""
        return self.standardize and self.label_mean is None

    def adapt(self, labels, present, frame):
        """Learns the mean and scale of the labelled rows (of `log1p` of
        the labels with `log_transform`)."""
        values = np.asarray(labels, dtype=np.float64).reshape(-1)
        known = present & np.isfinite(values)
        if not known.any():
            raise DataError(
                f"Task '{self.name}': column '{self.label_column}' has no "
                f"labels to learn their scale from.")
        if self.log_transform and (known & (values <= -1)).any():
            raise columns.bad_values(
                frame, self.label_column, known & (values <= -1),
                self.owner, "labels > -1 (it takes log1p of them)",
                count=True)
        values = values[known]
        if self.log_transform:
            values = np.log1p(values)
        scale = float(values.std())
        return dataclasses.replace(self, label_mean=float(values.mean()),
                                   label_scale=scale if scale > 0 else 1.0)

    def make_loss(self, loss=None):
        made = super().make_loss(loss)
        if self.label_scaling is None:
            return made
        return LabelScaledLoss(made, self.label_scaling,
                               name=f"{self.name}_loss")

    def metric_factories(self):
        name = lambda metric: f"{self.name}_{metric}"  # noqa: E731
        return {
            "rmse": lambda: keras.metrics.RootMeanSquaredError(
                name=name("rmse")),
            "mae": lambda: keras.metrics.MeanAbsoluteError(name=name("mae")),
            "mse": lambda: keras.metrics.MeanSquaredError(name=name("mse")),
        }

    def report_metrics(self, result):
        return ["rmse", "mae", "skill"]

    def evaluate(self, labels, predictions, weights):
        y, p, w = labels.reshape(-1), predictions.reshape(-1), weights
        rmse = math.sqrt(float(np.average((p - y) ** 2, weights=w)))
        mean = float(np.average(y, weights=w))
        baseline = math.sqrt(float(np.average((y - mean) ** 2, weights=w)))
        return {
            "rmse": rmse,
            "mae": float(np.average(np.abs(p - y), weights=w)),
            "skill": 1.0 - rmse / baseline if baseline > 0 else None,
        }


def regression(name: str, **kwargs) -> RegressionTask:
    """A regression task (rating, watch time): linear output, in the
    label's units. `mtzoo.tasks.adapt(tasks, train_frame)` learns the
    label's scale, so the network trains on standardized labels (recipes
    do this themselves)."""
    return create("regression", name, **kwargs)
