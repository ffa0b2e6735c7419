"""The raw-input model: preprocessing in front of a trained model."""

from __future__ import annotations

import keras

from mtzoo.layers import FeaturePreprocessor


def raw_inputs(features) -> dict[str, keras.KerasTensor]:
    """One named `keras.Input` per feature, taking its raw values."""
    return {spec.name: keras.Input(shape=spec.input_shape(),
                                   dtype=spec.input_dtype(), name=spec.name)
            for spec in features}


def serving_model(model: keras.Model) -> keras.Model:
    """`model` behind its features' preprocessing stage.

    The returned model takes raw values (strings stay strings; unseen values
    go to out-of-vocabulary ids) named after the features, and returns
    `model`'s outputs. It shares `model`'s weights: export it, or predict on
    raw rows with it; train `model` itself on encoded data.

    Args:
        model: a `MultiTaskModel` built by an mtzoo builder (it knows its
            `features`).
    """
    features = getattr(model, "features", None)
    if not features:
        raise ValueError(
            f"Model '{model.name}' does not know its features; build it "
            f"with an mtzoo builder, or pass `features=` to MultiTaskModel.")
    inputs = raw_inputs(features)
    encoded = FeaturePreprocessor(features, name="preprocessing")(inputs)
    return keras.Model(inputs, model(encoded), name=f"{model.name}_serving")
