"""Binary tasks: click, conversion, like."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pandas as pd
from sklearn import metrics as sk

from mtzoo.features import base as columns
from mtzoo.tasks.base import create
from mtzoo.tasks.base import register_kind
from mtzoo.tasks.classifier import ClassifierTask


#: Label names a binary task reads without `positive`: (positive,
#: negative), compared in lower case.
NAMED_PAIRS = (("yes", "no"), ("true", "false"), ("y", "n"), ("t", "f"))


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

    Labels are numbers in `[0, 1]` (or true/false), or names: with
    `positive` (e.g. `positive="yes"`), the rows holding that value are
    positive and every other value negative; without it, a column of
    yes/no, true/false, y/n or t/f (any case) reads as such.

    Args:
        positive: the label value that means positive, for a column of
            names.
    """

    positive: str | int | float | bool | None = None

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

    def labels(self, frame):
        series = frame[self.label_column]
        if self.positive is None and (pd.api.types.is_numeric_dtype(series)
                                      or pd.api.types.is_bool_dtype(series)):
            return super().labels(frame)
        missing = series.isna().to_numpy()
        if self.missing_label is not None:
            missing |= (series == self.missing_label).to_numpy()
        text = series.astype(str).str.strip()
        if self.positive is not None:
            wanted = columns.plain(self.positive)
            if isinstance(wanted, (int, float)) and not isinstance(
                    wanted, bool):  # 5 matches 5.0 in a column with gaps
                positive = pd.to_numeric(series, errors="coerce") == wanted
            else:
                positive = text == str(wanted)
        else:
            lowered = text.str.lower()
            pair = next((p for p in NAMED_PAIRS
                         if lowered[~missing].isin(p).all()), None)
            if pair is None:
                numeric = pd.to_numeric(series, errors="coerce")
                if (numeric.notna() | series.isna()).all():
                    return super().labels(frame)
                bad = ~missing & ~lowered.isin(
                    [v for p in NAMED_PAIRS for v in p]).to_numpy()
                raise columns.bad_values(
                    frame, self.label_column, bad, self.owner,
                    "labels in [0, 1], yes/no or true/false (for other "
                    "names, set `positive` to the value that means "
                    "positive)")
            positive = lowered == pair[0]
        labels = np.where(missing, 0.0, positive.to_numpy(bool))
        return labels.astype(self.label_dtype).reshape(-1, 1), ~missing

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
        out["auc"] = self.primary_score(labels, predictions, weights)
        if out["auc"] is None:
            out["notes"] = ["AUC is undefined: the labels hold a single "
                            "class"]
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

    def primary_score(self, labels, predictions, weights):
        hard = labels.reshape(-1) >= 0.5
        if hard.all() or not hard.any():
            return None
        return float(sk.roc_auc_score(hard.astype(int),
                                      predictions.reshape(-1),
                                      sample_weight=weights))


def binary(name: str, **kwargs) -> BinaryTask:
    """A binary task (click, conversion, like): sigmoid output."""
    return create("binary", name, **kwargs)
