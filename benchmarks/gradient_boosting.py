"""LightGBM per task: the anchor the quality benchmarks set beside mtzoo.

One gradient-boosted model per task on the columns the feature specs read
(categorical specs as pandas categoricals with the training categories,
numeric ones as floats), early stopping on the validation split, scored on
the test split with the metric mtzoo reports for that task kind. LightGBM
lives in the `bench` extra: `pip install -e ".[bench]"`.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn import metrics

from mtzoo import features as features_lib

# Small learning rate and many rounds; early stopping picks the count.
PARAMS = {"n_estimators": 5000, "learning_rate": 0.05, "num_leaves": 31,
          "verbose": -1, "n_jobs": 2}
EARLY_STOPPING_ROUNDS = 100


def columns_of(features) -> tuple[list[str], list[str]]:
    """(numeric columns, categorical columns) the specs read."""
    numeric, categorical = [], []
    for spec in features:
        if isinstance(spec, features_lib.NumericFeature):
            numeric.append(spec.source)
        elif isinstance(spec, features_lib.CategoricalFeature):
            categorical.append(spec.source)
        else:
            raise TypeError(f"Feature '{spec.name}': LightGBM takes numeric "
                            f"and categorical columns only.")
    return numeric, categorical


def design_matrices(train, others, features):
    """The feature columns of `train` and of each frame in `others`, with
    categoricals coded by the training categories (unseen -> missing)."""
    numeric, categorical = columns_of(features)
    categories = {c: pd.Index(pd.unique(train[c].astype(str)))
                  for c in categorical}

    def matrix(frame):
        x = frame[numeric].astype("float64")
        for c in categorical:
            x[c] = pd.Categorical(frame[c].astype(str),
                                  categories=categories[c])
        return x[[*numeric, *categorical]]

    return matrix(train), [matrix(frame) for frame in others]


def _model(task, seed):
    import lightgbm

    if task.kind == "binary":
        return lightgbm.LGBMClassifier(random_state=seed, **PARAMS)
    if task.kind == "regression":
        return lightgbm.LGBMRegressor(random_state=seed, **PARAMS)
    raise ValueError(f"Task '{task.name}': no LightGBM anchor for "
                     f"{task.kind} tasks.")


def _score(task, labels, predictions) -> dict:
    if task.kind == "binary":
        return {"auc": float(metrics.roc_auc_score(labels, predictions))}
    return {"rmse": float(np.sqrt(np.mean(
        np.square(np.asarray(labels) - predictions))))}


def per_task(train, validation, test, features, tasks, seed: int) -> dict:
    """Test scores of one LightGBM per task, each early-stopped on
    `validation`: `{task: {"auc" | "rmse": ..., "trees": ..., "seconds":
    ...}}`."""
    import lightgbm

    x_train, (x_validation, x_test) = design_matrices(
        train, [validation, test], features)
    results = {}
    for task in tasks:
        start = time.perf_counter()
        model = _model(task, seed)
        known = train[task.label_column].notna().to_numpy()
        known_validation = validation[task.label_column].notna().to_numpy()
        model.fit(
            x_train[known], train[task.label_column][known],
            eval_X=(x_validation[known_validation],),
            eval_y=(validation[task.label_column][known_validation],),
            callbacks=[lightgbm.early_stopping(EARLY_STOPPING_ROUNDS,
                                               verbose=False)])
        if task.kind == "binary":
            predicted = model.predict_proba(x_test)[:, 1]
        else:
            predicted = model.predict(x_test)
        known_test = test[task.label_column].notna().to_numpy()
        results[task.name] = {
            **_score(task, test[task.label_column][known_test],
                     predicted[known_test]),
            "trees": int(model.best_iteration_),
            "seconds": round(time.perf_counter() - start, 2)}
    return results
