"""Task attention over expert outputs: a softmax gate's attentive cousin."""

from __future__ import annotations

import math

import keras
from keras import ops

from mtzoo.api_export import mtzoo_export
from mtzoo.layers import validation


@mtzoo_export
class ExpertAttentionGate(keras.layers.Layer):
    """Weights over experts from scaled dot-product attention.

    A softmax gate scores experts from the input alone. This gate lets a
    task look at what the experts actually produced: the task query is
    computed from the input (`q = W_q x + b_q`, where the bias acts as a
    learned, input-independent task query), each expert output is projected
    to a key (`k_e = W_k e`), and each of `num_heads` heads weighs the experts
    by `softmax_e(q . k_e / sqrt(key_dim))`. Combine the weights with the
    expert outputs through `ExpertMixture`.

    Args:
        num_heads: int. Number of attention heads. Defaults to 2.
        key_dim: int. Size of each head's query and key. Defaults to 16.
        kernel_regularizer: regularizer of the projections. Defaults to None.
        **kwargs: Args to pass to the base class.

    Call arguments:
        inputs: list `[query_input, experts]` of shapes
            `(batch, input_dim)` and `(batch, num_experts, expert_dim)`.

    Output shape: `(batch, num_heads, num_experts)`, summing to 1 over
        experts.

    Example:

    ```python
    gate = ExpertAttentionGate(num_heads=2, key_dim=8)
    gate([np.ones((2, 16)), np.ones((2, 4, 32))])  # shape (2, 2, 4)
    ```

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762):
          Attention Is All You Need (scaled dot-product attention).
        - [Ma et al., 2018](https://doi.org/10.1145/3219819.3220007):
          MMoE, whose softmax gates this replaces.
    """

    def __init__(self, num_heads=2, key_dim=16, kernel_regularizer=None,
                 **kwargs):
        num_heads = validation.positive_int(num_heads, "num_heads")
        key_dim = validation.positive_int(key_dim, "key_dim")
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        query_shape, experts_shape = input_shape
        self.query_kernel = self.add_weight(
            name="query_kernel",
            shape=(query_shape[-1], self.num_heads, self.key_dim),
            initializer="glorot_uniform",
            regularizer=self.kernel_regularizer,
        )
        self.query_bias = self.add_weight(
            name="query_bias",
            shape=(self.num_heads, self.key_dim),
            initializer="random_normal",
        )
        self.key_kernel = self.add_weight(
            name="key_kernel",
            shape=(experts_shape[-1], self.num_heads, self.key_dim),
            initializer="glorot_uniform",
            regularizer=self.kernel_regularizer,
        )
        self.built = True

    def call(self, inputs):
        query_input, experts = inputs
        query = ops.einsum("bi,ihk->bhk", query_input, self.query_kernel)
        query = query + self.query_bias
        keys = ops.einsum("bed,dhk->behk", experts, self.key_kernel)
        scores = ops.einsum("bhk,behk->bhe", query, keys)
        return ops.softmax(scores / math.sqrt(self.key_dim), axis=-1)

    def compute_output_shape(self, input_shape):
        query_shape, experts_shape = input_shape
        return (query_shape[0], self.num_heads, experts_shape[1])

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "kernel_regularizer": keras.regularizers.serialize(
                self.kernel_regularizer),
        })
        return config
