"""AITM's adaptive information transfer between sequential tasks."""

from __future__ import annotations

import math

import keras
from keras import ops

from mtzoo.api_export import mtzoo_export
from mtzoo.layers import validation


@mtzoo_export
class AdaptiveInformationTransfer(keras.layers.Layer):
    """Attention that decides how much of the previous task to take in.

    For a task `t` in a conversion funnel (impression -> click -> purchase)
    the AIT module of AITM mixes the information transferred from task
    `t - 1` (`p`) with the task's own tower output (`q`):

    `z = sum_{u in (p, q)} w_u h1(u)`,
    `w_u = softmax_u(h2(u) . h3(u) / sqrt(units))`,

    where `h1`, `h2` and `h3` are learned linear projections shared by both
    inputs.

    Args:
        units: int. Size of the projections and of the output.
        kernel_regularizer: regularizer of the projections. Defaults to None.
        **kwargs: Args to pass to the base class.

    Call arguments:
        inputs: list `[transferred, own]`, both `(batch, dim)`.

    Output shape: `(batch, units)`.

    Example:

    ```python
    ait = AdaptiveInformationTransfer(units=32)
    ait([np.ones((2, 32)), np.ones((2, 32))])  # shape (2, 32)
    ```

    References:
        - [Xi et al., 2021](https://arxiv.org/abs/2105.08489): Modeling the
          Sequential Dependence among Audience Multi-step Conversions with
          Multi-task Learning in Targeted Display Advertising (KDD 2021).
    """

    def __init__(self, units, kernel_regularizer=None, **kwargs):
        units = validation.positive_int(units, "units")
        super().__init__(**kwargs)
        self.units = units
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self._value = keras.layers.Dense(
            units, kernel_regularizer=self.kernel_regularizer, name="value")
        self._query = keras.layers.Dense(
            units, kernel_regularizer=self.kernel_regularizer, name="query")
        self._key = keras.layers.Dense(
            units, kernel_regularizer=self.kernel_regularizer, name="key")

    def build(self, input_shape):
        transferred_shape, own_shape = input_shape
        if transferred_shape[-1] != own_shape[-1]:
            raise ValueError(
                "AdaptiveInformationTransfer needs inputs of the same size. "
                f"Received: transferred={transferred_shape}, "
                f"own={own_shape}"
            )
        for dense in (self._value, self._query, self._key):
            dense.build(own_shape)
        self.built = True

    def call(self, inputs):
        stacked = ops.stack(inputs, axis=1)  # (batch, 2, dim)
        values = self._value(stacked)
        scores = ops.sum(self._query(stacked) * self._key(stacked), axis=-1)
        weights = ops.softmax(scores / math.sqrt(self.units), axis=1)
        return ops.sum(values * ops.expand_dims(weights, -1), axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[1][0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "kernel_regularizer": keras.regularizers.serialize(
                self.kernel_regularizer),
        })
        return config


@mtzoo_export
class CalibrationConstraint(keras.layers.Layer):
    """Passes a task's probability through and penalizes funnel violations.

    In a funnel the probability of a later step can never exceed that of the
    step before it (a purchase needs a click). AITM's behavioural expectation
    calibrator adds `weight * mean(max(p_t - p_{t-1}, 0))` to the training
    loss; this layer adds it with `add_loss` and returns `p_t` unchanged, so
    it carries the task's output name.

    Args:
        weight: float. Strength of the constraint (the paper's alpha).
            Defaults to 0.6.
        **kwargs: Args to pass to the base class.

    Call arguments:
        inputs: list `[previous_probability, probability]`, both
            `(batch, 1)`.

    Output shape: `(batch, 1)`, equal to `probability`.

    References:
        - [Xi et al., 2021](https://arxiv.org/abs/2105.08489), section 3.3.
    """

    def __init__(self, weight=0.6, **kwargs):
        weight = validation.non_negative(weight, "weight")
        super().__init__(**kwargs)
        self.weight = weight

    def call(self, inputs):
        previous, current = inputs
        if self.weight > 0:
            violation = ops.relu(current - previous)
            self.add_loss(self.weight * ops.mean(violation))
        return current

    def compute_output_shape(self, input_shape):
        return input_shape[1]

    def get_config(self):
        config = super().get_config()
        config.update({"weight": self.weight})
        return config
