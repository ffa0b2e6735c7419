"""A regression output in its label's units from a standardized one."""

from __future__ import annotations

import keras
from keras import ops

from mtzoo.api_export import mtzoo_export

# exp(80) is near float32's largest value: a log-scale output is clipped
# there rather than overflowing to inf.
_MAX_LOG = 80.0


@mtzoo_export
class LabelScale(keras.layers.Layer):
    """`mean + scale * z`, or `expm1` of it for log-transformed labels.

    The last layer of a regression task that trains on standardized labels
    (`mtzoo.tasks.adapt`): the network before it works on the unit scale,
    whatever the label's, and the model predicts in the label's own units.

    Args:
        mean: float. The label's mean (of `log1p(label)` with
            `log_transform`).
        scale: float. The label's standard deviation (same).
        log_transform: bool. The statistics are of `log1p(label)`.
        **kwargs: Args to pass to the base class.

    Example:

    ```python
    LabelScale(mean=120.0, scale=40.0)(np.array([[0.0], [1.0]]))
    # [[120.], [160.]]
    ```
    """

    def __init__(self, mean, scale, log_transform=False, **kwargs):
        super().__init__(**kwargs)
        self.mean = float(mean)
        self.scale = float(scale)
        self.log_transform = bool(log_transform)

    def call(self, inputs):
        x = self.mean + self.scale * ops.cast(inputs, self.compute_dtype)
        if self.log_transform:
            x = ops.expm1(ops.minimum(x, _MAX_LOG))
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"mean": self.mean, "scale": self.scale,
                       "log_transform": self.log_transform})
        return config
