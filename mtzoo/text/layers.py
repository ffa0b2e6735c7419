"""Keras layers around a pretrained BERT-family text encoder: WordPiece
ids from raw strings, and pooled sentence vectors from ids."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from mtzoo.api_export import mtzoo_export
from mtzoo.text import checkpoints


def _keras_hub():
    checkpoints.require_text_extra()
    import keras_hub

    return keras_hub


def pad_id(encoder: str) -> int:
    """The id of `[PAD]` in the checkpoint's vocabulary."""
    return checkpoints.resolve(encoder).vocabulary.index("[PAD]")


@mtzoo_export
class WordPieceIds(keras.layers.Layer):
    """Raw strings to the checkpoint's WordPiece ids, `[CLS] ... [SEP]`
    then padding: `[batch, max_length]` int32.

    Lower-casing and accent stripping follow the checkpoint's tokenizer
    files (all-MiniLM-L6-v2 strips accents: "café" is "cafe", not
    `[UNK]`). Lower-casing maps each character alone, as the reference
    tokenizer does ("ß" stays "ß"; case folding would make it "ss").

    Args:
        encoder: str. `"minilm"` or a checkpoint folder.
        max_length: int. Tokens kept, with `[CLS]` and `[SEP]`.
    """

    def __init__(self, encoder, max_length, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.encoder = encoder
        self.max_length = int(max_length)
        checkpoint = checkpoints.resolve(encoder)
        keras_hub = _keras_hub()
        self.lowercase = checkpoint.lowercase
        self.tokenizer = keras_hub.tokenizers.WordPieceTokenizer(
            vocabulary=list(checkpoint.vocabulary), lowercase=False,
            strip_accents=checkpoint.strip_accents,
            oov_token="[UNK]", dtype="int32")
        index = {token: i for i, token in enumerate(checkpoint.vocabulary)}
        self.pad_id = index["[PAD]"]
        self.packer = keras_hub.layers.StartEndPacker(
            sequence_length=self.max_length, start_value=index["[CLS]"],
            end_value=index["[SEP]"], pad_value=self.pad_id)
        self.built = True

    def call(self, text):
        text = tf.convert_to_tensor(text)
        if text.shape.rank == 2 and text.shape[-1] == 1:
            text = tf.squeeze(text, axis=-1)
        if self.lowercase:
            text = tf.strings.lower(text, encoding="utf-8")
        return tf.cast(self.packer(self.tokenizer(text)), tf.int32)

    def compute_output_spec(self, text):
        return keras.KerasTensor((text.shape[0], self.max_length), "int32")

    def get_config(self):
        return {**super().get_config(), "encoder": self.encoder,
                "max_length": self.max_length}


def _backbone_inputs(ids, mask) -> dict:
    return {"token_ids": ids, "segment_ids": ops.zeros_like(ids),
            "padding_mask": ops.cast(mask, "int32")}


def mean_pooled(tokens, mask):
    """`[batch, hidden]`: the mean of the token vectors where `mask`,
    L2-normalized (sentence-transformers' pooling)."""
    weights = ops.cast(mask, tokens.dtype)[:, :, None]
    pooled = ops.sum(tokens * weights, axis=1) / ops.maximum(
        ops.sum(weights, axis=1), 1e-9)
    pooled = ops.cast(pooled, "float32")
    return pooled / ops.maximum(
        ops.sqrt(ops.sum(pooled * pooled, axis=-1, keepdims=True)), 1e-12)


@mtzoo_export
class PretrainedTextEncoder(keras.layers.Layer):
    """WordPiece ids to sentence vectors: the pretrained transformer, the
    mean of its token vectors over non-padding tokens, L2-normalized (as
    sentence-transformers computes all-MiniLM-L6-v2's embeddings).

    Args:
        encoder: str. `"minilm"` or a checkpoint folder.
        trainable_layers: int or None. Fine-tune only the top this many
            transformer layers (None: all layers and the embeddings, when
            the layer is trainable).
        pad_id: int. The padding token's id.

    Input: `[batch, length]` int ids. Output: `[batch, hidden_size]`.

    References:
        - [Reimers and Gurevych, 2019](https://arxiv.org/abs/1908.10084):
          Sentence-BERT (mean pooling of BERT token vectors).
        - [Wang et al., 2020](https://arxiv.org/abs/2002.10957): MiniLM.
    """

    def __init__(self, encoder, trainable_layers=None, pad_id=0, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.trainable_layers = (None if trainable_layers is None
                                 else int(trainable_layers))
        self.pad_id = int(pad_id)
        checkpoint = checkpoints.resolve(encoder)
        self.hidden_size = checkpoint.hidden_size
        self.backbone = _keras_hub().models.BertBackbone.from_preset(
            str(checkpoint.folder))
        if self.trainable_layers is not None:
            self._freeze_below(checkpoint.num_layers - self.trainable_layers)
        self.built = True

    def _freeze_below(self, first_trained: int) -> None:
        for layer in self.backbone.layers:
            if layer.name.startswith("transformer_layer_"):
                index = int(layer.name.rsplit("_", 1)[1])
                layer.trainable = index >= first_trained
            elif layer.weights:
                layer.trainable = False

    def call(self, ids, training=None):
        ids = ops.cast(ids, "int32")
        mask = ops.not_equal(ids, self.pad_id)
        tokens = self.backbone(_backbone_inputs(ids, mask),
                               training=training)["sequence_output"]
        return mean_pooled(tokens, mask)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.hidden_size)

    def get_config(self):
        return {**super().get_config(), "encoder": self.encoder,
                "trainable_layers": self.trainable_layers,
                "pad_id": self.pad_id}


@mtzoo_export
class SentenceEncoder(keras.layers.Layer):
    """Raw strings to sentence vectors with a frozen pretrained encoder:
    `WordPieceIds` then `PretrainedTextEncoder` (a frozen text feature's
    preprocessing stage).

    Args:
        encoder: str. `"minilm"` or a checkpoint folder.
        max_length: int. Tokens kept per text.
    """

    def __init__(self, encoder, max_length, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.encoder = encoder
        self.max_length = int(max_length)
        self.ids = WordPieceIds(encoder, max_length, name="wordpiece_ids")
        self.transformer = PretrainedTextEncoder(
            encoder, pad_id=self.ids.pad_id, trainable=False,
            name="transformer")
        self.built = True

    def call(self, text):
        return self.transformer(self.ids(text), training=False)

    def compute_output_spec(self, text):
        return keras.KerasTensor((text.shape[0],
                                  self.transformer.hidden_size), "float32")

    def get_config(self):
        return {**super().get_config(), "encoder": self.encoder,
                "max_length": self.max_length}


@mtzoo_export
class FrozenTokenStates(keras.layers.Layer):
    """Raw strings to a pretrained encoder's token vectors after its bottom
    `frozen_layers` transformer layers, beside the padding mask:
    `[batch, max_length, hidden_size + 1]`, the last channel 1 at real
    tokens. The preprocessing stage of a text feature that fine-tunes only
    the top layers (`TopTextLayers`): the frozen part runs once per text,
    not in every training step.

    Args:
        encoder: str. `"minilm"` or a checkpoint folder.
        max_length: int. Tokens kept per text.
        frozen_layers: int. Bottom transformer layers run here (0: the
            embeddings alone).
    """

    def __init__(self, encoder, max_length, frozen_layers, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.encoder = encoder
        self.max_length = int(max_length)
        self.frozen_layers = int(frozen_layers)
        checkpoint = checkpoints.resolve(encoder)
        self.hidden_size = checkpoint.hidden_size
        self.ids = WordPieceIds(encoder, max_length, name="wordpiece_ids")
        backbone = _keras_hub().models.BertBackbone.from_preset(
            str(checkpoint.folder))
        last = (f"transformer_layer_{self.frozen_layers - 1}"
                if self.frozen_layers else "embeddings_dropout")
        self.bottom = keras.Model(backbone.inputs,
                                  backbone.get_layer(last).output,
                                  name="frozen_layers")
        self.bottom.trainable = False
        self.built = True

    def call(self, text):
        ids = self.ids(text)
        mask = ops.not_equal(ids, self.ids.pad_id)
        states = self.bottom(_backbone_inputs(ids, mask), training=False)
        return ops.concatenate(
            [states, ops.cast(mask, states.dtype)[:, :, None]], axis=-1)

    def compute_output_spec(self, text):
        return keras.KerasTensor(
            (text.shape[0], self.max_length, self.hidden_size + 1),
            "float32")

    def get_config(self):
        return {**super().get_config(), "encoder": self.encoder,
                "max_length": self.max_length,
                "frozen_layers": self.frozen_layers}


@mtzoo_export
class TopTextLayers(keras.layers.Layer):
    """The top `trainable_layers` transformer layers of a pretrained
    encoder over the token states `FrozenTokenStates` computed, then mean
    pooling and L2 normalization: `PretrainedTextEncoder` with
    `trainable_layers`, without running the frozen layers again.

    Args:
        encoder: str. `"minilm"` or a checkpoint folder.
        trainable_layers: int. Top transformer layers to run and train.

    Input: `[batch, length, hidden_size + 1]` token states and mask.
    Output: `[batch, hidden_size]`.
    """

    def __init__(self, encoder, trainable_layers, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.trainable_layers = int(trainable_layers)
        checkpoint = checkpoints.resolve(encoder)
        self.hidden_size = checkpoint.hidden_size
        backbone = _keras_hub().models.BertBackbone.from_preset(
            str(checkpoint.folder))
        first = max(checkpoint.num_layers - self.trainable_layers, 0)
        self.transformer_layers = [
            backbone.get_layer(f"transformer_layer_{i}")
            for i in range(first, checkpoint.num_layers)]
        self.built = True

    def call(self, states, training=None):
        states = ops.cast(states, self.compute_dtype)
        mask = states[:, :, -1] > 0.5
        tokens = states[:, :, :-1]
        for layer in self.transformer_layers:
            tokens = layer(tokens, padding_mask=mask, training=training)
        return mean_pooled(tokens, mask)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.hidden_size)

    def get_config(self):
        return {**super().get_config(), "encoder": self.encoder,
                "trainable_layers": self.trainable_layers}
