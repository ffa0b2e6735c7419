"""The gradient-boosting baselines as a Keras model over the features'
encoded inputs, predicting what scikit-learn's fitted
`HistGradientBoosting*` models predict: so they can be saved, exported
and joined to an ensemble (`mtzoo.runs.ensembles`) like any network.

The columns the trees read are built inside the model as
`mtzoo.baselines.Design.trees` builds them (`mtzoo.layers.TreeInputs`),
many-valued ids through their target encodings (a lookup per id,
`mtzoo.layers.IdLinear`), and the trees are walked by
`mtzoo.layers.TreeEnsemble`. scikit-learn keeps a fitted model's trees in
attributes of its own (`_predictors`, `_baseline_prediction`,
`_bin_mapper`) rather than public ones; the tests compare this model's
predictions with scikit-learn's, so a change there is caught.
"""

from __future__ import annotations

import keras
import numpy as np

from mtzoo.baselines.keras_linear import _ABSENT_CLASS_LOGIT
from mtzoo.baselines.keras_linear import fixed_model


def _numeric_layout(arrays: dict, features: int,
                    categories_left: np.ndarray, known: np.ndarray,
                    feature_row: np.ndarray) -> tuple[dict, np.ndarray]:
    """`(node arrays, categories sent right)` laid out for
    `TreeEnsemble(layout="numeric")`: each tree's nodes renumbered breadth
    first so a node's right child follows its left one, `left` indexing
    the whole ensemble's nodes, a leaf sending every row to itself
    (threshold +inf, left = itself), and `feature` pointing at the copy
    of its column whose missing values go its way (`features` + column
    when they go right). A categorical split never goes right by its
    threshold (+inf) but by its row (`left_categories`, from 1) of the
    table returned: per category code, 1 where the category goes right
    (`categories_left` sends it left; one the feature never had in
    training, `known`, and code 255, a missing one, go the missing
    values' way). Row 0, of the numeric splits, is zeros."""
    trees, nodes = arrays["left"].shape
    out = {name: np.zeros_like(values) for name, values in arrays.items()}
    right_rows = [np.zeros(256, np.int32)]
    for t in range(trees):
        order, new = [0], {0: 0}
        for old in order:  # breadth first; children numbered in pairs
            if not arrays["leaf"][t, old]:
                for child in (arrays["left"][t, old], arrays["right"][t, old]):
                    new[int(child)] = len(new)
                    order.append(int(child))
        for old, at in new.items():
            leaf = bool(arrays["leaf"][t, old])
            categorical = not leaf and bool(arrays["categorical"][t, old])
            feature = int(arrays["feature"][t, old])
            missing_left = bool(arrays["missing_left"][t, old])
            out["value"][t, at] = arrays["value"][t, old]
            out["leaf"][t, at] = int(leaf)
            out["threshold"][t, at] = np.inf if leaf or categorical else \
                arrays["threshold"][t, old]
            out["left"][t, at] = t * nodes + (
                at if leaf else new[int(arrays["left"][t, old])])
            goes_right = not leaf and not categorical and not missing_left
            out["feature"][t, at] = feature + (features if goes_right
                                               else 0)
            out["missing_left"][t, at] = int(not goes_right)
            if categorical:
                left = categories_left[arrays["left_categories"][t, old]] > 0
                seen = known[feature_row[feature]] > 0
                right = np.where(left, False, np.where(seen, True,
                                                       not missing_left))
                right[255] = not missing_left  # a missing category
                out["categorical"][t, at] = 1
                out["left_categories"][t, at] = len(right_rows)
                right_rows.append(right.astype(np.int32))
        for at in range(len(new), nodes):  # padding: leaves, never reached
            out["threshold"][t, at], out["leaf"][t, at] = np.inf, 1
            out["left"][t, at] = t * nodes + at
    return out, np.stack(right_rows)


def _trees(estimator, layout: str = "numeric") -> dict:
    """The fitted trees as `TreeEnsemble`'s constructor arguments and
    weights, in `layout` (see `TreeEnsemble`)."""
    from mtzoo.layers.tree_ensemble import NODE_ARRAYS
    from mtzoo.layers.tree_ensemble import bits

    predictors = [(k, p) for iteration in estimator._predictors
                  for k, p in enumerate(iteration)]
    nodes = max(len(p.nodes) for _, p in predictors)
    arrays = {name: np.zeros((len(predictors), nodes), dtype)
              for name, dtype in NODE_ARRAYS}
    arrays["leaf"][:] = 1  # padding: leaves of value 0, never reached
    sets, offset = [], 0
    for t, (_, predictor) in enumerate(predictors):
        record, size = predictor.nodes, len(predictor.nodes)
        arrays["feature"][t, :size] = record["feature_idx"]
        arrays["threshold"][t, :size] = record["num_threshold"]
        arrays["missing_left"][t, :size] = record["missing_go_to_left"]
        arrays["left"][t, :size] = record["left"]
        arrays["right"][t, :size] = record["right"]
        arrays["leaf"][t, :size] = record["is_leaf"]
        arrays["value"][t, :size] = record["value"]
        arrays["categorical"][t, :size] = record["is_categorical"]
        # A tree's categorical splits index its own sets; numeric ones none.
        arrays["left_categories"][t, :size] = np.where(
            record["is_categorical"], offset + record["bitset_idx"], 0)
        left_sets = np.asarray(predictor.raw_left_cat_bitsets)
        sets.append(left_sets)
        offset += len(left_sets)
    known, feature_row = estimator._bin_mapper.make_known_categories_bitsets()
    categories_left = bits(np.concatenate(sets)) if offset else \
        np.zeros((1, 256), np.int32)
    known = bits(known) if len(known) else np.zeros((1, 256), np.int32)
    outputs = estimator.n_trees_per_iteration_
    order, codes = _column_layout(estimator)
    categorical_splits = bool(arrays["categorical"].any())
    if layout == "numeric":
        arrays, categories_left = _numeric_layout(
            arrays, int(estimator.n_features_in_), categories_left, known,
            np.asarray(feature_row, np.int32))
    config = {"features": int(estimator.n_features_in_),
              "ordinal_columns": len(codes),
              "trees": len(predictors), "nodes": nodes,
              "depth": max(int(p.nodes["depth"].max()) for _, p in
                           predictors),
              "outputs": outputs, "category_sets": len(categories_left),
              "categorical_features": len(known),
              "categorical_splits": categorical_splits,
              "layout": layout}
    codes = np.concatenate(codes) if codes else np.zeros(256)
    weights = [order, codes, np.asarray(estimator._baseline_prediction,
                          np.float64).reshape(outputs),
               np.asarray([k for k, _ in predictors], np.int32),
               known.reshape(-1), categories_left.reshape(-1),
               np.asarray(feature_row, np.int32)]
    weights += [arrays[name].reshape(-1) for name, _ in NODE_ARRAYS]
    return {"config": config, "weights": weights}


def _column_layout(estimator) -> tuple[np.ndarray, list[np.ndarray]]:
    """`(column order, [codes per categorical column])`: scikit-learn
    puts categorical columns first and reads their ordinal codes among
    the categories of the training rows (its `OrdinalEncoder`)."""
    categorical = getattr(estimator, "is_categorical_", None)
    columns = int(estimator.n_features_in_)
    if categorical is None or not np.any(categorical):
        return np.arange(columns, dtype=np.int32), []
    categorical = np.asarray(categorical, bool)
    order = np.concatenate([np.flatnonzero(categorical),
                            np.flatnonzero(~categorical)]).astype(np.int32)
    encoder = estimator._preprocessor.named_transformers_["encoder"]
    codes = []
    for categories in encoder.categories_:
        table = np.full(256, np.nan)
        known = np.asarray(categories, np.float64)
        known = known[~np.isnan(known)]
        table[known.astype(int)] = np.arange(len(known))
        codes.append(table)
    return order, codes


def _output_layout(task, estimator) -> tuple[np.ndarray, np.ndarray]:
    """`(kernel, bias)` taking the trees' raw outputs to the task's
    logits: classes the training rows never had get a very low logit."""
    outputs = estimator.n_trees_per_iteration_
    if not task.classifier or task.output_units == 1:
        return np.eye(outputs), np.zeros(outputs)
    classes = np.asarray(estimator.classes_).astype(int)
    kernel = np.zeros((outputs, task.output_units))
    bias = np.full(task.output_units, _ABSENT_CLASS_LOGIT)
    bias[classes] = 0.0
    if outputs == 1:  # two classes seen: one raw output, for classes[1]
        kernel[0, classes[1]] = 1.0
    else:
        kernel[np.arange(outputs), classes] = 1.0
    return kernel, bias


def _target_encodings(fit, design) -> list[np.ndarray]:
    """Per many-valued id feature, in column order: the table of its
    target encoding per id (`(rows, columns)`; ids the encoder never saw
    read the target's mean, as scikit-learn's `transform` does)."""
    encoder = fit.encoder
    per_feature = len(encoder.encodings_) // len(fit.many_valued)
    means = np.atleast_1d(encoder.target_mean_)
    feature_of = {column: name for name, column in
                  design.single_id_columns().items()}
    tables = []
    for i, column in enumerate(fit.many_valued):
        rows = design.id_rows[feature_of[column]]
        table = np.tile(means.astype(np.float64), (rows, 1))
        categories = np.asarray(encoder.categories_[i]).astype(int)
        for j in range(per_feature):
            table[categories, j] = encoder.encodings_[i * per_feature + j]
        tables.append((feature_of[column], table))
    return tables


def boosted_model(design, fits: dict, features, tasks, *,
                  name="gradient_boosting"):
    """A `MultiTaskModel` predicting each task of `fits` (task name ->
    `mtzoo.baselines.fit.BoostedFit`) from the encoded features, as the
    fitted estimators do on `design`'s columns."""
    from mtzoo.layers import IdLinear
    from mtzoo.layers import TreeEnsemble
    from mtzoo.layers import TreeInputs
    from mtzoo.models import blocks

    inputs = blocks.feature_inputs(features)
    fitted_tasks = [t for t in tasks if t.name in fits]
    outputs, weights = {}, []
    for task in fitted_tasks:
        fit = fits[task.name]
        many = set()
        columns = []
        if fit.encoder is not None:
            encodings = _target_encodings(fit, design)
            many = {feature for feature, _ in encodings}
        kept = [s for s in features if s.name not in many]
        if kept:
            columns.append(TreeInputs(
                ["count" if s.name in design.idf else "id"
                 if s.name in design.id_rows else "values" for s in kept],
                name=f"{task.name}_tree_columns")(
                    [inputs[s.name] for s in kept]))
        if fit.encoder is not None:
            for feature, table in encodings:
                layer = IdLinear(len(table), table.shape[1],
                                 name=f"{task.name}_{feature}_encoding")
                columns.append(layer(inputs[feature]))
                weights.append((layer, [table, np.ones(len(table)),
                                        np.zeros(table.shape[1])]))
        x = columns[0] if len(columns) == 1 else keras.layers.Concatenate(
            name=f"{task.name}_trees_read")(columns)
        trees = _trees(fit.estimator)
        ensemble = TreeEnsemble(**trees["config"], name=f"{task.name}_trees")
        raw = ensemble(x)
        weights.append((ensemble, trees["weights"]))
        kernel, bias = _output_layout(task, fit.estimator)
        layout = keras.layers.Dense(kernel.shape[1], trainable=False,
                                    dtype=blocks.OUTPUT_DTYPE,
                                    name=f"{task.name}_raw")
        outputs[task.name] = layout(raw)
        weights.append((layout, [kernel, bias]))
    return fixed_model(inputs, outputs, fitted_tasks, features, weights,
                       name)
