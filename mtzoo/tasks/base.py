"""What every task kind shares: naming, columns, labels and their weights,
losses, metrics and serialization.

A task kind is a frozen dataclass (a subclass of `Task`) that owns, in one
module, everything its kind means:

- its labels: conversion of a DataFrame column (`labels`, with errors
  naming the task, column and row) and their dtype (`label_dtype`);
- its output: `output_units` and `activation`;
- its training: default loss and the losses it accepts (`LOSSES`),
  metrics (`METRICS`), and statistics learned from training data
  (`adapt`);
- its evaluation over a whole split (`evaluate`, `primary_metric`, and
  `primary_score`, the primary metric alone, for model selection);
- its serialization (`get_config`, with the kind's name under `"kind"`).

The rest of mtzoo asks a task these questions and never compares kinds.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, ClassVar

import keras
import numpy as np
import pandas as pd

from mtzoo.features import DataError
from mtzoo.features import base as columns
from mtzoo.features import check_name
from mtzoo.tasks.losses import LOSS_REDUCTION
from mtzoo.tasks.losses import FunctionLoss

#: Task kinds by name (`Task.kind`), filled as each kind's module loads.
KIND_CLASSES: dict[str, type] = {}


def register_kind(cls):
    """Class decorator: makes a task kind known to `deserialize` and
    `create` by its `kind`."""
    KIND_CLASSES[cls.kind] = cls
    return cls


@dataclasses.dataclass(frozen=True)
class Task:
    """One prediction target of a multi-task model (the base of every
    kind: `BinaryTask`, `RegressionTask`, `MulticlassTask`,
    `RetrievalTask`).

    Args:
        name: str. Output name, loss/label/sample-weight key and metric
            prefix.
        label: str. Data column holding the label. Defaults to `name`.
        loss: str. Loss name; defaults by kind (see the kind's `LOSSES`).
        metrics: list of str. Metric names; defaults by kind (see the
            kind's `METRICS`).
        weight: float. Weight of the task's loss in the total loss.
            Defaults to 1.
        missing_label: float. A label value that means "no label" besides
            NaN (e.g. `-1`). Examples without a label do not count in the
            task's loss or metrics. Defaults to None.
        weight_column: str. Data column with a per-example weight for this
            task (e.g. census `instance_weight`). Defaults to None.
        space_column: str. The task's sample space: only examples where
            this column is non-zero count for the task (e.g. a CVR task
            learned on clicked impressions only: `space_column="click"`).
            Defaults to None (every example with a label).
    """

    name: str
    label: str | None = None
    loss: str | None = None
    metrics: tuple | None = None
    weight: float = 1.0
    missing_label: float | None = None
    weight_column: str | None = None
    space_column: str | None = None

    #: The kind's name, stored in configs.
    kind: ClassVar[str] = ""
    #: Activation of the output layer.
    activation: ClassVar[str] = "linear"
    #: dtype of the labels the model trains on.
    label_dtype: ClassVar[str] = "float32"
    #: Loss names this kind accepts, each a Keras loss class.
    LOSSES: ClassVar[dict[str, Callable]] = {}
    DEFAULT_LOSS: ClassVar[str] = ""
    DEFAULT_METRICS: ClassVar[tuple] = ()
    #: Whether the task predicts classes (its baselines are classifiers).
    classifier: ClassVar[bool] = False
    #: Loss weight of the uncertainty weighting (Kendall et al.):
    #: 1 / (2 sigma^2) for a Gaussian likelihood, 1 / sigma^2 otherwise.
    uncertainty_factor: ClassVar[float] = 1.0

    def __post_init__(self):
        check_name(self.name, "Task")
        if (not isinstance(self.weight, (int, float))
                or not math.isfinite(self.weight) or self.weight < 0):
            raise ValueError(
                f"Task '{self.name}': `weight` must be a finite number >= 0. "
                f"Received: weight={self.weight!r}")
        if self.loss is not None and self.loss not in self.LOSSES:
            raise ValueError(
                f"Task '{self.name}': loss {self.loss!r} does not fit a "
                f"{self.kind} task. Choose one of {sorted(self.LOSSES)}, or "
                f"pass a Keras loss to `compile(loss={{'{self.name}': "
                f"...}})`.")
        if self.metrics is not None:
            object.__setattr__(self, "metrics", tuple(self.metrics))
            for metric in self.metrics:
                self.metric_factory(metric)  # raises if unknown

    # === Columns and labels ===

    @property
    def label_column(self) -> str:
        return self.label or self.name

    @property
    def columns(self) -> list[str]:
        """Every data column the task reads: label, weight and space."""
        return [c for c in (self.label_column, self.weight_column,
                            self.space_column) if c]

    @property
    def owner(self) -> str:
        """How errors name the task."""
        return f"Task '{self.name}'"

    def labels(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """`(labels, present)`: the column's labels as the model trains on
        them, shape `(n, 1)` of `label_dtype` (0 where missing), and
        whether each row has one.

        Raises:
            DataError: a label the kind cannot take, naming the row.
        """
        values = columns.numeric_column(frame, self.label_column,
                                        self.owner, "numeric labels")
        present = np.isfinite(values)
        if self.missing_label is not None:
            present &= values != self.missing_label
        bad = present & ~self.valid_labels(values)
        if bad.any():
            raise columns.bad_values(frame, self.label_column, bad,
                                     self.owner, self.expected_labels,
                                     count=True)
        filled = np.where(present, values, 0.0)
        return filled.astype(self.label_dtype).reshape(-1, 1), present

    def valid_labels(self, values: np.ndarray) -> np.ndarray:
        """Which present numeric labels the kind takes."""
        return np.ones(values.shape, bool)

    #: What `labels` errors say the column should hold.
    expected_labels: ClassVar[str] = "numeric labels"

    def labels_and_weights(self, frame: pd.DataFrame
                           ) -> tuple[np.ndarray, np.ndarray]:
        """`(labels, sample_weights)`: a missing label gets weight 0; the
        task's `weight_column` multiplies the weights and rows outside its
        `space_column` get weight 0."""
        columns.require_column(frame, self.label_column, self.owner)
        label, present = self.labels(frame)
        weight = present.astype(np.float32)
        if self.weight_column:
            column_weights = columns.numeric_column(
                frame, self.weight_column, f"{self.owner} (weight column)",
                "non-negative numbers")
            invalid = ~np.isfinite(column_weights) | (column_weights < 0)
            if invalid.any():
                raise columns.bad_values(frame, self.weight_column, invalid,
                                         self.owner, "non-negative weights")
            weight = weight * column_weights.astype(np.float32)
        if self.space_column:
            space = columns.numeric_column(
                frame, self.space_column, f"{self.owner} (space column)",
                "numbers (non-zero: in the task's space)")
            weight = weight * (np.nan_to_num(space) != 0)
        return label, weight

    # === Output and training ===

    @property
    def output_units(self) -> int:
        return 1

    @property
    def class_names(self) -> tuple[str, ...] | None:
        """The names of the output's classes, in output order, for kinds
        whose labels are named values; None otherwise."""
        return None

    @property
    def label_scaling(self) -> tuple[float, float, bool] | None:
        """`(mean, scale, log_transform)` the model trains its output in,
        or None when the task trains on its labels as they are."""
        return None

    @property
    def needs_adapt(self) -> bool:
        """Whether `adapt` has statistics still to learn."""
        return False

    def adapt(self, labels: np.ndarray, present: np.ndarray,
              frame: pd.DataFrame) -> "Task":
        """The task with what it learns from training labels filled in
        (itself for kinds that learn nothing)."""
        return self

    @property
    def loss_name(self) -> str:
        return self.loss or self.DEFAULT_LOSS

    @property
    def metric_names(self) -> tuple:
        return self.metrics if self.metrics is not None else \
            self.DEFAULT_METRICS

    def make_loss(self, loss: str | None = None) -> keras.losses.Loss:
        """A fresh Keras loss object for this task.

        Args:
            loss: a loss name overriding the task's `loss`: one of the
                kind's `LOSSES`, or any Keras loss function name.
        """
        loss = loss or self.loss_name
        name = f"{self.name}_loss"
        if loss in self.LOSSES:
            return self.LOSSES[loss](reduction=LOSS_REDUCTION, name=name)
        try:
            function = keras.losses.get(loss)
        except ValueError:
            function = None
        if function is None:
            raise ValueError(
                f"Task '{self.name}': unknown loss {loss!r}. Choose one of "
                f"{sorted(self.LOSSES)} or a Keras loss name.")
        return FunctionLoss(function, name=name)

    def metric_factories(self) -> dict[str, Callable[[], Any]]:
        """The kind's metrics by mtzoo name, each a no-argument factory."""
        return {}

    def metric_factory(self, metric: str) -> Callable[[], Any]:
        factories = self.metric_factories()
        if metric not in factories:
            raise ValueError(
                f"Task '{self.name}': unknown {self.kind} metric "
                f"{metric!r}. Choose from {sorted(factories)}, or pass Keras "
                f"metrics to `compile(metrics={{'{self.name}': [...]}})`.")
        return factories[metric]

    def make_metrics(self) -> list[keras.metrics.Metric]:
        """Fresh Keras metric objects, named `<task>_<metric>`."""
        return [self.make_metric(m) for m in self.metric_names]

    def make_metric(self, metric: str) -> keras.metrics.Metric:
        """A fresh Keras metric object by mtzoo metric name."""
        return self.metric_factory(metric)()

    # === Evaluation ===

    #: The metric `evaluate` reports that the combined score averages.
    primary_metric: ClassVar[str] = ""

    def report_metrics(self, result: dict) -> list[str]:
        """The metrics of `result` (this task's `evaluate` output) a
        report's table shows, in order."""
        return []

    def evaluate(self, labels: np.ndarray, predictions: np.ndarray,
                 weights: np.ndarray) -> dict:
        """Metrics over the labelled examples (weights > 0) of a split."""
        raise NotImplementedError

    def primary_score(self, labels: np.ndarray, predictions: np.ndarray,
                      weights: np.ndarray) -> float | None:
        """`evaluate(...)[primary_metric]` alone (None where undefined).
        Model selection scores hundreds of candidate mixtures; kinds whose
        `evaluate` computes more than their primary metric compute only
        it here."""
        return self.evaluate(labels, predictions, weights).get(
            self.primary_metric)

    #: What ensemble selection judges candidate mixtures by on the
    #: validation rows (`selection_score`).
    selection_metric: ClassVar[str] = ""

    def selection_score(self, labels: np.ndarray, predictions: np.ndarray,
                        weights: np.ndarray) -> float | None:
        """The score ensemble selection maximizes (`selection_metric`,
        higher is better): the primary score unless a kind needs a
        smoother guide."""
        return self.primary_score(labels, predictions, weights)

    @property
    def selected_by(self) -> str:
        """The name of the metric `selection_score` computes."""
        return self.selection_metric or self.primary_metric

    # === Serialization ===

    def get_config(self) -> dict[str, Any]:
        config = {"kind": self.kind}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            config[field.name] = list(value) if isinstance(value, tuple) \
                else value
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Task":
        return deserialize(config)


def _unknown_options(kind_class, name, options) -> list[str]:
    fields = {f.name for f in dataclasses.fields(kind_class)}
    return sorted(set(options) - fields)


def create(kind: str, name: str, **options) -> Task:
    """A task of kind `kind` (`"binary"`, `"regression"`, `"multiclass"` or
    `"retrieval"`) with `options`; errors name the task and list what the
    kind takes."""
    if kind not in KIND_CLASSES:
        raise ValueError(
            f"Task '{name}': `kind` must be one of {sorted(KIND_CLASSES)}. "
            f"Received: kind={kind!r}")
    kind_class = KIND_CLASSES[kind]
    unknown = _unknown_options(kind_class, name, options)
    if unknown:
        valid = sorted(f.name for f in dataclasses.fields(kind_class)
                       if f.name != "name")
        raise ValueError(
            f"Task '{name}' is {kind}; {unknown} do not apply to {kind} "
            f"tasks. Options of a {kind} task: {valid}")
    return kind_class(name, **options)


# Keys that configs written before task kinds were classes carry for
# every kind, with these values when they do not apply.
_LEGACY_DEFAULTS = {"num_classes": None, "classes": None, "top_k": 5}


def serialize(task: Task) -> dict[str, Any]:
    return task.get_config()


def deserialize(config: dict[str, Any] | Task) -> Task:
    """A task from `serialize` output (tasks pass through)."""
    if isinstance(config, Task):
        return config
    config = dict(config)
    kind = config.pop("kind", None)
    name = config.pop("name", None)
    kind_class = KIND_CLASSES.get(kind)
    if kind_class is not None:
        fields = {f.name for f in dataclasses.fields(kind_class)}
        for key, value in _LEGACY_DEFAULTS.items():
            if key not in fields and config.get(key, value) == value:
                config.pop(key, None)
    return create(kind, name, **config)


def validate(tasks) -> list[Task]:
    """Checks a list of tasks: at least one, unique names."""
    if isinstance(tasks, Task):
        tasks = [tasks]
    tasks = [deserialize(t) for t in tasks]
    if not tasks:
        raise ValueError("At least one task is needed.")
    names = [t.name for t in tasks]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(
            f"Task names must be unique; {duplicates} appear more than once. "
            f"A task's name is its output, loss, label and metric key.")
    return tasks


def adapt(tasks, frame: pd.DataFrame) -> list[Task]:
    """Tasks with what they learn from training data filled in (each
    standardizing regression task's label mean and scale).

    Raises:
        DataError: a label column the task cannot learn from, naming it.
    """
    adapted = []
    for task in validate(tasks):
        if task.needs_adapt:
            columns.require_column(frame, task.label_column, task.owner)
            labels, weights = task.labels_and_weights(frame)
            task = task.adapt(labels, weights > 0, frame)
        adapted.append(task)
    return adapted


def require_some_label(frame: pd.DataFrame, tasks) -> None:
    """Raises `DataError` for a task whose label is missing on every row of
    `frame` (a likely wrong column or `missing_label`)."""
    for task in validate(tasks):
        columns.require_column(frame, task.label_column, task.owner)
        _, present = task.labels(frame)
        if not present.any():
            raise DataError(
                f"Task '{task.name}' has no label: column "
                f"'{task.label_column}' is missing on all {len(frame)} rows"
                + (f" (missing_label={task.missing_label!r})"
                   if task.missing_label is not None else "")
                + ". Fix the column or the task, drop the task, or pass "
                  "allow_unlabelled_tasks=True.")
