"""A bank of independent expert networks evaluated together."""

from __future__ import annotations

import keras
from keras import ops

from mtzoo.api_export import mtzoo_export
from mtzoo.layers.dropout import Dropout
from mtzoo.layers import validation
from mtzoo.layers.initializers import fresh


#: How `ExpertBank` may hold its first layer's kernel.
FIRST_LAYERS = ("experts_first", "inputs_first")


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
        first_layer: str. How the first layer's kernel is held:
            `"inputs_first"`, one `(in, experts * out)` matrix, so the
            first layer is one plain matrix product (no transpose of the
            kernel per call: a third of a served row's time, and faster
            under XLA too); `"experts_first"` (the default, as models
            saved before this option hold it), `(experts, in, out)`.
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
        first_layer="experts_first",
        **kwargs,
    ):
        if first_layer not in FIRST_LAYERS:
            raise ValueError(f"ExpertBank: `first_layer` must be one of "
                             f"{FIRST_LAYERS}. Received: "
                             f"first_layer={first_layer!r}")
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
        self.first_layer = first_layer

    def build(self, input_shape):
        fan_in = input_shape[-1]
        self.kernels = []
        self.biases = []
        for i, fan_out in enumerate(self.units):
            inputs_first = i == 0 and self.first_layer == "inputs_first"
            self.kernels.append(self.add_weight(
                name=f"kernel_{i}",
                shape=((fan_in, self.num_experts * fan_out) if inputs_first
                       else (self.num_experts, fan_in, fan_out)),
                initializer=self._per_expert(self.kernel_initializer,
                                             inputs_first),
                regularizer=self.kernel_regularizer,
            ))
            self.biases.append(self.add_weight(
                name=f"bias_{i}",
                shape=(self.num_experts, fan_out),
                initializer="zeros",
            ))
            fan_in = fan_out
        self.built = True

    def _per_expert(self, initializer, inputs_first=False):
        # Fans must be those of one expert's (in, out) kernel, not of the
        # stacked 3-D tensor, for Glorot/He scaling to be right; and every
        # expert needs its own draw (the same draws in either layout).
        experts = self.num_experts

        def initialize(shape, dtype=None):
            one = ((shape[0], shape[1] // experts) if inputs_first
                   else tuple(shape[1:]))
            stacked = ops.stack([fresh(initializer, offset=e)(one, dtype=dtype)
                                 for e in range(experts)])
            if not inputs_first:
                return stacked
            return ops.reshape(ops.transpose(stacked, (1, 0, 2)), shape)
        return initialize

    def call(self, inputs, training=None):
        if self.first_layer == "inputs_first":
            x = ops.reshape(ops.matmul(inputs, self.kernels[0]),
                            (-1, self.num_experts, self.units[0]))
        else:
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
            "first_layer": self.first_layer,
        })
        return config
