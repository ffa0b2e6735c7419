"""Look inside a trained model: gate and attention weights."""

from __future__ import annotations

import keras
import numpy as np

from mtzoo.layers import GATE_LAYERS


def gate_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The gate layers of a model, in graph order (empty if it has none)."""
    return [layer for layer in model.layers
            if isinstance(layer, GATE_LAYERS)]


def gate_model(model: keras.Model) -> keras.Model:
    """A companion model mapping the same inputs to every gate's weights.

    Outputs are keyed by gate layer name (`gate_ctr`, `level_1_gate_shared`,
    ...). Softmax gates give `(batch, num_experts)`; attention gates give
    `(batch, num_heads, num_experts)`. The companion shares the model's
    layers and weights.
    """
    gates = gate_layers(model)
    if not gates:
        raise ValueError(
            f"Model '{model.name}' has no gates; gate weights exist for "
            f"omoe, mmoe, ple and attention_gated models."
        )
    return keras.Model(model.input, {g.name: g.output for g in gates},
                       name=f"{model.name}_gates")


def gate_weights(model: keras.Model, x, batch_size: int = 1024
                 ) -> dict[str, np.ndarray]:
    """Gate weights of `model` on inputs `x` (a dict of arrays or a
    `tf.data.Dataset` of feature dicts), keyed by gate layer name."""
    return gate_model(model).predict(x, batch_size=batch_size, verbose=0)
