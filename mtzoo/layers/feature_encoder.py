"""The layer that turns encoded features into one dense vector."""

from __future__ import annotations

import keras
import tensorflow as tf

from mtzoo import features as features_lib
from mtzoo.api_export import mtzoo_export
from mtzoo.layers.initializers import fresh


@mtzoo_export
class FeatureEncoder(keras.layers.Layer):
    """Encoded features in, one concatenated dense vector out.

    The model stage of every feature: categorical ids are embedded,
    multi-valued ids embedded and pooled over their non-padding positions,
    numeric values and pretrained vectors pass through (vectors optionally
    projected). Features naming the same `embedding_table` share one table.
    Its inputs are what `FeaturePreprocessor` (and `mtzoo.data`) produce, so
    it holds only numeric ops and compiles with XLA.

    Args:
        features: list of adapted feature specs (`mtzoo.features`), or their
            serialized configs.
        embeddings_initializer: initializer of the embedding tables.
            Defaults to `"uniform"` (Keras' default for embeddings).
        embeddings_regularizer: regularizer of the embedding tables.
            Defaults to None.
        **kwargs: Args to pass to the base class.

    Input: dict mapping each feature name to its encoded tensor.

    Output shape: `(batch, output_dim)`, the features' encodings concatenated
        in the order of `features`.

    Example:

    ```python
    specs = mtzoo.features.adapt(
        [CategoricalFeature("city"), NumericFeature("age")], frame)
    encoded = FeaturePreprocessor(specs)(raw)
    FeatureEncoder(specs)(encoded)  # (batch, 8 + 1)
    ```
    """

    def __init__(
        self,
        features,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        specs = features_lib.validate(features)
        features_lib.check_adapted(specs)
        self.features = specs
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer)
        self.embeddings_regularizer = keras.regularizers.get(
            embeddings_regularizer)

        # === Layers ===
        self._layers_by_key = {}
        for spec in specs:
            key = spec.model_key()
            if key is not None and key not in self._layers_by_key:
                self._layers_by_key[key] = spec.make_model_layer(
                    embeddings_initializer=fresh(
                        self.embeddings_initializer,
                        len(self._layers_by_key) + 1),
                    embeddings_regularizer=self.embeddings_regularizer,
                    dtype=self.dtype_policy)

    @property
    def output_dim(self) -> int:
        return sum(spec.output_dim for spec in self.features)

    def build(self, input_shape=None):
        for spec in self.features:
            layer = self._layers_by_key.get(spec.model_key())
            if layer is not None and not layer.built:
                layer.build((None,) + tuple(spec.encoded_shape()))
        self.built = True

    def call(self, inputs):
        features_lib.check_inputs(self.features, inputs, "FeatureEncoder")
        return tf.concat([
            spec.encode(inputs[spec.name],
                        self._layers_by_key.get(spec.model_key()),
                        self.compute_dtype)
            for spec in self.features], axis=-1)

    def compute_output_shape(self, input_shape):
        return (None, self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update({
            "features": [features_lib.serialize(f) for f in self.features],
            "embeddings_initializer": keras.initializers.serialize(
                self.embeddings_initializer),
            "embeddings_regularizer": keras.regularizers.serialize(
                self.embeddings_regularizer),
        })
        return config
