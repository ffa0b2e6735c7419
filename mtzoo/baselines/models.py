"""The baseline models of each task kind: gradient boosting, a linear
model and a constant, fitted on the rows that carry the task's label."""

from __future__ import annotations

import numpy as np

#: Regularization strengths a linear baseline chooses among on the
#: validation rows (C of logistic regression, 1 / alpha of Ridge).
LINEAR_STRENGTHS = (0.01, 0.1, 1.0, 10.0)


def gradient_boosting(task, seed: int, categorical: list[bool]):
    """scikit-learn's histogram gradient boosting for the task's kind,
    early-stopped on the validation rows given to `fit`."""
    from sklearn import ensemble

    # A higher learning rate than scikit-learn's 0.1 and a short patience
    # keep the baselines a fraction of the network's training time.
    options = dict(learning_rate=0.2, max_iter=300, max_leaf_nodes=31,
                   early_stopping=True, n_iter_no_change=10,
                   random_state=seed,
                   categorical_features=np.asarray(categorical, bool)
                   if any(categorical) else None)
    if task.classifier:
        return ensemble.HistGradientBoostingClassifier(**options)
    return ensemble.HistGradientBoostingRegressor(**options)


def linear(task):
    """Logistic regression (classification) or Ridge (regression); set
    its regularization with `set_strength`. Logistic regression starts
    each fit from the previous one's weights (a regularization path)."""
    from sklearn import linear_model

    if task.classifier:
        return linear_model.LogisticRegression(max_iter=300,
                                               warm_start=True)
    return linear_model.Ridge()


def fit_recording_convergence(estimator, matrix, labels, weights) -> bool:
    """Fits `estimator`; returns whether its solver converged (within its
    iterations), instead of printing scikit-learn's warning in the middle
    of a run's output."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(matrix, labels, sample_weight=weights)
    converged = True
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            converged = False
        else:  # anything else is still the user's to see
            warnings.warn_explicit(warning.message, warning.category,
                                   warning.filename, warning.lineno)
    return converged


def set_strength(estimator, strength: float):
    """`estimator` at regularization `strength` (larger: weaker)."""
    if hasattr(estimator, "C"):
        return estimator.set_params(C=strength)
    return estimator.set_params(alpha=1.0 / strength)


def output(task, estimator, matrix) -> np.ndarray:
    """The estimator's predictions in the shape and units of the model's
    output for the task."""
    if not task.classifier:
        return estimator.predict(matrix).reshape(-1, 1)
    probabilities = estimator.predict_proba(matrix)
    classes = np.asarray(estimator.classes_).astype(int)
    full = np.zeros((len(probabilities), task.output_units), np.float64)
    if task.output_units == 1:  # binary: the probability of 1
        return probabilities[:, list(classes).index(1)].reshape(-1, 1) \
            if 1 in classes else full
    full[:, classes] = probabilities
    return full


def constant(task, labels: np.ndarray, weights: np.ndarray,
             rows: int) -> np.ndarray:
    """The training rows' mean label (regression, binary) or class
    frequencies (multiclass), for every one of `rows` rows."""
    if task.output_units == 1:
        value = np.average(labels.reshape(-1), weights=weights)
        return np.full((rows, 1), value)
    counts = np.bincount(labels.reshape(-1).astype(int), weights=weights,
                         minlength=task.output_units)
    return np.tile(counts / counts.sum(), (rows, 1))
