"""A user's behaviour sequence: past item ids, newest last, pooled by
mean, target attention (DIN) or a transformer (BST)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import tensorflow as tf

from mtzoo.features import base
from mtzoo.features.multi_categorical import MultiCategoricalFeature

#: The poolings of a sequence (see `mtzoo.layers.SequencePooling`).
SEQUENCE_POOLINGS = ("mean", "target_attention", "transformer")
TARGET_ATTENTION = "target_attention"


@dataclasses.dataclass(frozen=True)
class SequenceFeature(MultiCategoricalFeature):
    """A user's past items, oldest first and newest last (a list cell, or
    a string split by `separator`), read through the item's embedding
    table.

    The raw input is a `[batch, length]` tensor of any length, padded at
    the end (`-1` for integer ids, `""` for strings); the model keeps the
    newest `max_length` items and right-aligns them, so the newest item is
    always at the last position.

    Args:
        name: str. Feature name; also the model input name.
        embedding_table: str. The table of the item feature whose ids the
            history holds (e.g. `"movie"`), so a past item and a candidate
            item share one vector. Defaults to the feature's own table.
        max_length: int. Newest items kept. Defaults to 50.
        pooling: `"mean"` (default), `"target_attention"` (DIN: each past
            item weighted by its relevance to `target`) or `"transformer"`
            (BST: causal self-attention with position embeddings, read at
            the newest item). See `mtzoo.layers.SequencePooling`.
        target: str. The candidate item's feature (a categorical feature
            reading the same `embedding_table`) that `"target_attention"`
            scores the history against.
        num_heads: int. Attention heads of `"transformer"`. Defaults to 2.
        dropout: float. Dropout inside `"transformer"`. Defaults to 0.
        **categorical_args: see `CategoricalFeature` (vocabulary options,
            `embedding_dim`, `dtype`, `separator`).
    """

    kind: ClassVar[str] = "sequence"
    poolings: ClassVar[tuple] = SEQUENCE_POOLINGS
    max_length: int | None = 50
    target: str | None = None
    num_heads: int = 2
    dropout: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        if self.pooling == TARGET_ATTENTION and not self.target:
            raise ValueError(
                f"Feature '{self.name}': target_attention pooling scores "
                f"the history against a candidate item: set `target` to "
                f"the item feature's name.")
        base.check_positive_int(self, "num_heads")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"Feature '{self.name}': `dropout` must be in "
                             f"[0, 1). Received: dropout={self.dropout!r}")

    def attends_to(self) -> str | None:
        return self.target if self.pooling == TARGET_ATTENTION else None

    def has_positions(self) -> bool:
        return self.pooling == "transformer"

    # === Preprocessing stage ===

    def lookup_values(self, raw):
        """The newest `max_length` values, right-aligned (padding first):
        `[batch, max_length]`."""
        raw, pad = self.raw_lists(raw)
        width = tf.shape(raw)[1]
        present = tf.not_equal(raw, pad)
        # Each row's length: one past its last present value.
        positions = tf.range(1, width + 1)[tf.newaxis, :]
        lengths = tf.reduce_max(tf.where(present, positions, 0), axis=1)
        source = lengths[:, tf.newaxis] - self.max_length + tf.range(
            self.max_length)[tf.newaxis, :]
        values = tf.gather(raw, tf.maximum(source, 0), batch_dims=1)
        values = tf.where(source >= 0, values, pad)
        return tf.ensure_shape(values, (None, self.max_length))

    # === Model stage ===

    def model_key(self) -> str:
        return f"sequence_pooling:{self.name}"

    def make_model_layer(self, *, embeddings_initializer,
                         embeddings_regularizer, dtype):
        from mtzoo.layers.sequence_pooling import SequencePooling

        return SequencePooling(
            self.pooling, self.embedding_dim, self.max_length,
            num_heads=self.num_heads, dropout=self.dropout, dtype=dtype,
            name=f"sequence_pooling_{self.name}")

    def encode(self, encoded, layer, compute_dtype):
        # `layer`: (the history's rows, the pooling, the target's rows).
        rows, pooling, target = layer
        return pooling(tf.cast(rows, compute_dtype), encoded >= 0,
                       target=target)
