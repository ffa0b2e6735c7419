"""A fitted ensemble of decision trees evaluated with tensor ops."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mtzoo.api_export import mtzoo_export

#: Categories a tree splits on: a category's bit in a 256-bit set.
CATEGORIES = 256
#: How the node arrays are laid out (see `TreeEnsemble`'s `layout`).
LAYOUTS = ("levels", "numeric")
#: Per-node arrays, in `set_weights` order after the tables, and dtypes.
NODE_ARRAYS = (("feature", "int32"), ("threshold", "float64"),
               ("missing_left", "int32"), ("left", "int32"),
               ("right", "int32"), ("leaf", "int32"), ("value", "float64"),
               ("categorical", "int32"), ("left_categories", "int32"))


@mtzoo_export
class TreeEnsemble(keras.layers.Layer):
    """The summed leaf values of `trees` decision trees, per output.

    Each tree is an array of `nodes` nodes (shorter trees padded with
    leaves), evaluated for every row at once by walking `depth` levels:
    a numeric split sends a value `<= threshold` left; a categorical one
    sends a category left when it is in the node's set, right when it is a
    category known to the feature, and the way of missing values otherwise;
    a missing value (NaN, or a negative category) goes the node's way for
    missing values. That is how scikit-learn's histogram gradient boosting
    predicts from raw values, so its fitted trees give the same raw
    predictions here (`mtzoo.baselines.keras_trees`): computed in float64,
    returned in the layer's compute dtype.

    Columns are first put in `column_order`; the first `ordinal_columns`
    of them are then categories read as their ordinal codes
    (`ordinal_codes`: per column, the code of each category 0-255, NaN
    for one the trees never saw), as scikit-learn's model reorders and
    encodes its categorical columns before its trees read them.

    The weights are set from the fitted trees, not trained:
    `set_weights([column_order, ordinal_codes, baseline, output_of_tree,
    known_categories,
    categories_left, feature_known_row, *node arrays])` with the node
    arrays of `NODE_ARRAYS`, each `(trees * nodes,)` (tree after tree),
    and the two tables of categories flattened rows of 256 0/1 flags.

    Args:
        features: int. Columns of the input.
        trees: int. Trees.
        nodes: int. Nodes per tree (after padding).
        depth: int. The deepest leaf's depth.
        outputs: int. Outputs the trees add to (classes of a multiclass
            model, else 1).
        category_sets: int. Rows of the table of categories sent left
            (one per categorical split, at least 1).
        categorical_features: int. Rows of the table of categories known
            to each categorical feature (at least 1).
        ordinal_columns: int. Leading columns (after `column_order`) that
            are categories read as ordinal codes.
        categorical_splits: bool. Whether any node splits on categories;
            without, each level skips the category tables.
        layout: str. `"levels"`: the node arrays as scikit-learn keeps
            them, walked with the leaf, missing-value and category checks
            at every level. `"numeric"` (`mtzoo.baselines.keras_trees`):
            children adjacent, `left` indexing the ensemble's nodes,
            leaves looping to themselves and missing values read from a
            copy of the columns (-inf where they go left, NaN where
            right), so a level is a comparison and a few lookups; a
            categorical split (threshold +inf) goes right by its row of
            `categories_left` (from 1; row 0, of numeric splits, zeros),
            which flags per category code the categories sent right, code
            255 standing for a missing or unknown value.
        **kwargs: Args to pass to the base class.
    """

    def __init__(self, features, trees, nodes, depth, outputs,
                 category_sets=1, categorical_features=1,
                 ordinal_columns=0, categorical_splits=True,
                 layout="levels", **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.features = int(features)
        self.trees = int(trees)
        self.nodes = int(nodes)
        self.depth = int(depth)
        self.outputs = int(outputs)
        self.category_sets = int(category_sets)
        self.categorical_features = int(categorical_features)
        self.ordinal_columns = int(ordinal_columns)
        self.categorical_splits = bool(categorical_splits)
        if layout not in LAYOUTS:
            raise ValueError(f"TreeEnsemble: `layout` must be one of "
                             f"{LAYOUTS}. Received: layout={layout!r}")
        self.layout = layout

    def build(self, input_shape):
        def weight(name, shape, dtype):
            return self.add_weight(name=name, shape=shape, dtype=dtype,
                                   initializer="zeros", trainable=False)

        self.column_order = weight("column_order", (self.features,), "int32")
        self.ordinal_codes = weight(
            "ordinal_codes", (max(self.ordinal_columns, 1) * CATEGORIES,),
            "float64")
        self.baseline = weight("baseline", (self.outputs,), "float64")
        self.output_of_tree = weight("output_of_tree", (self.trees,),
                                     "int32")
        self.known_categories = weight(
            "known_categories", (self.categorical_features * CATEGORIES,),
            "int32")
        self.categories_left = weight(
            "categories_left", (self.category_sets * CATEGORIES,), "int32")
        self.feature_known_row = weight("feature_known_row",
                                        (self.features,), "int32")
        self.node_arrays = {
            name: weight(name, (self.trees * self.nodes,), dtype)
            for name, dtype in NODE_ARRAYS}

    def call(self, inputs):
        x = ops.take(ops.cast(inputs, "float64"), self.column_order, axis=1)
        if self.ordinal_columns:
            x = self._ordinal(x)
        if self.layout == "numeric":
            return self._walk_numeric(x)
        rows = ops.shape(x)[0]
        first = ops.arange(self.trees, dtype="int32") * self.nodes
        node = ops.zeros((rows, self.trees), dtype="int32")
        arrays = self.node_arrays

        def at(name, index):
            return ops.take(arrays[name], index, axis=0)

        def descend(_, node):
            index = node + first[None, :]
            feature = at("feature", index)
            value = ops.take_along_axis(x, feature, axis=1)
            missing = ops.isnan(value)
            missing_left = at("missing_left", index) > 0
            numeric_left = ops.where(missing, missing_left,
                                     value <= at("threshold", index))
            if not self.categorical_splits:
                step = ops.where(numeric_left, at("left", index),
                                 at("right", index))
                return ops.where(at("leaf", index) > 0, node, step)
            category = ops.cast(ops.clip(ops.where(missing, 0.0, value),
                                         0.0, CATEGORIES - 1.0), "int32")
            in_set = ops.take(self.categories_left, at(
                "left_categories", index) * CATEGORIES + category) > 0
            known = ops.take(self.known_categories, ops.take(
                self.feature_known_row, feature) * CATEGORIES + category) > 0
            unknown = missing | (value < 0) | ~(in_set | known)
            categorical_left = ops.where(unknown, missing_left, in_set)
            left = ops.where(at("categorical", index) > 0, categorical_left,
                             numeric_left)
            step = ops.where(left, at("left", index), at("right", index))
            return ops.where(at("leaf", index) > 0, node, step)

        # A loop in the graph, not `depth` copies of the step.
        node = ops.fori_loop(0, self.depth, descend, node)
        return self._summed(at("value", node + first[None, :]))

    def _walk_numeric(self, x):
        arrays = self.node_arrays
        # Missing values as the node wants them: -inf (<= any threshold:
        # left) in the first copy, NaN (<= nothing: right) in the second.
        both = ops.concatenate([ops.where(ops.isnan(x), float("-inf"), x),
                                x], axis=1)
        # A row's value of a node's column is one gather from the flat
        # matrix (take_along_axis builds the same from broadcast indices).
        start = ops.arange(ops.shape(x)[0], dtype="int32")[:, None] * (
            2 * self.features)
        both = ops.reshape(both, (-1,))
        if self.categorical_splits:
            whole = ops.logical_and(ops.floor(x) == x, (x >= 0) & (
                x < CATEGORIES - 1))  # False for NaN too
            code = ops.cast(ops.where(whole, x, CATEGORIES - 1.0), "int32")
            codes = ops.reshape(ops.concatenate([code, code], axis=1), (-1,))
        roots = ops.arange(self.trees, dtype="int32") * self.nodes
        node = ops.zeros((ops.shape(x)[0], 1), "int32") + roots[None, :]

        # Every index is in range: tf.gather, without the negative index
        # handling ops.take adds to each lookup.
        def at(values, index):
            return tf.gather(values, index)

        def descend(_, node):
            cell = start + at(arrays["feature"], node)
            # Not (value <= t): NaN, of a node whose missing values go
            # right, compares false and goes right too.
            right = ops.logical_not(at(both, cell) <= at(
                arrays["threshold"], node))
            if self.categorical_splits:
                row = at(arrays["left_categories"], node)
                right = right | (at(
                    self.categories_left,
                    row * CATEGORIES + at(codes, cell)) > 0)
            return at(arrays["left"], node) + ops.cast(right, "int32")

        node = ops.fori_loop(0, self.depth, descend, node)
        return self._summed(ops.take(arrays["value"], node))

    def _summed(self, values):
        """Each output's baseline plus the leaf values of its trees."""
        per_output = ops.one_hot(self.output_of_tree, self.outputs,
                                 dtype="float64")
        raw = ops.matmul(values, per_output) + self.baseline[None, :]
        return ops.cast(raw, self.compute_dtype)

    def _ordinal(self, x):
        """The first `ordinal_columns` columns (categories) as their
        ordinal codes: NaN for a category the trees never saw."""
        raw = x[:, :self.ordinal_columns]
        whole = ops.logical_and(ops.floor(raw) == raw, (raw >= 0) & (
            raw < CATEGORIES))  # False for NaN too
        index = ops.cast(ops.where(whole, raw, 0.0), "int32") + ops.arange(
            self.ordinal_columns, dtype="int32")[None, :] * CATEGORIES
        codes = ops.where(whole, ops.take(self.ordinal_codes, index),
                          float("nan"))
        return ops.concatenate([codes, x[:, self.ordinal_columns:]], axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.outputs)

    def get_config(self):
        config = super().get_config()
        config.update({"features": self.features, "trees": self.trees,
                       "nodes": self.nodes, "depth": self.depth,
                       "outputs": self.outputs,
                       "category_sets": self.category_sets,
                       "categorical_features": self.categorical_features,
                       "ordinal_columns": self.ordinal_columns,
                       "categorical_splits": self.categorical_splits,
                       "layout": self.layout})
        return config


def bits(bitsets: np.ndarray) -> np.ndarray:
    """Rows of 8 uint32 words (scikit-learn's bitsets) as rows of 256
    0/1 flags."""
    words = np.asarray(bitsets, np.uint32).reshape(len(bitsets), 8)
    shifts = np.arange(32, dtype=np.uint32)
    flags = (words[:, :, None] >> shifts[None, None, :]) & 1
    return flags.reshape(len(bitsets), CATEGORIES).astype(np.int32)
