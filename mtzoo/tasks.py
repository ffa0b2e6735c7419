"""Task specs: what a multi-task model predicts and how it is trained.

A `Task` is the one source of truth for a prediction target: its `name` is
the model's output name, the key of its loss, of its label and of its sample
weight, and the prefix of its metrics (`ctr_auc`, `rating_rmse`).

Example:

```python
tasks = [
    mtzoo.tasks.binary("click"),
    mtzoo.tasks.regression("watch_time", loss="huber", weight=0.5),
    mtzoo.tasks.multiclass("interest", num_classes=12),
]
```
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import keras

from mtzoo.features import check_name

BINARY = "binary"
REGRESSION = "regression"
MULTICLASS = "multiclass"
KINDS = (BINARY, REGRESSION, MULTICLASS)

_DEFAULT_LOSS = {
    BINARY: "binary_crossentropy",
    REGRESSION: "mse",
    MULTICLASS: "sparse_categorical_crossentropy",
}
_DEFAULT_METRICS = {
    BINARY: ("auc", "accuracy"),
    REGRESSION: ("rmse", "mae"),
    MULTICLASS: ("accuracy", "top_k_accuracy"),
}
_LOSSES = {
    BINARY: {
        "binary_crossentropy": keras.losses.BinaryCrossentropy,
        "binary_focal_crossentropy": keras.losses.BinaryFocalCrossentropy,
    },
    REGRESSION: {
        "mse": keras.losses.MeanSquaredError,
        "mae": keras.losses.MeanAbsoluteError,
        "huber": keras.losses.Huber,
        "log_cosh": keras.losses.LogCosh,
    },
    MULTICLASS: {
        "sparse_categorical_crossentropy":
            keras.losses.SparseCategoricalCrossentropy,
    },
}
# Masked or weighted examples count by their weight: the loss is the
# weighted mean over examples that carry a label.
LOSS_REDUCTION = "mean_with_sample_weight"


@dataclasses.dataclass(frozen=True)
class Task:
    """One prediction target of a multi-task model.

    Args:
        name: str. Output name, loss/label/sample-weight key and metric
            prefix.
        kind: str. `"binary"` (sigmoid output, binary cross-entropy),
            `"regression"` (linear output, MSE or Huber) or `"multiclass"`
            (softmax output, sparse categorical cross-entropy).
        label: str. Data column holding the label. Defaults to `name`.
        loss: str. Loss name; defaults by kind. Binary:
            `"binary_crossentropy"`, `"binary_focal_crossentropy"`.
            Regression: `"mse"`, `"mae"`, `"huber"`, `"log_cosh"`.
            Multiclass: `"sparse_categorical_crossentropy"`.
        metrics: list of str. Metric names; defaults by kind. Binary:
            `auc`, `pr_auc`, `log_loss`, `accuracy`, `precision`, `recall`.
            Regression: `rmse`, `mae`, `mse`. Multiclass: `accuracy`,
            `top_k_accuracy`, `log_loss`.
        weight: float. Weight of the task's loss in the total loss.
            Defaults to 1.
        num_classes: int. Number of classes (multiclass only); labels are
            integers in `[0, num_classes)`.
        top_k: int. `k` of the multiclass `top_k_accuracy`. Defaults to 5
            (at most `num_classes - 1`).
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
    kind: str
    label: str | None = None
    loss: str | None = None
    metrics: tuple | None = None
    weight: float = 1.0
    num_classes: int | None = None
    top_k: int = 5
    missing_label: float | None = None
    weight_column: str | None = None
    space_column: str | None = None

    def __post_init__(self):
        check_name(self.name, "Task")
        if self.kind not in KINDS:
            raise ValueError(
                f"Task '{self.name}': `kind` must be one of {KINDS}. "
                f"Received: kind={self.kind!r}"
            )
        if self.kind == MULTICLASS:
            if (not isinstance(self.num_classes, int)
                    or isinstance(self.num_classes, bool)
                    or self.num_classes < 2):
                raise ValueError(
                    f"Task '{self.name}' is multiclass and needs "
                    f"`num_classes` >= 2. Received: "
                    f"num_classes={self.num_classes!r}"
                )
        elif self.num_classes is not None:
            raise ValueError(
                f"Task '{self.name}' is {self.kind}; `num_classes` applies "
                f"to multiclass tasks only. Received: "
                f"num_classes={self.num_classes!r}"
            )
        if (not isinstance(self.weight, (int, float))
                or not math.isfinite(self.weight) or self.weight < 0):
            raise ValueError(
                f"Task '{self.name}': `weight` must be a finite number >= 0. "
                f"Received: weight={self.weight!r}"
            )
        if self.loss is not None and self.loss not in _LOSSES[self.kind]:
            raise ValueError(
                f"Task '{self.name}': loss {self.loss!r} does not fit a "
                f"{self.kind} task. Choose one of "
                f"{sorted(_LOSSES[self.kind])}, or pass a Keras loss to "
                f"`compile(loss={{'{self.name}': ...}})`."
            )
        if self.metrics is not None:
            object.__setattr__(self, "metrics", tuple(self.metrics))
            for metric in self.metrics:
                _metric_factory(self, metric)  # raises if unknown

    @property
    def label_column(self) -> str:
        return self.label or self.name

    @property
    def columns(self) -> list[str]:
        """Every data column the task reads: label, weight and space."""
        return [c for c in (self.label_column, self.weight_column,
                            self.space_column) if c]

    @property
    def output_units(self) -> int:
        return self.num_classes if self.kind == MULTICLASS else 1

    @property
    def activation(self) -> str:
        return {BINARY: "sigmoid", REGRESSION: "linear",
                MULTICLASS: "softmax"}[self.kind]

    @property
    def loss_name(self) -> str:
        return self.loss or _DEFAULT_LOSS[self.kind]

    @property
    def metric_names(self) -> tuple:
        return self.metrics if self.metrics is not None else \
            _DEFAULT_METRICS[self.kind]

    def make_loss(self, loss: str | None = None) -> keras.losses.Loss:
        """A fresh Keras loss object for this task.

        Args:
            loss: a loss name overriding the task's `loss`: one of the names
                listed for the task's kind, or any Keras loss function name.
        """
        loss = loss or self.loss_name
        if loss in _LOSSES[self.kind]:
            return _LOSSES[self.kind][loss](
                reduction=LOSS_REDUCTION, name=f"{self.name}_loss")
        try:
            function = keras.losses.get(loss)
        except ValueError:
            function = None
        if function is None:
            raise ValueError(
                f"Task '{self.name}': unknown loss {loss!r}. Choose one of "
                f"{sorted(_LOSSES[self.kind])} or a Keras loss name."
            )
        return FunctionLoss(function, name=f"{self.name}_loss")

    def make_metrics(self) -> list[keras.metrics.Metric]:
        """Fresh Keras metric objects, named `<task>_<metric>`."""
        return [self.make_metric(m) for m in self.metric_names]

    def make_metric(self, metric: str) -> keras.metrics.Metric:
        """A fresh Keras metric object by mtzoo metric name."""
        return _metric_factory(self, metric)()

    def get_config(self) -> dict[str, Any]:
        config = dataclasses.asdict(self)
        if config["metrics"] is not None:
            config["metrics"] = list(config["metrics"])
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Task":
        return cls(**config)


class FunctionLoss(keras.losses.Loss):
    """A per-example loss function as a Keras loss with mtzoo's reduction
    (weighted mean over labelled examples)."""

    def __init__(self, function, name=None):
        super().__init__(name=name, reduction=LOSS_REDUCTION)
        self.function = function

    def call(self, y_true, y_pred):
        return self.function(y_true, y_pred)


def _metric_factory(task: Task, metric: str):
    name = f"{task.name}_{metric}"
    k = min(task.top_k, (task.num_classes or 2) - 1)
    factories = {
        BINARY: {
            "auc": lambda: keras.metrics.AUC(name=name, num_thresholds=1000),
            "pr_auc": lambda: keras.metrics.AUC(
                name=name, curve="PR", num_thresholds=1000),
            "log_loss": lambda: keras.metrics.BinaryCrossentropy(name=name),
            "accuracy": lambda: keras.metrics.BinaryAccuracy(name=name),
            "precision": lambda: keras.metrics.Precision(name=name),
            "recall": lambda: keras.metrics.Recall(name=name),
        },
        REGRESSION: {
            "rmse": lambda: keras.metrics.RootMeanSquaredError(name=name),
            "mae": lambda: keras.metrics.MeanAbsoluteError(name=name),
            "mse": lambda: keras.metrics.MeanSquaredError(name=name),
        },
        MULTICLASS: {
            "accuracy": lambda: keras.metrics.SparseCategoricalAccuracy(
                name=name),
            "top_k_accuracy": lambda: keras.metrics.SparseTopKCategoricalAccuracy(
                k=k, name=f"{task.name}_top{k}_accuracy"),
            "log_loss": lambda: keras.metrics.SparseCategoricalCrossentropy(
                name=name),
        },
    }[task.kind]
    if metric not in factories:
        raise ValueError(
            f"Task '{task.name}': unknown {task.kind} metric {metric!r}. "
            f"Choose from {sorted(factories)}, or pass Keras metrics to "
            f"`compile(metrics={{'{task.name}': [...]}})`."
        )
    return factories[metric]


def binary(name: str, **kwargs) -> Task:
    """A binary task (click, conversion, like): sigmoid output."""
    return Task(name, BINARY, **kwargs)


def regression(name: str, **kwargs) -> Task:
    """A regression task (rating, watch time): linear output."""
    return Task(name, REGRESSION, **kwargs)


def multiclass(name: str, num_classes: int, **kwargs) -> Task:
    """A multiclass task (interest category): softmax output."""
    return Task(name, MULTICLASS, num_classes=num_classes, **kwargs)


def serialize(task: Task) -> dict[str, Any]:
    return task.get_config()


def deserialize(config: dict[str, Any] | Task) -> Task:
    if isinstance(config, Task):
        return config
    return Task.from_config(config)


def validate(tasks: Sequence[Task]) -> list[Task]:
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
            f"A task's name is its output, loss, label and metric key."
        )
    return tasks
