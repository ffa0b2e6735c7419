"""Embedding tables of one width, held in one variable and read at once."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from mtzoo.api_export import mtzoo_export


@mtzoo_export
class EmbeddingTables(keras.layers.Layer):
    """Several embedding tables of the same width in one variable.

    Table `t` is the block of rows `[offset(t), offset(t) + size(t))` of
    `embeddings`. The ids of every single-valued feature are shifted by
    their table's offset, stacked and gathered in one `gather`: one op in
    the training step and the served graph instead of one per feature, and
    one sparse gradient for the optimizer instead of one per table.
    Multi-valued ids (`[batch, length]`) are gathered one feature at a time.
    Ids must lie in `[0, size)` of their table (the preprocessing stage
    guarantees it).

    Args:
        table_sizes: dict mapping each table name to its number of rows.
        feature_tables: dict mapping each feature name to the table it
            reads (several features may read one table).
        output_dim: int. Width of every table.
        embeddings_initializer: initializer of the whole variable. Defaults
            to `"uniform"` (Keras' default for embeddings).
        embeddings_regularizer: regularizer of the whole variable (an L2
            penalty on it is the sum of the penalties on each table).
        **kwargs: Args to pass to the base class.

    Input: dict mapping feature names to int ids, `[batch]` or
        `[batch, length]`.
    Output: dict mapping the same names to `[..., output_dim]` rows.
    """

    def __init__(
        self,
        table_sizes,
        feature_tables,
        output_dim,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        unknown = sorted(set(feature_tables.values()) - set(table_sizes))
        if unknown:
            raise ValueError(f"Features read tables {unknown} that "
                             f"`table_sizes` does not define.")
        self.table_sizes = {k: int(v) for k, v in table_sizes.items()}
        self.feature_tables = dict(feature_tables)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer)
        self.embeddings_regularizer = keras.regularizers.get(
            embeddings_regularizer)
        starts = np.cumsum([0, *self.table_sizes.values()])
        self._offsets = dict(zip(self.table_sizes, starts[:-1].tolist()))
        self._rows = int(starts[-1])

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self._rows, self.output_dim),
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer)
        self.built = True

    def offset(self, table: str) -> int:
        """First row of `table` in `embeddings`."""
        return self._offsets[table]

    def table(self, name: str):
        """The rows of table `name`, `[size, output_dim]`."""
        start = self._offsets[name]
        return self.embeddings[start:start + self.table_sizes[name]]

    def call(self, inputs):
        single = [name for name in inputs if inputs[name].shape.rank == 1]
        out = {}
        if single:
            # Feature-major (`[features, batch]`): stacking and unstacking
            # along the first axis copies contiguous blocks, several times
            # faster than along the second.
            offsets = tf.constant(
                [[self._offsets[self.feature_tables[n]]] for n in single],
                dtype=tf.int32)
            ids = tf.stack([tf.cast(inputs[n], tf.int32)
                            for n in single]) + offsets
            rows = tf.cast(tf.gather(self.embeddings, ids),
                           self.compute_dtype)
            out.update(zip(single, tf.unstack(rows)))
        for name in inputs:
            if name not in out:
                ids = (tf.cast(inputs[name], tf.int32)
                       + self._offsets[self.feature_tables[name]])
                out[name] = tf.cast(tf.gather(self.embeddings, ids),
                                    self.compute_dtype)
        return out

    def get_config(self):
        config = super().get_config()
        config.update({
            "table_sizes": dict(self.table_sizes),
            "feature_tables": dict(self.feature_tables),
            "output_dim": self.output_dim,
            "embeddings_initializer": keras.initializers.serialize(
                self.embeddings_initializer),
            "embeddings_regularizer": keras.regularizers.serialize(
                self.embeddings_regularizer),
        })
        return config
