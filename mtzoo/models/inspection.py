"""Look inside a trained model: gate and attention weights."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from mtzoo.layers import GATE_LAYERS
from mtzoo.models.batched_call import call_in_batches


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
    gates = gate_model(model)
    if isinstance(x, tf.data.Dataset):
        return gates.predict(x, verbose=0)
    # Arrays are called eagerly, `batch_size` rows at a time: tracing a
    # predict step costs more than the few thousand rows a report plots.
    rows = max(int(next(iter(x.values())).shape[0]), 1)
    return call_in_batches(gates, ({k: v[i:i + batch_size]
                                    for k, v in x.items()}
                                   for i in range(0, rows, batch_size)))
