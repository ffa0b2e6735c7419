"""Pooling of a behaviour sequence's item embeddings into one vector."""

from __future__ import annotations

import keras
from keras import ops

from mtzoo.api_export import mtzoo_export
from mtzoo.layers.dropout import Dropout

#: What `SequencePooling` accepts.
SEQUENCE_POOLINGS = ("mean", "target_attention", "transformer")


@mtzoo_export
class SequencePooling(keras.layers.Layer):
    """A user's past items (embedded, newest last, left-padded) to one
    vector.

    - `"mean"`: the mean of the items present.
    - `"target_attention"`: DIN's local activation unit (Zhou et al.,
      "Deep Interest Network for Click-Through Rate Prediction", KDD 2018):
      an MLP scores each past item against the candidate item from
      `[h, t, h - t, h * t]`, and the items are summed with those weights,
      unnormalized as in the paper, so the vector's size says how much of
      the history relates to the candidate.
    - `"transformer"`: a causal self-attention block over the items plus
      learned position embeddings, read at the newest position (Chen et
      al., "Behavior Sequence Transformer for E-commerce Recommendation in
      Alibaba", DLP-KDD 2019; causal as in SASRec, Kang & McAuley, ICDM
      2018).

    An empty history pools to zeros.

    Args:
        pooling: one of `SEQUENCE_POOLINGS`.
        width: int. The item embeddings' width.
        max_length: int. Positions of the (padded) sequence.
        num_heads: int. Attention heads of `"transformer"`. Defaults to 2.
        attention_units: int. Hidden units of `"target_attention"`'s
            scoring MLP. Defaults to 36 (the paper's).
        dropout: float. Dropout of `"transformer"`'s attention output and
            feed-forward outputs. Defaults to 0.
        **kwargs: Args to pass to the base class.

    Call arguments:
        rows: `[batch, max_length, width]` item embeddings.
        mask: `[batch, max_length]` bool, True where an item is present.
        target: `[batch, width]` the candidate item's embedding
            (`"target_attention"` only).
        return_sequences: bool. `"transformer"` only: every position's
            vector (zeros at padding), for training on the next item at
            every position (SASRec), instead of the newest one's.

    Output shape: `(batch, width)`, or `(batch, max_length, width)` with
        `return_sequences`.
    """

    def __init__(self, pooling, width, max_length, num_heads=2,
                 attention_units=36, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if pooling not in SEQUENCE_POOLINGS:
            raise ValueError(f"`pooling` must be one of {SEQUENCE_POOLINGS}. "
                             f"Received: pooling={pooling!r}")
        self.pooling = pooling
        self.width = int(width)
        self.max_length = int(max_length)
        self.num_heads = int(num_heads)
        self.attention_units = int(attention_units)
        self.dropout = float(dropout)
        if pooling == "target_attention":
            self.scorer = keras.Sequential([
                keras.layers.Dense(self.attention_units, activation="relu"),
                keras.layers.Dense(1)], name="activation_unit")
        elif pooling == "transformer":
            # Dropout on the attention's output rather than inside it:
            # Keras' own dropout compiles to slow code under XLA on CPU.
            self.attention = keras.layers.MultiHeadAttention(
                self.num_heads, max(self.width // self.num_heads, 1),
                name="self_attention")
            self.attention_dropout = Dropout(self.dropout,
                                             name="attention_dropout")
            self.attention_norm = keras.layers.LayerNormalization(
                name="attention_norm")
            self.feed_forward = keras.Sequential([
                keras.layers.Dense(self.width, activation="relu"),
                keras.layers.Dense(self.width),
                Dropout(self.dropout)], name="feed_forward")
            self.output_norm = keras.layers.LayerNormalization(
                name="output_norm")

    def build(self, input_shape=None):
        rows_shape = (None, self.max_length, self.width)
        if self.pooling == "target_attention":
            self.scorer.build((None, self.max_length, 4 * self.width))
        elif self.pooling == "transformer":
            self.positions = self.add_weight(
                shape=(self.max_length, self.width),
                initializer=keras.initializers.RandomNormal(stddev=0.02),
                name="position_embeddings")
            self.attention.build(rows_shape, rows_shape)
            self.attention_norm.build(rows_shape)
            self.feed_forward.build(rows_shape)
            self.output_norm.build(rows_shape)
        self.built = True

    def call(self, rows, mask, target=None, training=None,
             return_sequences=False):
        present = ops.cast(ops.expand_dims(mask, -1), rows.dtype)
        if return_sequences:
            if self.pooling != "transformer":
                raise ValueError(
                    f"Only transformer pooling has a vector at every "
                    f"position; this layer pools by {self.pooling!r}.")
            return self._transformer(rows, mask, training) * present
        has_items = ops.cast(ops.any(mask, axis=1, keepdims=True),
                             rows.dtype)
        if self.pooling == "mean":
            total = ops.sum(rows * present, axis=1)
            return total / ops.maximum(ops.sum(present, axis=1), 1.0)
        if self.pooling == "target_attention":
            if target is None:
                raise ValueError("target_attention pooling needs the "
                                 "candidate item's embedding (`target`).")
            target = ops.broadcast_to(ops.expand_dims(
                ops.cast(target, rows.dtype), 1), ops.shape(rows))
            scores = self.scorer(ops.concatenate(
                [rows, target, rows - target, rows * target], axis=-1))
            return ops.sum(scores * rows * present, axis=1)
        return self._transformer(rows, mask, training)[:, -1, :] * has_items

    def _transformer(self, rows, mask, training):
        """`[batch, max_length, width]`: each position's state, having seen
        itself and the present items before it."""
        x = rows + ops.cast(self.positions, rows.dtype)
        length = self.max_length
        causal = ops.tril(ops.ones((length, length), "bool"))
        attend = ops.logical_and(ops.expand_dims(causal, 0),
                                 ops.expand_dims(mask, 1))
        # A padding position attends to itself, so no row is all masked.
        attend = ops.logical_or(attend, ops.expand_dims(
            ops.eye(length, dtype="bool"), 0))
        attended = self.attention_dropout(
            self.attention(x, x, attention_mask=attend, training=training),
            training=training)
        x = self.attention_norm(x + attended)
        return self.output_norm(x + self.feed_forward(x, training=training))

    def compute_output_shape(self, input_shape):
        return (None, self.width)

    def get_config(self):
        config = super().get_config()
        config.update({"pooling": self.pooling, "width": self.width,
                       "max_length": self.max_length,
                       "num_heads": self.num_heads,
                       "attention_units": self.attention_units,
                       "dropout": self.dropout})
        return config
