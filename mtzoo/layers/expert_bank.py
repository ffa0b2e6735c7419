"""A bank of independent expert networks evaluated together."""

from __future__ import annotations

import keras
from keras import ops

from mtzoo.api_export import mtzoo_export
from mtzoo.layers.dropout import Dropout
from mtzoo.layers import validation
from mtzoo.layers.initializers import fresh


@mtzoo_export
class ExpertBank(keras.layers.Layer):
    """`num_experts` independent MLPs over the same input, computed at once.

    Every expert has its own weights; all of them run as one batched
    matrix product per layer (`einsum`), which is much faster on CPU than
    `num_experts` separate Dense stacks and gives identical results.

    Args:
        num_experts: int. Number of experts.
        units: list of int. Width of each expert layer.
        activation: str. Activation after every layer. Defaults to `"relu"`.
        dropout: float. Dropout after every layer. Defaults to 0.
        kernel_initializer: initializer of each expert's `(in, out)` kernel.
            Defaults to `"glorot_uniform"`.
        kernel_regularizer: regularizer of the kernels. Defaults to None.
        **kwargs: Args to pass to the base class.

    Input shape: `(batch, input_dim)`.
    Output shape: `(batch, num_experts, units[-1])`.

    Example:

    ```python
    experts = ExpertBank(num_experts=4, units=[32])
    experts(np.ones((2, 16)))  # shape (2, 4, 32)
    ```
    """

    def __init__(
        self,
        num_experts,
        units,
        activation="relu",
        dropout=0.0,
        kernel_initializer="glorot_uniform",
        kernel_regularizer=None,
        **kwargs,
    ):
        num_experts = validation.positive_int(num_experts, "num_experts")
        units = validation.positive_int_list(units, "units")
        validation.rate(dropout, "dropout")
        super().__init__(**kwargs)
        self.num_experts = num_experts
        self.units = units
        self.activation = keras.activations.get(activation)
        self.dropout = float(dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self._dropout = (Dropout(self.dropout)
                         if self.dropout > 0 else None)

    def build(self, input_shape):
        fan_in = input_shape[-1]
        self.kernels = []
        self.biases = []
        for i, fan_out in enumerate(self.units):
            self.kernels.append(self.add_weight(
                name=f"kernel_{i}",
                shape=(self.num_experts, fan_in, fan_out),
                initializer=self._per_expert(self.kernel_initializer),
                regularizer=self.kernel_regularizer,
            ))
            self.biases.append(self.add_weight(
                name=f"bias_{i}",
                shape=(self.num_experts, fan_out),
                initializer="zeros",
            ))
            fan_in = fan_out
        self.built = True

    def _per_expert(self, initializer):
        # Fans must be those of one expert's (in, out) kernel, not of the
        # stacked 3-D tensor, for Glorot/He scaling to be right; and every
        # expert needs its own draw.
        def initialize(shape, dtype=None):
            return ops.stack([
                fresh(initializer, offset=e)(shape[1:], dtype=dtype)
                for e in range(shape[0])
            ])
        return initialize

    def call(self, inputs, training=None):
        x = ops.einsum("bi,eio->beo", inputs, self.kernels[0])
        x = self._activate(x + self.biases[0], training)
        for kernel, bias in zip(self.kernels[1:], self.biases[1:]):
            x = ops.einsum("bei,eio->beo", x, kernel)
            x = self._activate(x + bias, training)
        return x

    def _activate(self, x, training):
        x = self.activation(x)
        if self._dropout is not None:
            x = self._dropout(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_experts, self.units[-1])

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_experts": self.num_experts,
            "units": list(self.units),
            "activation": keras.activations.serialize(self.activation),
            "dropout": self.dropout,
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(
                self.kernel_regularizer),
        })
        return config
