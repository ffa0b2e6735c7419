"""Multiclass tasks: interest category, star rating."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from sklearn import metrics as sk

from mtzoo.features import base as columns
from mtzoo.tasks.base import create
from mtzoo.tasks.base import register_kind
from mtzoo.tasks.classifier import ClassifierTask


@register_kind
@dataclasses.dataclass(frozen=True)
class MulticlassTask(ClassifierTask):
    """A multiclass task: softmax output over `num_classes` classes.

    Loss: `"sparse_categorical_crossentropy"`. Metrics: `accuracy`,
    `top_k_accuracy`, `log_loss` (default the first two). Evaluation:
    accuracy (primary), macro-F1 and top-k accuracy.

    Args:
        num_classes: int. Number of classes; labels are integers in
            `[0, num_classes)`, or values of `classes`.
        classes: list. The label values, in output order (e.g.
            `[1, 2, 3, 4, 5]` for star ratings, or strings); label
            `classes[i]` is class `i`. Sets `num_classes`.
        top_k: int. `k` of the top-k accuracy. Defaults to 5 (at most
            `num_classes - 1`).
        (and the arguments of `ClassifierTask`: `class_weighting`, and of
        `Task`)
    """

    num_classes: int | None = None
    classes: tuple | None = None
    top_k: int = 5

    kind = "multiclass"
    activation = "softmax"
    label_dtype = "int32"
    LOSSES = {
        "sparse_categorical_crossentropy":
            keras.losses.SparseCategoricalCrossentropy,
    }
    DEFAULT_LOSS = "sparse_categorical_crossentropy"
    DEFAULT_METRICS = ("accuracy", "top_k_accuracy")
    primary_metric = "accuracy"

    def __post_init__(self):
        if self.classes is not None:
            self._check_classes()
        if (not isinstance(self.num_classes, int)
                or isinstance(self.num_classes, bool)
                or self.num_classes < 2):
            raise ValueError(
                f"Task '{self.name}' is multiclass and needs `num_classes` "
                f">= 2 (or `classes`). Received: "
                f"num_classes={self.num_classes!r}")
        super().__post_init__()

    def _check_classes(self) -> None:
        classes = tuple(columns.plain(v) for v in self.classes)
        if len(set(classes)) != len(classes) or len(classes) < 2:
            raise ValueError(f"Task '{self.name}': `classes` must hold at "
                             f"least 2 distinct label values. Received: "
                             f"classes={list(classes)}")
        if self.num_classes is not None and self.num_classes != len(classes):
            raise ValueError(f"Task '{self.name}': num_classes="
                             f"{self.num_classes} but {len(classes)} classes "
                             f"are listed; give one of them.")
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "num_classes", len(classes))

    @property
    def output_units(self) -> int:
        return self.num_classes

    @property
    def class_names(self):
        if self.classes is None:
            return None
        return tuple(str(c) for c in self.classes)

    @property
    def k(self) -> int:
        """The `k` of top-k accuracy (below the number of classes)."""
        return min(self.top_k, self.num_classes - 1)

    @property
    def expected_labels(self) -> str:
        return f"integer class ids in [0, {self.num_classes - 1}]"

    def valid_labels(self, values):
        return ((values >= 0) & (values < self.num_classes)
                & (values == np.round(values)))

    def labels(self, frame):
        if self.classes is None:
            return super().labels(frame)
        return self._class_labels(frame)

    def _class_labels(self, frame):
        """Class ids of the label values (`classes`); missing values carry
        no label, others are an error naming the row."""
        series = frame[self.label_column]
        index = {value: i for i, value in enumerate(self.classes)}
        index.update({str(value): i for i, value in enumerate(self.classes)})
        if all(isinstance(v, (int, float)) for v in self.classes):
            index.update({float(value): i
                          for i, value in enumerate(self.classes)})
        missing = series.isna().to_numpy()
        if self.missing_label is not None:
            missing |= (series == self.missing_label).to_numpy()
        ids = np.array([index.get(columns.plain(v), -1) if not m else 0
                        for v, m in zip(series.to_numpy(), missing)])
        bad = ids < 0
        if bad.any():
            raise columns.bad_values(
                frame, self.label_column, bad, self.owner,
                f"one of its classes {list(self.classes)}", count=True)
        return ids.astype(np.int32).reshape(-1, 1), ~missing

    def metric_factories(self):
        name = lambda metric: f"{self.name}_{metric}"  # noqa: E731
        return {
            "accuracy": lambda: keras.metrics.SparseCategoricalAccuracy(
                name=name("accuracy")),
            "top_k_accuracy":
                lambda: keras.metrics.SparseTopKCategoricalAccuracy(
                    k=self.k, name=name(f"top{self.k}_accuracy")),
            "log_loss": lambda: keras.metrics.SparseCategoricalCrossentropy(
                name=name("log_loss")),
        }

    def report_metrics(self, result):
        return ["accuracy", "macro_f1"] + sorted(
            k for k in result if k.startswith("top"))

    def evaluate(self, labels, predictions, weights):
        y = labels.reshape(-1).astype(int)
        p, w = predictions, weights
        predicted = np.argmax(p, axis=-1)
        classes = np.arange(self.num_classes)
        named = {"classes": list(self.class_names)} \
            if self.class_names else {}
        return {
            **named,
            "accuracy": self.primary_score(labels, predictions, weights),
            "macro_f1": float(sk.f1_score(y, predicted, average="macro",
                                          labels=classes, sample_weight=w,
                                          zero_division=0)),
            f"top{self.k}_accuracy": float(sk.top_k_accuracy_score(
                y, p, k=self.k, labels=classes, sample_weight=w)),
        }

    #: Ensemble selection judges mixtures by log loss, not accuracy:
    #: accuracy moves in steps of one validation row, so on a few hundred
    #: labelled rows (a sparse label) it follows noise; log loss, a proper
    #: scoring rule, rewards every probability.
    selection_metric = "log_loss"

    def selection_score(self, labels, predictions, weights):
        y = labels.reshape(-1).astype(int)
        chosen = np.take_along_axis(np.asarray(predictions),
                                    y[:, None], axis=-1)[:, 0]
        return -float(np.average(-np.log(np.clip(chosen, 1e-7, 1.0)),
                                 weights=weights))

    def primary_score(self, labels, predictions, weights):
        correct = np.argmax(predictions, axis=-1) == \
            labels.reshape(-1).astype(int)
        return float(np.average(correct, weights=weights))


def multiclass(name: str, num_classes: int | None = None, *,
               classes=None, **kwargs) -> MulticlassTask:
    """A multiclass task (interest category, star rating): softmax output.

    Labels are class ids in `[0, num_classes)`, or, with `classes`, the
    label values themselves: `multiclass("stars", classes=[1, 2, 3, 4, 5])`
    or `multiclass("mpaa", classes=["PG", "PG-13", "R"])`.
    """
    return create("multiclass", name, num_classes=num_classes,
                  classes=None if classes is None else tuple(classes),
                  **kwargs)
