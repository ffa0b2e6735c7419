"""The linear baselines as a Keras model over the features' encoded
inputs, predicting what scikit-learn's fitted models predict: so a linear
baseline can be saved, exported and joined to an ensemble
(`mtzoo.runs.ensembles`) like any network.

The design's columns map onto layers: standardized numbers onto one
`Dense` (the standardization folded into its kernel and bias), one-hot ids
and TF-IDF bags of ids onto `mtzoo.layers.IdLinear`. Classification tasks
end in a sigmoid or softmax, regression tasks give the value in label
units (Ridge is fitted on the labels as they are).
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

#: The logit of a class the training rows never had (its probability is
#: then about 1e-13 of the others').
_ABSENT_CLASS_LOGIT = -30.0


def _coefficients(task, estimator) -> tuple[np.ndarray, np.ndarray]:
    """`(coefficients (columns, units), intercepts (units,))` of a fitted
    scikit-learn linear model, in the task's output units."""
    coef = np.atleast_2d(np.asarray(estimator.coef_, np.float64))
    intercept = np.atleast_1d(np.asarray(estimator.intercept_, np.float64))
    if not task.classifier or task.output_units == 1:
        return coef.T, intercept
    classes = np.asarray(estimator.classes_).astype(int)
    weights = np.zeros((coef.shape[1], task.output_units))
    bias = np.full(task.output_units, _ABSENT_CLASS_LOGIT)
    if len(classes) == 2:  # two classes seen: one logit, against class 0
        bias[classes] = [0.0, intercept[0]]
        weights[:, classes[1]] = coef[0]
    else:
        bias[classes] = intercept
        weights[:, classes] = coef.T
    return weights, bias


def _flat(value, spec):
    width = int(np.prod(spec.encoded_shape())) if spec.encoded_shape() else 1
    return keras.layers.Reshape((width,), name=f"{spec.name}_flat")(value)


def linear_model(design, fits: dict, features, tasks, *, name="linear"):
    """A `MultiTaskModel` predicting each task of `fits` (task name ->
    `mtzoo.baselines.fit.LinearFit`) from the encoded features, as the
    fitted estimators do on `design`'s matrices."""
    return _linear_model(design, {task: fit.estimator
                                  for task, fit in fits.items()},
                         features, tasks, name=name)


def constant_model(design, fits: dict, features, tasks, *,
                   name="constant"):
    """A `MultiTaskModel` predicting each task's constant (task name ->
    `mtzoo.baselines.fit.ConstantFit`) whatever the inputs: a linear model
    whose coefficients are 0 and whose intercepts give the constant."""
    columns = len(design.scale[0]) + sum(design.id_rows.values())
    task_of = {task.name: task for task in tasks}
    return _linear_model(design, {
        task: _Intercepts.giving(task_of[task], fit.output, columns)
        for task, fit in fits.items()}, features, tasks, name=name)


@dataclasses.dataclass(frozen=True)
class _Intercepts:
    """The attributes `_coefficients` reads of a fitted scikit-learn
    linear model, for one with zero coefficients."""

    coef_: np.ndarray
    intercept_: np.ndarray
    classes_: np.ndarray

    @classmethod
    def giving(cls, task, output, columns: int) -> "_Intercepts":
        """Intercepts whose output activation gives `output` (a
        regression's value, a binary task's probability of 1, or class
        probabilities)."""
        output = np.asarray(output, np.float64).reshape(-1)
        if not task.classifier:
            return cls(np.zeros((1, columns)), output, np.arange(0))
        if task.output_units == 1:
            p = np.clip(output[0], 1e-7, 1 - 1e-7)
            return cls(np.zeros((1, columns)), np.log([p / (1 - p)]),
                       np.arange(2))
        seen = np.flatnonzero(output > 0)
        logits = np.log(output[seen])
        if len(seen) == 2:  # one logit against the first class, as fitted
            return cls(np.zeros((1, columns)), logits[1:] - logits[0], seen)
        return cls(np.zeros((len(seen), columns)), logits, seen)


def _linear_model(design, estimators: dict, features, tasks, *, name):
    """`linear_model` of fitted estimators (task name -> estimator)."""
    from mtzoo.layers import IdLinear
    from mtzoo.models import blocks

    inputs = blocks.feature_inputs(features)
    dense_specs = [s for s in features if s.name not in design.id_rows]
    dense = None
    if dense_specs:
        parts = [_flat(inputs[s.name], s) for s in dense_specs]
        dense = parts[0] if len(parts) == 1 else keras.layers.Concatenate(
            name="numbers")(parts)
    mean, std = design.scale
    width = len(mean)
    outputs, weights = {}, []
    fitted_tasks = [t for t in tasks if t.name in estimators]
    for task in fitted_tasks:
        coef, intercept = _coefficients(task, estimators[task.name])
        units = coef.shape[1]
        terms, offset = [], width
        if width:
            # (x - mean) / std @ w + b == x @ (w / std) + (b - mean/std @ w)
            kernel = coef[:width] / std[:, None]
            layer = keras.layers.Dense(units, dtype=blocks.OUTPUT_DTYPE,
                                       name=f"{task.name}_numbers")
            terms.append(layer(dense))
            weights.append((layer, [kernel, intercept
                                    - (mean / std) @ coef[:width]]))
        for spec in features:
            if spec.name not in design.id_rows:
                continue
            rows = design.id_rows[spec.name]
            layer = IdLinear(rows, units, bag=spec.name in design.idf,
                             dtype=blocks.OUTPUT_DTYPE,
                             name=f"{task.name}_{spec.name}")
            terms.append(layer(inputs[spec.name]))
            # The intercept goes to the numbers' Dense, or else here once.
            bias = intercept if offset == 0 else np.zeros(units)
            weights.append((layer, [coef[offset:offset + rows],
                                    design.idf.get(spec.name,
                                                   np.ones(rows)), bias]))
            offset += rows
        outputs[task.name] = terms[0] if len(terms) == 1 else \
            keras.layers.Add(dtype=blocks.OUTPUT_DTYPE,
                             name=f"{task.name}_logit")(terms)
    return fixed_model(inputs, outputs, fitted_tasks, features, weights,
                       name)


def fixed_model(inputs, logits: dict, tasks, features, weights: list,
                name: str):
    """The `MultiTaskModel` of each task's `logits` (its value, for
    regression) through the task's output activation, with each
    `(layer, values)` of `weights` set: a fitted model, not trained."""
    from mtzoo.models import blocks
    from mtzoo.models.multitask_model import MultiTaskModel

    outputs = {task.name: blocks.activation(
        logits[task.name], task.activation if task.classifier else "linear",
        name=task.name) for task in tasks}
    model = MultiTaskModel(inputs=inputs, outputs=outputs, tasks=tasks,
                           features=features, name=name)
    for layer, values in weights:
        layer.set_weights([np.asarray(value, variable.dtype) for value,
                           variable in zip(values, layer.weights)])
    return model
