"""A fixed weighted mean of several models' outputs for one task."""

from __future__ import annotations

import keras

from mtzoo.api_export import mtzoo_export


@mtzoo_export
class WeightedMean(keras.layers.Layer):
    """`sum_i member_weights[i] * inputs[i]` over a list of same-shaped tensors.

    How an ensemble's members' predictions for a task combine
    (`mtzoo.runs.ensembles`): probabilities for classification tasks,
    values in label units for regression. The weights are fixed (chosen on
    validation data), not trained.

    Args:
        member_weights: list of float, one per input, summing to 1.
        **kwargs: Args to pass to the base class.

    Example:

    ```python
    WeightedMean([0.75, 0.25])([np.ones((2, 1)), np.zeros((2, 1))])
    # [[0.75], [0.75]]
    ```
    """

    def __init__(self, member_weights, **kwargs):
        super().__init__(**kwargs)
        self.member_weights = [float(w) for w in member_weights]
        if not self.member_weights or min(self.member_weights) < 0 or abs(
                sum(self.member_weights) - 1.0) > 1e-6:
            raise ValueError(f"WeightedMean needs non-negative weights "
                             f"summing to 1, got {self.member_weights}.")

    def call(self, inputs):
        if len(inputs) != len(self.member_weights):
            raise ValueError(f"WeightedMean has {len(self.member_weights)} "
                             f"weights but got {len(inputs)} inputs.")
        total = None
        for weight, value in zip(self.member_weights, inputs):
            term = keras.ops.cast(value, self.compute_dtype) * weight
            total = term if total is None else total + term
        return total

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({"member_weights": self.member_weights})
        return config
