"""The columns trees read, from the features' encoded inputs."""

from __future__ import annotations

import keras
from keras import ops

from mtzoo.api_export import mtzoo_export

#: How an encoded input becomes columns.
MODES = ("values", "id", "count")


@mtzoo_export
class TreeInputs(keras.layers.Layer):
    """Concatenates encoded inputs into the columns of a tree model, in
    float32: `"values"` flattened as they are, `"id"` an id as a number (a
    category for the trees), `"count"` the number of ids (not padding, so
    `>= 0`) in a bag. The layout of
    `mtzoo.baselines.Design.trees`.

    Args:
        modes: list of str, one of `MODES` per input, in input order.
        **kwargs: Args to pass to the base class.
    """

    def __init__(self, modes, **kwargs):
        super().__init__(**kwargs)
        self.modes = list(modes)
        unknown = sorted(set(self.modes) - set(MODES))
        if unknown:
            raise ValueError(f"TreeInputs modes must be among {MODES}, "
                             f"got {unknown}.")

    def call(self, inputs):
        columns = []
        for mode, value in zip(self.modes, inputs):
            rows = ops.shape(value)[0]
            if mode == "count":
                value = ops.sum(ops.cast(value >= 0, "float32"), axis=-1)
            columns.append(ops.reshape(ops.cast(value, "float32"),
                                       (rows, -1)))
        return ops.concatenate(columns, axis=1) if len(columns) > 1 \
            else columns[0]

    def compute_output_shape(self, input_shape):
        width = 0
        for mode, shape in zip(self.modes, input_shape):
            if mode == "count":
                width += 1
            else:
                size = 1
                for dimension in shape[1:]:
                    size *= dimension
                width += size
        return (input_shape[0][0], width)

    def get_config(self):
        config = super().get_config()
        config.update({"modes": self.modes})
        return config
