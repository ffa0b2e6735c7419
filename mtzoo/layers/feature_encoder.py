"""The layer that turns encoded features into one dense vector."""

from __future__ import annotations

import keras
import tensorflow as tf

from mtzoo import features as features_lib
from mtzoo.api_export import mtzoo_export
from mtzoo.layers.dropout import philox_seed
from mtzoo.layers.embedding_tables import EmbeddingTables
from mtzoo.layers.initializers import fresh


@mtzoo_export
class FeatureEncoder(keras.layers.Layer):
    """Encoded features in, one concatenated dense vector out.

    The model stage of every feature: categorical ids are embedded,
    multi-valued ids embedded and pooled over their non-padding positions,
    numeric values and pretrained vectors pass through (vectors optionally
    projected). Features naming the same `embedding_table` share one table.
    Tables of one width live in one `EmbeddingTables` layer
    (`embeddings_{width}d`), which reads the rows of every single-valued
    feature in one gather; `embedding_table(name)` returns one table.
    Its inputs are what `FeaturePreprocessor` (and `mtzoo.data`) produce, so
    it holds only numeric ops and compiles with XLA.

    Args:
        features: list of adapted feature specs (`mtzoo.features`), or their
            serialized configs.
        embeddings_initializer: initializer of the embedding tables.
            Defaults to `"uniform"` (Keras' default for embeddings).
        embeddings_regularizer: regularizer of the embedding tables.
            Defaults to None.
        per_feature: bool. Return a dict of each feature's encoding instead
            of their concatenation (retrieval towers read subsets of the
            features through the same tables). Defaults to False.
        positions: names of transformer-pooled sequence features whose
            vector at every position the dict also holds, under
            `positions_key(name)` (`per_feature` only; next-item training
            at every position reads them). Defaults to none.
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
        per_feature=False,
        positions=(),
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.per_feature = bool(per_feature)
        specs = features_lib.validate(features)
        features_lib.check_adapted(specs)
        _check_attention_targets(specs)
        self.features = specs
        self.positions = tuple(positions)
        _check_positions(specs, self.positions, self.per_feature)
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer)
        self.embeddings_regularizer = keras.regularizers.get(
            embeddings_regularizer)

        # === Layers ===
        # Keyed by layer name: Keras tracks dicts with string keys only.
        self._tables_by_width = {}
        for width, (sizes, feature_tables) in _tables_by_width(specs).items():
            self._tables_by_width[f"embeddings_{width}d"] = EmbeddingTables(
                sizes, feature_tables, width,
                embeddings_initializer=fresh(self.embeddings_initializer,
                                             len(self._tables_by_width) + 1),
                embeddings_regularizer=self.embeddings_regularizer,
                dtype=self.dtype_policy, name=f"embeddings_{width}d")
        # Only models with id dropout carry a seed generator, so models
        # saved before it load unchanged.
        if any(spec.id_dropout_rate() for spec in specs):
            self.seed_generator = keras.random.SeedGenerator(
                0, name="id_dropout_seed")
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

    def embedding_table(self, name: str):
        """The rows of embedding table `name` (a feature's name, or the
        `embedding_table` several features share)."""
        for tables in self._tables_by_width.values():
            if name in tables.table_sizes:
                if not tables.built:
                    tables.build()
                return tables.table(name)
        raise KeyError(f"No embedding table named {name!r}. Tables: "
                       f"{sorted(self.embedding_tables)}")

    @property
    def embedding_tables(self) -> dict[str, int]:
        """Rows of every embedding table, by table name."""
        return {name: size for tables in self._tables_by_width.values()
                for name, size in tables.table_sizes.items()}

    def build(self, input_shape=None):
        for tables in self._tables_by_width.values():
            if not tables.built:
                tables.build()
        for spec in self.features:
            layer = self._layers_by_key.get(spec.model_key())
            if layer is not None and not layer.built:
                layer.build((None,) + tuple(spec.encoded_shape()))
        self.built = True

    def call(self, inputs, training=None):
        features_lib.check_inputs(self.features, inputs, "FeatureEncoder")
        rows = {}
        for tables in self._tables_by_width.values():
            rows.update(tables({
                spec.name: self._ids(spec, inputs[spec.name], training)
                for spec in self.features
                if spec.name in tables.feature_tables}))
        states = {spec.name: self._states(spec, inputs[spec.name], rows)
                  for spec in self.features if spec.name in self.positions}
        # A sequence's vector is its newest (last) position's.
        encoded = {spec.name: states[spec.name][:, -1, :]
                   if spec.name in states else
                   spec.encode(inputs[spec.name],
                               self._model_input(spec, rows),
                               self.compute_dtype)
                   for spec in self.features}
        if self.per_feature:
            encoded.update({positions_key(name): vectors
                            for name, vectors in states.items()})
            return encoded
        return tf.concat(list(encoded.values()), axis=-1)

    def _states(self, spec, encoded, rows):
        """`[batch, max_length, width]`: every position's vector of
        sequence feature `spec` (zeros at padding)."""
        item_rows, pooling, _ = self._model_input(spec, rows)
        return pooling(tf.cast(item_rows, self.compute_dtype), encoded >= 0,
                       return_sequences=True)

    def _ids(self, spec, encoded, training):
        """The embedding rows to read: in training, a share
        `id_dropout_rate` of them replaced by the out-of-vocabulary id."""
        ids = spec.embedding_ids(encoded)
        rate = spec.id_dropout_rate()
        if not training or not rate:
            return ids
        # Philox, as `mtzoo.layers.Dropout` draws, for XLA on CPU.
        draw = tf.random.stateless_uniform(
            tf.shape(ids), seed=philox_seed(self.seed_generator),
            alg="philox")
        return tf.where(draw < rate, tf.zeros_like(ids), ids)

    def _model_input(self, spec, rows):
        """What `spec.encode` reads besides its encoded values: its
        embedding rows, its model layer, or both with the rows of the
        feature it attends to (a behaviour sequence)."""
        layer = self._layers_by_key.get(spec.model_key())
        if spec.name not in rows:
            return layer
        if layer is None:
            return rows[spec.name]
        target = spec.attends_to()
        return rows[spec.name], layer, rows[target] if target else None

    def compute_output_shape(self, input_shape):
        if self.per_feature:
            shapes = {spec.name: (None, spec.output_dim)
                      for spec in self.features}
            for spec in self.features:
                if spec.name in self.positions:
                    shapes[positions_key(spec.name)] = (
                        None, spec.max_length, spec.output_dim)
            return shapes
        return (None, self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update({
            "features": [features_lib.serialize(f) for f in self.features],
            "embeddings_initializer": keras.initializers.serialize(
                self.embeddings_initializer),
            "embeddings_regularizer": keras.regularizers.serialize(
                self.embeddings_regularizer),
            "per_feature": self.per_feature,
            "positions": list(self.positions),
        })
        return config


def positions_key(name: str) -> str:
    """The key of sequence feature `name`'s every-position vectors in a
    per-feature `FeatureEncoder`'s output."""
    return f"{name}:positions"


def _check_positions(specs, positions, per_feature: bool) -> None:
    by_name = {spec.name: spec for spec in specs}
    for name in positions:
        spec = by_name.get(name)
        if spec is None or not spec.has_positions():
            raise ValueError(
                f"FeatureEncoder: positions names '{name}', which is not a "
                f"sequence feature pooled by 'transformer' among "
                f"{sorted(by_name)}; only those have a vector at every "
                f"position.")
    if positions and not per_feature:
        raise ValueError("FeatureEncoder: `positions` needs "
                         "per_feature=True (they are extra dict entries).")


def _tables_by_width(specs) -> dict[int, tuple[dict, dict]]:
    """`{width: ({table: rows}, {feature: table})}` of embedded features."""
    grouped = {}
    for spec in specs:
        embedding = spec.embedding()
        if embedding is None:
            continue
        table, rows, width = embedding
        sizes, feature_tables = grouped.setdefault(width, ({}, {}))
        sizes[table] = max(rows, sizes.get(table, 0))
        feature_tables[spec.name] = table
    return grouped


def _check_attention_targets(specs) -> None:
    """Each feature that attends to another (a history scored against the
    candidate item) names an embedded feature of the same table (whose
    members `features.validate` has checked share one width)."""
    by_name = {spec.name: spec for spec in specs}
    for spec in specs:
        target = spec.attends_to()
        if target is None:
            continue
        other = by_name.get(target)
        if other is None or other.embedding() is None:
            raise ValueError(
                f"Feature '{spec.name}' attends to '{target}', which is not "
                f"an embedded feature of this model; its features are "
                f"{sorted(by_name)}.")
        if other.embedding()[0] != spec.embedding()[0]:
            raise ValueError(
                f"Feature '{spec.name}' attends to '{target}', so both must "
                f"read one embedding table: set embedding_table="
                f"{other.embedding()[0]!r} on '{spec.name}' (tables "
                f"{spec.embedding()[0]!r} and {other.embedding()[0]!r}).")
