"""Baselines beside a run: per task, gradient boosting, a linear model and
a constant, trained on the run's training rows, chosen on its validation
rows and scored on its test rows with the task's own evaluation."""

from __future__ import annotations

import copy
import dataclasses
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
        self.size = len(frame)
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


def _labels(task, splits: dict, rows: dict) -> tuple[dict, dict]:
    """Per split name, the task's labels and weights on `rows`."""
    return ({name: split.labels[task.name][rows[name]].reshape(-1)
             for name, split in splits.items()},
            {name: split.weights[task.name][rows[name]]
             for name, split in splits.items()})


def _task_fits(task, design, train, validation, seed) -> dict:
    """The task's gradient boosting and linear model (`BoostedFit`,
    `LinearFit`), fitted on its labelled training rows and early-stopped
    or chosen on its labelled validation rows."""
    rows = {"train": train.rows(task), "validation": validation.rows(task)}
    pairs = {"train": train, "validation": validation}
    trees = {name: _rows_of(split.trees, rows[name])
             for name, split in pairs.items()}
    linear = {name: _rows_of(split.linear, rows[name])
              for name, split in pairs.items()}
    y, w = _labels(task, pairs, rows)
    validated = rows["validation"].any()
    start = time.perf_counter()
    boosted = _fit_boosted(task, design, trees, y, w, validated, seed)
    boosted.seconds = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    best = _fit_linear(task, linear, y, w, validation,
                       rows["validation"] if validated else None)
    best.seconds = round(time.perf_counter() - start, 2)
    constant = ConstantFit(models.constant(task, y["train"], w["train"],
                                           1)[0])
    return {"gradient_boosting": boosted, "linear": best,
            "constant": constant}


def _fits(tasks, design, train, validation, seed) -> dict:
    """`_task_fits` of each task with labelled training rows, by name."""
    return {task.name: _task_fits(task, design, train, validation, seed)
            for task in tasks if train.rows(task).any()}


def _fit_task(task, fits, train, validation, test) -> dict:
    """The task's baselines (`fits`, from `_task_fits`) scored on the test
    rows, with what they were chosen by."""
    rows = {name: split.rows(task) for name, split in
            (("train", train), ("validation", validation), ("test", test))}
    if not rows["test"].any():
        return {}
    boosted, best = fits["gradient_boosting"], fits["linear"]
    trees = {name: boosted.columns(_rows_of(split.trees, rows[name]))
             for name, split in (("validation", validation), ("test", test))}
    results = {}
    results["gradient_boosting"] = {
        **_score(task, test, rows["test"],
                 models.output(task, boosted.estimator, trees["test"])),
        "validation_score": _score(
            task, validation, rows["validation"],
            models.output(task, boosted.estimator,
                          trees["validation"])).get(
                task.primary_metric) if rows["validation"].any() else None,
        "iterations": int(boosted.estimator.n_iter_),
        "seconds": boosted.seconds}
    results["linear"] = {
        **_score(task, test, rows["test"], models.output(
            task, best.estimator, _rows_of(test.linear, rows["test"]))),
        "validation_score": best.score, "strength": best.strength,
        "converged": best.converged, "seconds": best.seconds}
    results["constant"] = _score(task, test, rows["test"], np.tile(
        fits["constant"].output, (int(rows["test"].sum()), 1)))
    return results


@dataclasses.dataclass
class ConstantFit:
    """A task's constant baseline: its output for every row, the
    training rows' mean label (regression, binary) or class frequencies
    (multiclass)."""

    output: np.ndarray


@dataclasses.dataclass
class LinearFit:
    """A task's linear baseline at the regularization strength that scored
    best on the validation rows (the first strength without them)."""

    estimator: object
    strength: float
    score: float | None
    converged: bool
    #: Seconds the fits took (set by whoever timed them).
    seconds: float = 0.0


def _fit_linear(task, linear: dict, y: dict, w: dict, validation,
                validation_rows) -> LinearFit:
    """Fits the task's linear model at each of `LINEAR_STRENGTHS` and
    keeps the one of the best validation score (`validation_rows`: the
    validation rows carrying the label, or None when there are none)."""
    estimator, best = models.linear(task), None
    for strength in models.LINEAR_STRENGTHS:
        converged = models.fit_recording_convergence(
            models.set_strength(estimator, strength), linear["train"],
            y["train"], w["train"])
        if validation_rows is None:
            return LinearFit(copy.deepcopy(estimator), strength, None,
                             converged)
        score = task.primary_score(
            validation.labels[task.name][validation_rows],
            models.output(task, estimator, linear["validation"]),
            validation.weights[task.name][validation_rows])
        if best is None or (score is not None and (
                best.score is None or score > best.score)):
            # A copy: logistic regression goes on from these weights.
            best = LinearFit(copy.deepcopy(estimator), strength, score,
                             converged)
    return best


@dataclasses.dataclass
class BoostedFit:
    """A task's gradient boosting: the estimator, and the target encoder
    of the many-valued id columns (`Design.many_valued`) it reads in place
    of the ids, or None."""

    estimator: object
    encoder: object
    many_valued: list
    #: Seconds the fit took (set by whoever timed it).
    seconds: float = 0.0

    def columns(self, trees: np.ndarray) -> np.ndarray:
        """The columns the estimator reads, from `Design.trees`' matrix:
        the others as they are, then the target encodings."""
        if self.encoder is None:
            return trees
        kept = [c for c in range(trees.shape[1])
                if c not in self.many_valued]
        return np.hstack([trees[:, kept], self.encoder.transform(
            trees[:, self.many_valued])]).astype(np.float32)


def _fit_boosted(task, design, trees: dict, y: dict, w: dict,
                 validated: bool, seed: int) -> BoostedFit:
    """Gradient boosting of the task, early-stopped on the validation rows
    (when `validated`); many-valued ids read as their target encodings,
    cross-fitted on the training rows (scikit-learn's `TargetEncoder`)."""
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import TargetEncoder

    many = design.many_valued
    categorical, encoder = design.categorical, None
    train = trees["train"]
    if many:
        kept = [c for c in range(len(categorical)) if c not in many]
        encoder = TargetEncoder(
            target_type="auto" if task.classifier else "continuous",
            cv=KFold(5, shuffle=True, random_state=seed))
        # Cross-fitted: a training row's encoding leaves its own label out.
        encoded = encoder.fit_transform(train[:, many], y["train"])
        train = np.hstack([train[:, kept], encoded]).astype(np.float32)
        categorical = [categorical[c] for c in kept] + [False] * \
            encoded.shape[1]
    fit = BoostedFit(models.gradient_boosting(task, seed, categorical),
                     encoder, many)
    fit.estimator.fit(
        train, y["train"], sample_weight=w["train"],
        **({"X_val": fit.columns(trees["validation"]),
            "y_val": y["validation"],
            "sample_weight_val": w["validation"]} if validated else {}))
    return fit


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
    return fit_score_and_keep(splits, seed=seed,
                              max_train_rows=max_train_rows)[0]


def fit_score_and_keep(splits, *, seed: int = 0,
                       max_train_rows: int = MAX_TRAIN_ROWS) -> tuple:
    """`(results, design, fits)`: `fit_and_score`'s results, and the
    fitted baselines as `fitted` gives them, so that a run that reports
    them and also serves them (`mtzoo.runs.ensembles`) fits them once."""
    results = _popularity(splits)
    tasks = tasks_lib.ranking_tasks(splits.tasks)
    if not tasks:
        return results, None, {}
    design, (train, validation, test) = _designed(
        splits, tasks, ("train", "validation", "test"), seed,
        max_train_rows)
    fits = _fits(tasks, design, train, validation, seed)
    for task in tasks:
        results[task.name] = _fit_task(task, fits[task.name], train,
                                       validation, test) \
            if task.name in fits else {}
    for entry in results.values():
        for name in ("gradient_boosting", "linear"):
            if name in entry:
                entry[name]["train_rows"] = train.size
    return results, design, fits


def _designed(splits, tasks, names, seed: int, max_train_rows: int):
    """`(design, [split...])`: the design learned on (at most
    `max_train_rows` of) the training rows, and the splits `names` (the
    first "train") with their matrices."""
    rows = splits.train
    if len(rows) > max_train_rows:
        rows = rows.sample(n=max_train_rows, random_state=seed)
    frames = {"train": rows, "validation": splits.validation,
              "test": splits.test}
    parts = [_Split(frames[name], splits.features, tasks) for name in names]
    design = Design(list(splits.features)).fit(parts[0].encoded)
    return design, [part.design(design) for part in parts]


def fitted(splits, *, seed: int = 0,
           max_train_rows: int = MAX_TRAIN_ROWS) -> tuple:
    """`(design, {task: {"gradient_boosting": BoostedFit, "linear":
    LinearFit, "constant": ConstantFit}})`: each ranking task's baselines
    as `fit_and_score` fits them (on the same rows, chosen on the
    validation rows), kept to be served (`mtzoo.baselines.keras_linear`,
    `keras_trees`). Tasks without labelled training rows are left out."""
    tasks = tasks_lib.ranking_tasks(splits.tasks)
    design, (train, validation) = _designed(
        splits, tasks, ("train", "validation"), seed, max_train_rows)
    fits = _fits(tasks, design, train, validation, seed)
    return design, fits


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


def losses(test_results: dict, baselines: dict, tasks, *,
           model: str = "network") -> list[str]:
    """One line per task whose `model` (what `test_results` scored: the
    network, or its ensemble) scores below a baseline on the task's
    primary metric, naming the best such baseline."""
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
                f"{task.name}: the {model}'s {task.primary_metric} "
                f"{mine:.4f} is below {name.replace('_', ' ')}'s "
                f"{best:.4f}")
    return lines
