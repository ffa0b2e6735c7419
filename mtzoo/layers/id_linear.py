"""A linear model's terms over integer ids: one-hot ids, or bags of ids
weighted by TF-IDF and L2-normalized."""

from __future__ import annotations

import keras
from keras import ops

from mtzoo.api_export import mtzoo_export


@mtzoo_export
class IdLinear(keras.layers.Layer):
    """`coefficients[id] + bias` of a one-hot id, or of a bag of ids
    `sum_j x_j * coefficients[j] + bias` with `x` the bag's counts times
    `idf`, divided by their L2 norm (scikit-learn's `TfidfTransformer` with
    `norm="l2"`), so that a linear model fitted by scikit-learn on such
    columns predicts the same inside a Keras model.

    Ids outside `[0, rows)` (padding, unknown) are clipped to the nearest
    row for a single id, and left out of a bag. The weights are set from
    the fitted model (`set_weights([coefficients, idf, bias])`), not
    trained.

    Args:
        rows: int. Rows of the id space.
        units: int. Outputs (a model's logits or values).
        bag: bool. Inputs are `(batch, length)` bags of ids; else one id
            per row (`(batch,)` or `(batch, 1)`).
        **kwargs: Args to pass to the base class.

    Example:

    ```python
    layer = IdLinear(rows=3, units=1)
    layer.build((None,))
    layer.set_weights([np.array([[0.5], [1.0], [2.0]]), np.ones(3),
                       np.zeros(1)])
    layer(np.array([2, 0]))  # [[2.0], [0.5]]
    ```
    """

    def __init__(self, rows, units, bag=False, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.rows = int(rows)
        self.units = int(units)
        self.bag = bool(bag)

    def build(self, input_shape):
        self.coefficients = self.add_weight(
            shape=(self.rows, self.units), initializer="zeros",
            trainable=False, name="coefficients")
        self.idf = self.add_weight(shape=(self.rows,), initializer="ones",
                                   trainable=False, name="idf")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros",
                                    trainable=False, name="bias")

    def call(self, ids):
        ids = ops.cast(ids, "int32")
        if not self.bag:
            ids = ops.clip(ops.reshape(ids, (-1,)), 0, self.rows - 1)
            return ops.take(self.coefficients, ids, axis=0) + self.bias
        valid = ops.logical_and(ids >= 0, ids < self.rows)
        safe = ops.where(valid, ids, ops.zeros_like(ids))
        weight = ops.where(valid, ops.take(self.idf, safe, axis=0), 0.0)
        # An id repeated in a bag counts once per time it appears: the
        # squared norm of the counts-times-idf vector sums idf^2 over
        # every pair of equal ids.
        same = ops.cast(ops.equal(ops.expand_dims(safe, 2),
                                  ops.expand_dims(safe, 1)), weight.dtype)
        pairs = same * ops.expand_dims(weight, 2) * ops.expand_dims(weight,
                                                                    1)
        norm = ops.sqrt(ops.maximum(ops.sum(pairs, axis=(1, 2)), 1e-24))
        terms = ops.take(self.coefficients, safe, axis=0) * ops.expand_dims(
            weight, -1)
        return ops.sum(terms, axis=1) / ops.expand_dims(norm, -1) + self.bias

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"rows": self.rows, "units": self.units,
                       "bag": self.bag})
        return config
