"""A stack of fully connected layers."""

from __future__ import annotations

import keras

from mtzoo.api_export import mtzoo_export
from mtzoo.layers.dropout import Dropout
from mtzoo.layers import validation
from mtzoo.layers.initializers import fresh


@mtzoo_export
class MLP(keras.layers.Layer):
    """Dense layers with activation, optional batch norm and dropout.

    Each block is `Dense -> [BatchNormalization] -> activation -> [Dropout]`.
    The building block of bottoms, towers and gates.

    Args:
        units: list of int. Width of each layer. An empty list makes the
            layer the identity.
        activation: str. Activation of every layer. Defaults to `"relu"`.
        dropout: float. Dropout rate after each layer. Defaults to 0.
        batch_norm: bool. Batch-normalize before the activation. Defaults
            to False.
        kernel_initializer: initializer of the kernels. Defaults to
            `"glorot_uniform"`.
        kernel_regularizer: regularizer of the kernels. Defaults to None.
        **kwargs: Args to pass to the base class.

    Input shape: `(batch, ..., input_dim)`.
    Output shape: `(batch, ..., units[-1])`.

    Example:

    ```python
    mlp = MLP([64, 32], dropout=0.1)
    mlp(np.ones((2, 16)))  # shape (2, 32)
    ```
    """

    def __init__(
        self,
        units,
        activation="relu",
        dropout=0.0,
        batch_norm=False,
        kernel_initializer="glorot_uniform",
        kernel_regularizer=None,
        **kwargs,
    ):
        units = validation.positive_int_list(units, "units", allow_empty=True)
        validation.rate(dropout, "dropout")
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)
        self.dropout = float(dropout)
        self.batch_norm = bool(batch_norm)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self._dense = [
            keras.layers.Dense(
                n,
                kernel_initializer=fresh(self.kernel_initializer, i),
                kernel_regularizer=self.kernel_regularizer,
                use_bias=not self.batch_norm,
                dtype=self.dtype_policy,
                name=f"dense_{i}",
            )
            for i, n in enumerate(units)
        ]
        self._norms = [
            keras.layers.BatchNormalization(
                dtype=self.dtype_policy, name=f"batch_norm_{i}")
            for i in range(len(units))
        ] if self.batch_norm else []
        self._dropouts = [
            Dropout(self.dropout, name=f"dropout_{i}")
            for i in range(len(units))
        ] if self.dropout > 0 else []

    def build(self, input_shape):
        shape = tuple(input_shape)
        for i, dense in enumerate(self._dense):
            dense.build(shape)
            shape = shape[:-1] + (self.units[i],)
            if self._norms:
                self._norms[i].build(shape)
        self.built = True

    def call(self, inputs, training=None):
        x = inputs
        for i, dense in enumerate(self._dense):
            x = dense(x)
            if self._norms:
                x = self._norms[i](x, training=training)
            x = self.activation(x)
            if self._dropouts:
                x = self._dropouts[i](x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        if not self.units:
            return tuple(input_shape)
        return tuple(input_shape)[:-1] + (self.units[-1],)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": list(self.units),
            "activation": keras.activations.serialize(self.activation),
            "dropout": self.dropout,
            "batch_norm": self.batch_norm,
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(
                self.kernel_regularizer),
        })
        return config
