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
    """One split's labels and its design matrices (built once, shared by
    every task)."""

    def __init__(self, frame, features, tasks):
        self.encoded = data_lib.encoded_arrays(frame, features)
        self.labels, self.weights = data_lib.label_arrays(frame, tasks)
        self.trees = self.linear = None

    def design(self, design) -> "_Split":
        self.trees = design.trees(self.encoded)
        self.linear = design.linear(self.encoded)
        self.encoded = None  # the matrices are what the tasks read
        return self

    def rows(self, task) -> np.ndarray:
        return self.weights[task.name] > 0


def _rows_of(matrix, rows: np.ndarray):
    """`matrix[rows]`, without copying the matrix when every row counts
    (a task with every label present)."""
    return matrix if rows.all() else matrix[rows]


def _score(task, split, rows, predictions) -> dict:
    return {**task.evaluate(split.labels[task.name][rows], predictions,
                            split.weights[task.name][rows]),
            "examples": int(rows.sum())}


def _fit_task(task, design, train, validation, test, seed) -> dict:
    rows = {name: split.rows(task) for name, split in
            (("train", train), ("validation", validation), ("test", test))}
    if not rows["train"].any() or not rows["test"].any():
        return {}
    splits = (("train", train), ("validation", validation), ("test", test))
    trees = {name: _rows_of(split.trees, rows[name])
             for name, split in splits}
    categorical = design.categorical
    linear = {name: _rows_of(split.linear, rows[name])
              for name, split in splits}
    y = {name: split.labels[task.name][rows[name]].reshape(-1)
         for name, split in (("train", train), ("validation", validation))}
    w = {name: split.weights[task.name][rows[name]]
         for name, split in (("train", train), ("validation", validation))}
    results = {}
    start = time.perf_counter()
    if design.many_valued:
        trees, categorical = _target_encoded(task, trees, y["train"],
                                             design, seed)
    boosted = models.gradient_boosting(task, seed, categorical)
    validated = rows["validation"].any()
    boosted.fit(trees["train"], y["train"], sample_weight=w["train"],
                **({"X_val": trees["validation"], "y_val": y["validation"],
                    "sample_weight_val": w["validation"]} if validated
                   else {}))
    results["gradient_boosting"] = {
        **_score(task, test, rows["test"],
                 models.output(task, boosted, trees["test"])),
        "validation_score": _score(
            task, validation, rows["validation"],
            models.output(task, boosted, trees["validation"])).get(
                task.primary_metric) if validated else None,
        "iterations": int(boosted.n_iter_),
        "seconds": round(time.perf_counter() - start, 2)}
    start = time.perf_counter()
    estimator, best = models.linear(task), None
    for strength in models.LINEAR_STRENGTHS:
        converged = models.fit_recording_convergence(
            models.set_strength(estimator, strength), linear["train"],
            y["train"], w["train"])
        predicted = models.output(task, estimator, linear["test"])
        if not validated:
            best = (None, strength, predicted, converged)
            break
        score = _score(task, validation, rows["validation"], models.output(
            task, estimator, linear["validation"])).get(task.primary_metric)
        if best is None or (score is not None and (
                best[0] is None or score > best[0])):
            best = (score, strength, predicted, converged)
    results["linear"] = {**_score(task, test, rows["test"], best[2]),
                         "validation_score": best[0], "strength": best[1],
                         "converged": best[3],
                         "seconds": round(time.perf_counter() - start, 2)}
    results["constant"] = _score(task, test, rows["test"], models.constant(
        task, y["train"], w["train"], int(rows["test"].sum())))
    return results


def _target_encoded(task, trees: dict, labels, design, seed):
    """`trees` with each many-valued id column replaced by its cross-fitted
    target encoding on the training rows (scikit-learn's
    `TargetEncoder`), and the matching categorical flags."""
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import TargetEncoder

    many = design.many_valued
    kept = [c for c in range(len(design.categorical)) if c not in many]
    encoder = TargetEncoder(
        target_type="auto" if task.classifier else "continuous",
        cv=KFold(5, shuffle=True, random_state=seed))
    encoded = {"train": encoder.fit_transform(trees["train"][:, many],
                                              labels)}
    for name in ("validation", "test"):
        encoded[name] = encoder.transform(trees[name][:, many])
    flags = [design.categorical[c] for c in kept]
    flags += [False] * encoded["train"].shape[1]
    return ({name: np.hstack([matrix[:, kept], encoded[name]]).astype(
        np.float32) for name, matrix in trees.items()}, flags)


#: Training rows the baselines fit on at most (a seeded sample beyond),
#: so that they cost a fraction of training on large tables.
MAX_TRAIN_ROWS = 100_000


def fit_and_score(splits, *, seed: int = 0,
                  max_train_rows: int = MAX_TRAIN_ROWS) -> dict:
    """Each ranking task's baselines on `splits` (a recipe's `Splits`):
    `{task: {"gradient_boosting": metrics, "linear": metrics,
    "constant": metrics}}`, metrics as the task's `evaluate` gives them
    (plus the boosting iterations, the linear model's regularization
    strength, the training rows and the seconds each took). They train on
    at most `max_train_rows` of the training rows (a sample drawn with
    `seed`)."""
    results = _popularity(splits)
    tasks = tasks_lib.ranking_tasks(splits.tasks)
    if not tasks:
        return results
    rows = splits.train
    if len(rows) > max_train_rows:
        rows = rows.sample(n=max_train_rows, random_state=seed)
    train = _Split(rows, splits.features, tasks)
    validation = _Split(splits.validation, splits.features, tasks)
    test = _Split(splits.test, splits.features, tasks)
    design = Design(list(splits.features)).fit(train.encoded)
    for split in (train, validation, test):
        split.design(design)
    results.update({task.name: _fit_task(task, design, train, validation,
                                         test, seed) for task in tasks})
    for entry in results.values():
        for name in ("gradient_boosting", "linear"):
            if name in entry:
                entry[name]["train_rows"] = len(rows)
    return results


def _popularity(splits) -> dict:
    """Each retrieval task's most-popular-items baseline."""
    from mtzoo import retrieval

    results = {}
    for task in tasks_lib.retrieval_tasks(splits.tasks):
        catalogue = retrieval.catalogue(splits.train, splits.features,
                                        splits.tasks, task.name)
        results[task.name] = {"popularity": retrieval.popularity(
            splits.test, catalogue)}
    return results


def validation_targets(baselines: dict) -> dict[str, float]:
    """Per task, the better baseline's validation score on the task's
    primary metric (what a search tries to reach on every task)."""
    targets = {}
    for task, entry in baselines.items():
        scores = [entry[name].get("validation_score")
                  for name in ("gradient_boosting", "linear")
                  if name in entry]
        scores = [s for s in scores if s is not None]
        if scores:
            targets[task] = max(scores)
    return targets


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
