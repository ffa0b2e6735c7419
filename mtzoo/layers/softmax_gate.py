"""The softmax gate of mixture-of-experts models."""

from __future__ import annotations

import keras

from mtzoo.api_export import mtzoo_export
from mtzoo.layers import validation
from mtzoo.layers.mlp import MLP


@mtzoo_export
class SoftmaxGate(keras.layers.Layer):
    """Input-dependent weights over experts: `softmax(W x)`.

    The gate of MoE, OMoE, MMoE (one gate per task) and PLE (Ma et al.,
    2018). Its output is the weight of each expert for each example, which
    `ExpertMixture` uses to combine expert outputs; keeping the weights as
    the gate's output makes expert utilization visible in the model graph.

    Args:
        num_experts: int. Number of experts to weigh.
        units: list of int. Optional hidden layers before the softmax.
            Defaults to `()` (a linear gate, as in the MMoE paper).
        activation: str. Activation of the hidden layers. Defaults to
            `"relu"`.
        kernel_regularizer: regularizer of the kernels. Defaults to None.
        **kwargs: Args to pass to the base class.

    Input shape: `(batch, input_dim)`.
    Output shape: `(batch, num_experts)`, rows summing to 1.

    Example:

    ```python
    gate = SoftmaxGate(num_experts=4)
    gate(np.ones((2, 16)))  # shape (2, 4)
    ```

    References:
        - [Ma et al., 2018](https://doi.org/10.1145/3219819.3220007):
          Modeling Task Relationships in Multi-task Learning with
          Multi-gate Mixture-of-Experts.
    """

    def __init__(
        self,
        num_experts,
        units=(),
        activation="relu",
        kernel_regularizer=None,
        **kwargs,
    ):
        num_experts = validation.positive_int(num_experts, "num_experts")
        units = validation.positive_int_list(units, "units", allow_empty=True)
        super().__init__(**kwargs)
        self.num_experts = num_experts
        self.units = units
        self.activation = activation
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self._hidden = MLP(units, activation=activation,
                           kernel_regularizer=self.kernel_regularizer,
                           name="hidden")
        self._logits = keras.layers.Dense(
            num_experts, kernel_regularizer=self.kernel_regularizer,
            name="logits")

    def build(self, input_shape):
        self._hidden.build(input_shape)
        self._logits.build(self._hidden.compute_output_shape(input_shape))
        self.built = True

    def call(self, inputs):
        logits = self._logits(self._hidden(inputs))
        # Written out: in a served model (no XLA), oneDNN's softmax over a
        # handful of experts cost more than these few element-wise ops.
        weights = keras.ops.exp(
            logits - keras.ops.max(logits, axis=-1, keepdims=True))
        return weights / keras.ops.sum(weights, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_experts)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_experts": self.num_experts,
            "units": list(self.units),
            "activation": self.activation,
            "kernel_regularizer": keras.regularizers.serialize(
                self.kernel_regularizer),
        })
        return config
