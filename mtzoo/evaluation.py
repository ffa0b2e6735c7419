"""Per-task evaluation of predictions, computed with scikit-learn.

Only examples that carry a task's label (sample weight > 0) count for that
task, weighted by their sample weight.

Metrics by kind:

* binary: AUC, log loss, accuracy, precision, recall, F1 (threshold 0.5);
* regression: RMSE, MAE, and skill `1 - RMSE / RMSE_of_the_mean`;
* multiclass: accuracy, macro-F1, top-k accuracy.

The combined score is the weighted mean (by task weight) of each task's
primary score: AUC (binary), skill (regression) or accuracy (multiclass).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn import metrics as sk

from mtzoo import tasks as tasks_lib

PRIMARY = {tasks_lib.BINARY: "auc", tasks_lib.REGRESSION: "skill",
           tasks_lib.MULTICLASS: "accuracy"}


def evaluate(tasks, labels: dict, predictions: dict,
             sample_weights: dict | None = None,
             retrieval: dict | None = None) -> dict:
    """Metrics of each task, plus `combined_score`.

    Args:
        tasks: task specs.
        labels: dict task -> labels (as from `mtzoo.data.label_arrays`).
        predictions: dict task -> model outputs.
        sample_weights: dict task -> weights; 0 excludes an example.
        retrieval: dict task -> the metrics of each retrieval task, from
            `mtzoo.retrieval.evaluate` (they need the whole catalogue, not
            the model's outputs).

    Returns:
        `{"tasks": {task: {metric: value}}, "combined_score": float}`.
        A metric that is undefined (e.g. AUC with a single class) is None,
        with the reason under `"notes"`.
    """
    results = {}
    for task in tasks_lib.validate(tasks):
        if task.kind == tasks_lib.RETRIEVAL:
            if not retrieval or task.name not in retrieval:
                raise ValueError(
                    f"Task '{task.name}' is a retrieval task: pass its "
                    f"metrics from mtzoo.retrieval.evaluate as "
                    f"`retrieval={{'{task.name}': ...}}`.")
            results[task.name] = dict(retrieval[task.name])
            results[task.name].setdefault(
                "examples", results[task.name].get("queries"))
            continue
        y = np.asarray(labels[task.name]).reshape(len(labels[task.name]), -1)
        p = np.asarray(predictions[task.name])
        w = (np.ones(len(y)) if sample_weights is None
             else np.asarray(sample_weights[task.name], dtype=float))
        keep = w > 0
        y, p, w = y[keep], p[keep], w[keep]
        if len(y) == 0:
            results[task.name] = {"examples": 0, "notes": [
                "no example carries this task's label"]}
            continue
        if task.kind == tasks_lib.BINARY:
            results[task.name] = _binary(y[:, 0], p.reshape(-1), w)
        elif task.kind == tasks_lib.REGRESSION:
            results[task.name] = _regression(y[:, 0], p.reshape(-1), w)
        else:
            results[task.name] = _multiclass(y[:, 0].astype(int), p, w,
                                             task)
        results[task.name]["examples"] = int(len(y))
    return {"tasks": results, "combined_score": combined_score(tasks,
                                                               results)}


def primary_metric(task) -> str:
    """The metric a task contributes to the combined score."""
    if task.kind == tasks_lib.RETRIEVAL:
        return f"recall_at_{max(task.ks)}"
    return PRIMARY[task.kind]


def combined_score(tasks, results: dict) -> float | None:
    """Task-weight-weighted mean of each task's primary score."""
    total = weight = 0.0
    for task in tasks:
        score = results.get(task.name, {}).get(primary_metric(task))
        if score is None or not math.isfinite(score) or task.weight == 0:
            continue
        total += task.weight * score
        weight += task.weight
    return total / weight if weight else None


def _binary(y, p, w):
    out = {"positive_rate": float(np.average(y >= 0.5, weights=w))}
    hard = (y >= 0.5).astype(int)
    if len(np.unique(hard)) < 2:
        out["auc"] = None
        out["notes"] = ["AUC is undefined: the labels hold a single class"]
    else:
        out["auc"] = float(sk.roc_auc_score(hard, p, sample_weight=w))
    clipped = np.clip(p, 1e-7, 1 - 1e-7)
    out["log_loss"] = float(np.average(
        -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)), weights=w))
    predicted = (p >= 0.5).astype(int)
    out["accuracy"] = float(sk.accuracy_score(hard, predicted,
                                              sample_weight=w))
    out["precision"] = float(sk.precision_score(
        hard, predicted, sample_weight=w, zero_division=0))
    out["recall"] = float(sk.recall_score(hard, predicted, sample_weight=w,
                                          zero_division=0))
    out["f1"] = float(sk.f1_score(hard, predicted, sample_weight=w,
                                  zero_division=0))
    return out


def _regression(y, p, w):
    rmse = math.sqrt(float(np.average((p - y) ** 2, weights=w)))
    mean = float(np.average(y, weights=w))
    baseline = math.sqrt(float(np.average((y - mean) ** 2, weights=w)))
    return {
        "rmse": rmse,
        "mae": float(np.average(np.abs(p - y), weights=w)),
        "skill": 1.0 - rmse / baseline if baseline > 0 else None,
    }


def _multiclass(y, p, w, task):
    predicted = np.argmax(p, axis=-1)
    k = min(task.top_k, task.num_classes - 1)
    classes = np.arange(task.num_classes)
    return {
        "accuracy": float(sk.accuracy_score(y, predicted, sample_weight=w)),
        "macro_f1": float(sk.f1_score(y, predicted, average="macro",
                                      labels=classes, sample_weight=w,
                                      zero_division=0)),
        f"top{k}_accuracy": float(sk.top_k_accuracy_score(
            y, p, k=k, labels=classes, sample_weight=w)),
    }
