"""Per-task evaluation of predictions, computed with scikit-learn.

Only examples that carry a task's label (sample weight > 0) count for that
task, weighted by their sample weight.

Each task kind computes its own metrics (`Task.evaluate`: AUC, log loss,
accuracy, precision, recall and F1 for binary tasks; RMSE, MAE and skill
`1 - RMSE / RMSE_of_the_mean` for regression; accuracy, macro-F1 and
top-k accuracy for multiclass); retrieval metrics come from
`mtzoo.retrieval.evaluate`.

The combined score is the weighted mean (by task weight) of each task's
primary score (`Task.primary_metric`): AUC (binary), skill (regression),
accuracy (multiclass) or recall at the largest k (retrieval).
"""

from __future__ import annotations

import math

import numpy as np

from mtzoo import tasks as tasks_lib


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
        if retrieval and task.name in retrieval:
            results[task.name] = dict(retrieval[task.name])
            results[task.name].setdefault(
                "examples", results[task.name].get("queries"))
            continue
        y = np.asarray(labels[task.name]).reshape(len(labels[task.name]), -1)
        p = np.asarray(predictions[task.name])
        w = (np.ones(len(y)) if sample_weights is None
             else np.asarray(sample_weights[task.name], dtype=float))
        keep = w > 0
        if not keep.any():
            results[task.name] = {"examples": 0, "notes": [
                "no example carries this task's label"]}
            continue
        results[task.name] = task.evaluate(y[keep], p[keep], w[keep])
        results[task.name]["examples"] = int(keep.sum())
    return {"tasks": results, "combined_score": combined_score(tasks,
                                                               results)}


def combined_score(tasks, results: dict) -> float | None:
    """Task-weight-weighted mean of each task's primary score."""
    total = weight = 0.0
    for task in tasks:
        score = results.get(task.name, {}).get(task.primary_metric)
        if score is None or not math.isfinite(score) or task.weight == 0:
            continue
        total += task.weight * score
        weight += task.weight
    return total / weight if weight else None
