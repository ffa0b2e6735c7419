"""Baselines beside a run: per task, gradient boosting, a linear model and
a constant, trained on the run's training rows, chosen on its validation
rows and scored on its test rows with the task's own evaluation."""

from __future__ import annotations

import time

import numpy as np

from mtzoo import data as data_lib
from mtzoo import tasks as tasks_lib
from mtzoo.baselines import models
from mtzoo.baselines.design import Design

#: The baselines of a ranking task, in the order reports show them.
NAMES = ("gradient_boosting", "linear", "constant")


class _Split:
    """One split's encoded features and each task's labelled rows."""

    def __init__(self, frame, features, tasks):
        self.encoded = data_lib.encoded_arrays(frame, features)
        self.labels, self.weights = data_lib.label_arrays(frame, tasks)

    def rows(self, task) -> np.ndarray:
        return self.weights[task.name] > 0


def _score(task, split, rows, predictions) -> dict:
    return task.evaluate(split.labels[task.name][rows], predictions,
                         split.weights[task.name][rows])


def _fit_task(task, design, train, validation, test, seed) -> dict:
    rows = {name: split.rows(task) for name, split in
            (("train", train), ("validation", validation), ("test", test))}
    if not rows["train"].any() or not rows["test"].any():
        return {}
    trees = {name: design.trees(split.encoded)[rows[name]] for name, split
             in (("train", train), ("validation", validation),
                 ("test", test))}
    linear = {name: design.linear(split.encoded)[rows[name]]
              for name, split in (("train", train),
                                  ("validation", validation),
                                  ("test", test))}
    y = {name: split.labels[task.name][rows[name]].reshape(-1)
         for name, split in (("train", train), ("validation", validation))}
    w = {name: split.weights[task.name][rows[name]]
         for name, split in (("train", train), ("validation", validation))}
    results = {}
    start = time.perf_counter()
    boosted = models.gradient_boosting(task, seed, design.categorical)
    validated = rows["validation"].any()
    boosted.fit(trees["train"], y["train"], sample_weight=w["train"],
                **({"X_val": trees["validation"], "y_val": y["validation"],
                    "sample_weight_val": w["validation"]} if validated
                   else {}))
    results["gradient_boosting"] = {
        **_score(task, test, rows["test"],
                 models.output(task, boosted, trees["test"])),
        "iterations": int(boosted.n_iter_),
        "seconds": round(time.perf_counter() - start, 2)}
    start = time.perf_counter()
    best = None
    for strength in models.LINEAR_STRENGTHS:
        fitted = models.linear(task, strength).fit(
            linear["train"], y["train"], sample_weight=w["train"])
        if not validated:
            best = (None, strength, fitted)
            break
        score = _score(task, validation, rows["validation"], models.output(
            task, fitted, linear["validation"])).get(task.primary_metric)
        if best is None or (score is not None and (
                best[0] is None or score > best[0])):
            best = (score, strength, fitted)
    results["linear"] = {
        **_score(task, test, rows["test"],
                 models.output(task, best[2], linear["test"])),
        "strength": best[1],
        "seconds": round(time.perf_counter() - start, 2)}
    results["constant"] = _score(task, test, rows["test"], models.constant(
        task, y["train"], w["train"], int(rows["test"].sum())))
    return results


def fit_and_score(splits, *, seed: int = 0) -> dict:
    """Each ranking task's baselines on `splits` (a recipe's `Splits`):
    `{task: {"gradient_boosting": metrics, "linear": metrics,
    "constant": metrics}}`, metrics as the task's `evaluate` gives them
    (plus the boosting iterations, the linear model's regularization
    strength and the seconds each took)."""
    tasks = tasks_lib.ranking_tasks(splits.tasks)
    if not tasks:
        return {}
    train = _Split(splits.train, splits.features, tasks)
    validation = _Split(splits.validation, splits.features, tasks)
    test = _Split(splits.test, splits.features, tasks)
    design = Design(list(splits.features)).fit(train.encoded)
    return {task.name: _fit_task(task, design, train, validation, test,
                                 seed) for task in tasks}


def losses(test_results: dict, baselines: dict, tasks) -> list[str]:
    """One line per task whose network scores below a baseline on the
    task's primary metric, naming the best such baseline."""
    lines = []
    for task in tasks:
        mine = test_results.get(task.name, {}).get(task.primary_metric)
        theirs = {name: result.get(task.primary_metric)
                  for name, result in baselines.get(task.name, {}).items()}
        theirs = {k: v for k, v in theirs.items() if v is not None}
        if mine is None or not theirs:
            continue
        name, best = max(theirs.items(), key=lambda item: item[1])
        if best > mine:
            lines.append(
                f"{task.name}: the network's {task.primary_metric} "
                f"{mine:.4f} is below {name.replace('_', ' ')}'s "
                f"{best:.4f}")
    return lines
