"""The layer that turns raw feature values into one dense vector."""

from __future__ import annotations

import keras
import tensorflow as tf

from mtzoo import features as features_lib
from mtzoo.api_export import mtzoo_export
from mtzoo.layers.initializers import fresh

_EPSILON = 1e-7


@mtzoo_export
class FeatureEncoder(keras.layers.Layer):
    """Encodes a dict of raw features into one concatenated dense vector.

    Categorical values are looked up in a vocabulary (or hashed) and
    embedded; multi-valued categorical lists are embedded and pooled over
    their non-padding values; numeric values are log-transformed if asked,
    standardized and imputed; pretrained vectors pass through or are
    projected. Features naming the same `embedding_table` share one lookup
    and one embedding table.

    The encoder lives inside the model, so a saved or exported model takes
    raw strings, integers and floats.

    Args:
        features: list of adapted feature specs (`mtzoo.features`), or their
            serialized configs.
        embeddings_initializer: initializer of the embedding tables.
            Defaults to `"uniform"` (Keras' default for embeddings).
        embeddings_regularizer: regularizer of the embedding tables.
            Defaults to None.
        **kwargs: Args to pass to the base class.

    Input: dict mapping each feature name to a raw tensor: `[batch]` for
        categorical and numeric features, `[batch, length]` for
        multi-valued ones, `[batch, dim]` for vectors.

    Output shape: `(batch, output_dim)`, the features' encodings concatenated
        in the order of `features`.

    Example:

    ```python
    specs = mtzoo.features.adapt(
        [CategoricalFeature("city"), NumericFeature("age")], frame)
    encoder = FeatureEncoder(specs)
    encoder({"city": tf.constant(["paris"]), "age": tf.constant([31.0])})
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
        self._lookups = {}
        self._embeddings = {}
        self._projections = {}
        for spec in specs:
            if isinstance(spec, features_lib.CategoricalFeature):
                if spec.table not in self._lookups:
                    self._lookups[spec.table] = _make_lookup(spec)
                    self._embeddings[spec.table] = keras.layers.Embedding(
                        spec.table_size,
                        spec.embedding_dim,
                        embeddings_initializer=fresh(
                            self.embeddings_initializer, len(self._lookups)),
                        embeddings_regularizer=self.embeddings_regularizer,
                        name=f"embedding_{spec.table}",
                    )
            elif isinstance(spec, features_lib.VectorFeature):
                if spec.projection_dim:
                    self._projections[spec.name] = keras.layers.Dense(
                        spec.projection_dim, name=f"projection_{spec.name}")

    @property
    def output_dim(self) -> int:
        return sum(_encoded_dim(spec) for spec in self.features)

    def build(self, input_shape=None):
        for spec in self.features:
            if isinstance(spec, features_lib.CategoricalFeature):
                self._embeddings[spec.table].build((None,))
            elif spec.name in self._projections:
                self._projections[spec.name].build((None, spec.dim))
        self.built = True

    def call(self, inputs):
        missing = [s.name for s in self.features if s.name not in inputs]
        if missing:
            raise ValueError(
                f"FeatureEncoder is missing inputs for features {missing}. "
                f"Received inputs: {sorted(inputs)}"
            )
        encoded = [
            tf.cast(self._encode(spec, inputs[spec.name]), self.compute_dtype)
            for spec in self.features
        ]
        return tf.concat(encoded, axis=-1)

    def _encode(self, spec, raw):
        if isinstance(spec, features_lib.MultiCategoricalFeature):
            return self._encode_multi(spec, raw)
        if isinstance(spec, features_lib.CategoricalFeature):
            raw = _flatten_scalar(raw)
            raw = _as_input_dtype(spec, raw)
            ids = self._lookups[spec.table](raw)
            return self._embeddings[spec.table](ids)
        if isinstance(spec, features_lib.NumericFeature):
            return _encode_numeric(spec, raw)
        return self._encode_vector(spec, raw)

    def _encode_multi(self, spec, raw):
        raw = _as_input_dtype(spec, raw)
        if raw.shape.rank == 1:
            raw = tf.expand_dims(raw, -1)
        raw = raw[:, : spec.max_length]
        pad = (features_lib.MISSING_INT if spec.dtype == features_lib.INT64
               else features_lib.MISSING_STRING)
        mask = tf.cast(tf.not_equal(raw, pad), self.compute_dtype)
        vectors = self._embeddings[spec.table](self._lookups[spec.table](raw))
        mask = tf.expand_dims(mask, -1)
        if spec.pooling == "max":
            very_negative = tf.cast(-1e9, vectors.dtype)
            pooled = tf.reduce_max(
                tf.where(mask > 0, vectors, very_negative), axis=1)
            has_value = tf.reduce_max(mask, axis=1) > 0
            return tf.where(has_value, pooled, tf.zeros_like(pooled))
        total = tf.reduce_sum(vectors * mask, axis=1)
        if spec.pooling == "sum":
            return total
        count = tf.reduce_sum(mask, axis=1)
        return tf.math.divide_no_nan(total, count)

    def _encode_vector(self, spec, raw):
        x = tf.cast(raw, self.compute_dtype)
        x = tf.where(tf.math.is_finite(x), x, tf.zeros_like(x))
        if spec.name in self._projections:
            x = self._projections[spec.name](x)
        return x

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


def _encoded_dim(spec) -> int:
    if isinstance(spec, features_lib.CategoricalFeature):
        return spec.embedding_dim
    if isinstance(spec, features_lib.NumericFeature):
        return 2 if spec.missing_indicator else 1
    return spec.projection_dim or spec.dim


def _make_lookup(spec):
    if spec.hash_bins is not None:
        return keras.layers.Hashing(
            num_bins=spec.hash_bins, name=f"hashing_{spec.table}")
    if spec.dtype == features_lib.INT64:
        return keras.layers.IntegerLookup(
            vocabulary=list(spec.vocabulary) or None,
            num_oov_indices=spec.num_oov_buckets,
            mask_token=None,
            vocabulary_dtype="int64",
            name=f"lookup_{spec.table}",
        )
    return keras.layers.StringLookup(
        vocabulary=list(spec.vocabulary) or None,
        num_oov_indices=spec.num_oov_buckets,
        mask_token=None,
        name=f"lookup_{spec.table}",
    )


def _flatten_scalar(raw):
    if raw.shape.rank == 2 and raw.shape[-1] == 1:
        return tf.squeeze(raw, axis=-1)
    return raw


def _as_input_dtype(spec, raw):
    if spec.dtype == features_lib.INT64:
        if raw.dtype == tf.string:
            raise TypeError(
                f"Feature '{spec.name}' is an integer categorical feature "
                f"but received strings."
            )
        return tf.cast(raw, tf.int64)
    if raw.dtype != tf.string:
        raise TypeError(
            f"Feature '{spec.name}' is a string categorical feature but "
            f"received {raw.dtype.name} values; convert them to strings."
        )
    return raw


def _encode_numeric(spec, raw):
    if raw.dtype == tf.string:
        raise TypeError(
            f"Feature '{spec.name}' is numeric but received strings.")
    x = tf.cast(_flatten_scalar(raw), tf.float32)
    x = tf.expand_dims(x, -1)
    finite = tf.math.is_finite(x)
    if spec.log_transform:
        x = tf.sign(x) * tf.math.log1p(tf.abs(x))
    if spec.normalize:
        std = max(spec.variance, 0.0) ** 0.5
        x = (x - spec.mean) / max(std, _EPSILON)
    x = tf.where(finite, x, tf.zeros_like(x))
    if spec.missing_indicator:
        x = tf.concat([x, 1.0 - tf.cast(finite, tf.float32)], axis=-1)
    return x
