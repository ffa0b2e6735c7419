"""Sentence vectors of a frozen encoder, computed once per distinct text.

A frozen encoder gives a text the same vector every time, so training
encodes each distinct text once (longest first, in batches, with a progress
bar) and trains on the vectors. Vectors are kept in memory and on disk
under `<mtzoo cache>/text-vectors/<checkpoint>-<max_length>/`, keyed by a
hash of the text, so a second run (another architecture, another seed)
encodes nothing.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import tempfile

import keras
import numpy as np
import tensorflow as tf

from mtzoo.text import checkpoints

_DIGEST_BYTES = 16
_SHARD_PREFIX = "vectors-"


def text_key(text: str) -> bytes:
    """The cache key of a text."""
    return hashlib.blake2b(text.encode("utf-8"),
                           digest_size=_DIGEST_BYTES).digest()


class TextVectorCache:
    """Vectors of one encoder (checkpoint and `max_length`), by text.

    Args:
        encoder: `"minilm"` or a checkpoint folder.
        max_length: tokens kept per text.
        folder: where shards are stored; None for the default under
            `mtzoo.text.checkpoints.cache_root()`, False for memory only.
    """

    def __init__(self, encoder: str, max_length: int, folder=None):
        self.encoder = encoder
        self.max_length = int(max_length)
        checkpoint = checkpoints.resolve(encoder)
        self.dim = checkpoint.hidden_size
        if folder is None:
            folder = checkpoints.cache_root() / "text-vectors" / \
                f"{checkpoint.key}-{self.max_length}"
        self.folder = pathlib.Path(folder) if folder is not False else None
        self._vectors: dict[bytes, np.ndarray] = {}
        self._loaded_shards: set[str] = set()
        self._layer = None
        self._encode = None

    def _load_shards(self) -> None:
        if self.folder is None or not self.folder.is_dir():
            return
        for shard in sorted(self.folder.glob(f"{_SHARD_PREFIX}*.npz")):
            if shard.name in self._loaded_shards:
                continue
            with np.load(shard, allow_pickle=False) as stored:
                for key, vector in zip(stored["keys"], stored["vectors"]):
                    self._vectors[bytes(key)] = vector
            self._loaded_shards.add(shard.name)

    def _save_shard(self, keys: list[bytes], vectors: np.ndarray) -> None:
        if self.folder is None or not keys:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(dir=self.folder, suffix=".npz",
                                           prefix=".writing-")
        with os.fdopen(handle, "wb") as out:
            np.savez(out, keys=np.frombuffer(b"".join(keys), dtype=np.uint8)
                     .reshape(len(keys), _DIGEST_BYTES), vectors=vectors)
        name = f"{_SHARD_PREFIX}{hashlib.blake2b(b''.join(keys), digest_size=8).hexdigest()}.npz"
        os.replace(staging, self.folder / name)
        self._loaded_shards.add(name)

    def sentence_encoder(self):
        """The process's `mtzoo.text.layers.SentenceEncoder` of this
        encoder and length, built once: loading its weights takes seconds,
        and every export of a model reading its vectors puts it in front
        of the model."""
        if self._layer is None:
            from mtzoo.text.layers import SentenceEncoder

            self._layer = SentenceEncoder(self.encoder, self.max_length)
        return self._layer

    def _encoder(self):
        """texts -> vectors: WordPiece ids, cut to the batch's longest text
        rounded up to 16 tokens (padding changes nothing in the mean, and
        texts come sorted by length), then the transformer compiled by XLA
        once per such length."""
        if self._encode is None:
            layer = self.sentence_encoder()
            to_ids = tf.function(
                layer.ids, input_signature=[tf.TensorSpec([None],
                                                          tf.string)])
            transformer = tf.function(
                lambda ids: layer.transformer(ids, training=False),
                jit_compile=True)

            def encode(texts):
                ids = to_ids(texts).numpy()
                used = int((ids != layer.ids.pad_id).sum(axis=1).max())
                width = min(-(-used // 16) * 16, ids.shape[1])
                return transformer(tf.constant(ids[:, :width]))

            self._encode = encode
        return self._encode

    def vectors(self, texts, *, batch_size: int = 64,
                verbose: bool = True) -> np.ndarray:
        """`[len(texts), dim]` float32 vectors, encoding only the distinct
        texts not seen before."""
        texts = np.asarray(texts, dtype=object)
        unique, inverse = np.unique(texts, return_inverse=True)
        keys = [text_key(t) for t in unique]
        self._load_shards()
        missing = [i for i, k in enumerate(keys) if k not in self._vectors]
        if missing:
            # Longest first: batches of similar lengths pad least.
            missing.sort(key=lambda i: -len(unique[i]))
            progress = keras.utils.Progbar(
                len(missing), unit_name="text",
                verbose=1 if verbose and len(missing) > batch_size else 0)
            encode = self._encoder()
            new_keys, new_vectors = [], []
            for start in range(0, len(missing), batch_size):
                rows = missing[start:start + batch_size]
                vectors = encode(tf.constant(unique[rows].astype(str)))
                vectors = np.asarray(vectors, dtype=np.float32)
                for row, vector in zip(rows, vectors):
                    self._vectors[keys[row]] = vector
                    new_keys.append(keys[row])
                new_vectors.append(vectors)
                progress.add(len(rows))
            self._save_shard(new_keys, np.concatenate(new_vectors))
        table = np.stack([self._vectors[k] for k in keys]) if keys else \
            np.zeros((0, self.dim), np.float32)
        return table[inverse.reshape(-1)].astype(np.float32)


_CACHES: dict[tuple, TextVectorCache] = {}


def cache_for(encoder: str, max_length: int) -> TextVectorCache:
    """The process's shared cache of an encoder's vectors."""
    key = (encoder, int(max_length))
    if key not in _CACHES:
        _CACHES[key] = TextVectorCache(encoder, max_length)
    return _CACHES[key]


_STATE_LAYERS: dict[tuple, object] = {}


def _token_states_layer(encoder: str, max_length: int,
                        frozen_layers: int) -> tuple:
    """`(layer, traced call)`: the process's `mtzoo.text.layers
    .FrozenTokenStates` of an encoder, length and frozen depth, built
    once."""
    from mtzoo.text.layers import FrozenTokenStates

    key = (encoder, int(max_length), int(frozen_layers))
    if key not in _STATE_LAYERS:
        layer = FrozenTokenStates(*key)
        # One traced graph per batch size (the last batch may be smaller).
        _STATE_LAYERS[key] = (layer, tf.function(layer))
    return _STATE_LAYERS[key]


def frozen_token_states(encoder: str, max_length: int, frozen_layers: int):
    """The process's `FrozenTokenStates` layer (the one `token_states`
    runs), for a serving model's preprocessing."""
    return _token_states_layer(encoder, max_length, frozen_layers)[0]


def token_states(encoder: str, max_length: int, frozen_layers: int, texts,
                 *, batch_size: int = 64) -> np.ndarray:
    """`[len(texts), max_length, hidden + 1]` float16: each text's token
    vectors after the encoder's bottom `frozen_layers` layers and its
    padding mask (`mtzoo.text.layers.FrozenTokenStates`), each distinct
    text run once. Kept in memory for the run (float16 halves it: 10,000
    texts of 128 tokens take 1 GB), not on disk as sentence vectors are."""
    layer, run = _token_states_layer(encoder, max_length, frozen_layers)
    texts = np.asarray(texts, dtype=object)
    unique, inverse = np.unique(texts, return_inverse=True)
    states = np.zeros((len(unique), layer.max_length, layer.hidden_size + 1),
                      np.float16)
    for start in range(0, len(unique), batch_size):
        batch = tf.constant(unique[start:start + batch_size].astype(str))
        states[start:start + batch_size] = np.asarray(run(batch),
                                                      np.float16)
    return states[inverse.reshape(-1)]
