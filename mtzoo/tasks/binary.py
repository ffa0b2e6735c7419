"""Binary tasks: click, conversion, like."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from sklearn import metrics as sk

from mtzoo.tasks.base import create
from mtzoo.tasks.base import register_kind
from mtzoo.tasks.classifier import ClassifierTask


@register_kind
@dataclasses.dataclass(frozen=True)
class BinaryTask(ClassifierTask):
    """A binary task: sigmoid output, labels in `[0, 1]`.

    Losses: `"binary_crossentropy"` (default), `"binary_focal_crossentropy"`.
    Metrics: `auc`, `pr_auc`, `log_loss`, `accuracy`, `precision`,
    `recall` (default `auc`, `accuracy`). Evaluation: AUC (primary), log
    loss, accuracy, precision, recall and F1 at threshold 0.5.
    `class_weighting="balanced"` weighs the rarer class up in the loss
    (see `ClassifierTask`).
    """

    kind = "binary"
    activation = "sigmoid"
    LOSSES = {
        "binary_crossentropy": keras.losses.BinaryCrossentropy,
        "binary_focal_crossentropy": keras.losses.BinaryFocalCrossentropy,
    }
    DEFAULT_LOSS = "binary_crossentropy"
    DEFAULT_METRICS = ("auc", "accuracy")
    expected_labels = "labels in [0, 1]"
    primary_metric = "auc"

    def report_metrics(self, result: dict) -> list[str]:
        return ["auc", "log_loss", "accuracy", "precision", "recall", "f1",
                "positive_rate"]

    def valid_labels(self, values):
        return (values >= 0) & (values <= 1)

    def metric_factories(self):
        name = lambda metric: f"{self.name}_{metric}"  # noqa: E731
        return {
            "auc": lambda: keras.metrics.AUC(name=name("auc"),
                                             num_thresholds=1000),
            "pr_auc": lambda: keras.metrics.AUC(
                name=name("pr_auc"), curve="PR", num_thresholds=1000),
            "log_loss": lambda: keras.metrics.BinaryCrossentropy(
                name=name("log_loss")),
            "accuracy": lambda: keras.metrics.BinaryAccuracy(
                name=name("accuracy")),
            "precision": lambda: keras.metrics.Precision(
                name=name("precision")),
            "recall": lambda: keras.metrics.Recall(name=name("recall")),
        }

    def evaluate(self, labels, predictions, weights):
        y, p, w = labels.reshape(-1), predictions.reshape(-1), weights
        out = {"positive_rate": float(np.average(y >= 0.5, weights=w))}
        hard = (y >= 0.5).astype(int)
        if len(np.unique(hard)) < 2:
            out["auc"] = None
            out["notes"] = ["AUC is undefined: the labels hold a single "
                            "class"]
        else:
            out["auc"] = float(sk.roc_auc_score(hard, p, sample_weight=w))
        clipped = np.clip(p, 1e-7, 1 - 1e-7)
        out["log_loss"] = float(np.average(
            -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)),
            weights=w))
        predicted = (p >= 0.5).astype(int)
        out["accuracy"] = float(sk.accuracy_score(hard, predicted,
                                                  sample_weight=w))
        for metric, function in (("precision", sk.precision_score),
                                 ("recall", sk.recall_score),
                                 ("f1", sk.f1_score)):
            out[metric] = float(function(hard, predicted, sample_weight=w,
                                         zero_division=0))
        return out


def binary(name: str, **kwargs) -> BinaryTask:
    """A binary task (click, conversion, like): sigmoid output."""
    return create("binary", name, **kwargs)
