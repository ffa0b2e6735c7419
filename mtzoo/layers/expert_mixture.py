"""Combines expert outputs with gate weights."""

from __future__ import annotations

import keras
from keras import ops

from mtzoo.api_export import mtzoo_export


@mtzoo_export
class ExpertMixture(keras.layers.Layer):
    """Weighted sum of expert outputs.

    With weights of shape `(batch, num_experts)` (a softmax gate) the output
    is `sum_e w_e * expert_e`. With weights of shape
    `(batch, num_heads, num_experts)` (an attention gate with several heads)
    each head mixes the experts with its own weights and the heads' mixtures
    are concatenated.

    Call arguments:
        inputs: list `[experts, weights]`; `experts` of shape
            `(batch, num_experts, dim)`.

    Output shape: `(batch, dim)`, or `(batch, num_heads * dim)` for
        per-head weights.

    Example:

    ```python
    experts = np.ones((2, 4, 8)); weights = np.full((2, 4), 0.25)
    ExpertMixture()([experts, weights])  # shape (2, 8)
    ```
    """

    def call(self, inputs):
        experts, weights = inputs
        # Batched matrix products: on CPU without XLA (a served model) they
        # run about twice as fast as the same `einsum`.
        if len(weights.shape) == 2:
            return ops.squeeze(ops.matmul(weights[:, None, :], experts), 1)
        mixed = ops.matmul(weights, experts)
        return ops.reshape(mixed, (-1, mixed.shape[1] * mixed.shape[2]))

    def compute_output_shape(self, input_shape):
        experts_shape, weights_shape = input_shape
        if len(weights_shape) == 2:
            return (experts_shape[0], experts_shape[2])
        return (experts_shape[0], weights_shape[1] * experts_shape[2])
