"""A standard battery of checks for a Keras layer."""

from __future__ import annotations

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf


def saved_model_outputs(model: keras.Model, inputs):
    """Saves `model` to `.keras`, reloads it with `safe_mode=True` and
    returns `(original_outputs, reloaded_outputs, reloaded_model)`."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path, safe_mode=True)
    return model(inputs), reloaded(inputs), reloaded


def run_layer_test(layer_cls, init_kwargs, inputs, expected_output_shape,
                   expected_num_trainable_weights=None):
    """Checks a layer: output shape, config round trip, `.keras` round trip.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments.
        inputs: a numpy array or a list of arrays (for multi-input layers).
        expected_output_shape: the full expected output shape.
        expected_num_trainable_weights: if given, the expected number of
            trainable weight tensors after the first call.

    Returns:
        The layer's output on `inputs`.
    """
    layer = layer_cls(**init_kwargs)
    output = layer(inputs)
    assert tuple(output.shape) == tuple(expected_output_shape), (
        f"{layer_cls.__name__} output shape {tuple(output.shape)} != "
        f"expected {tuple(expected_output_shape)}")
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights

    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config, "config round trip changed config"
    revived = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(revived) is layer_cls

    symbolic = _symbolic_inputs(inputs)
    model = keras.Model(symbolic, layer_cls(**init_kwargs)(symbolic))
    assert tuple(model.output.shape[1:]) == tuple(expected_output_shape[1:])
    original, reloaded, _ = saved_model_outputs(model, inputs)
    np.testing.assert_allclose(
        np.asarray(original), np.asarray(reloaded), rtol=1e-6, atol=1e-6)
    return output


def _symbolic_inputs(inputs):
    if isinstance(inputs, (list, tuple)):
        return [_symbolic_inputs(x) for x in inputs]
    array = tf.convert_to_tensor(inputs)
    return keras.Input(shape=array.shape[1:], dtype=array.dtype.name)
