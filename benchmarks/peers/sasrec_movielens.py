"""keras-rs' SASRec example as a peer for next-item retrieval.

The model of the Keras example "Sequential retrieval using SASRec"
(keras.io/keras_rs/examples/sas_rec): item embeddings (L2 1e-3) plus
learned position embeddings, `keras_hub.layers.TransformerDecoder` blocks
(pre-norm, ReLU, the feed-forward as wide as the embeddings), a final
layer norm; each position is trained against the next item and one random
item the user never rated, by binary cross-entropy on dot products with
the item table; Adam (beta_2 0.98). Sequences are left-aligned and padded
at the end, as there, and a query is the last present position's vector.

Trained on the windows `benchmarks/next_item.py` prepared (the same rows
and targets mtzoo trains on), for a fixed number of epochs; scored by
brute force over the same catalogue, leaving the history's items out, the
same way as mtzoo's evaluation.

    python sasrec_movielens.py DATA.npz SEED EPOCHS WIDTH LAYERS HEADS OUTPUT
"""

import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402 (the input pipeline, as the example)
from keras import ops  # noqa: E402

BATCH_SIZE = 128
LEARNING_RATE = 1e-3
DROPOUT = 0.2


class SasRec(keras.Model):
    def __init__(self, vocabulary, length, width, layers, heads):
        super().__init__()
        self.items = keras_hub.layers.ReversibleEmbedding(
            vocabulary, width, embeddings_initializer="glorot_uniform",
            embeddings_regularizer=keras.regularizers.l2(1e-3))
        self.positions = keras_hub.layers.PositionEmbedding(
            length, initializer="glorot_uniform")
        self.dropout = keras.layers.Dropout(DROPOUT)
        self.blocks = [keras_hub.layers.TransformerDecoder(
            intermediate_dim=width, num_heads=heads, dropout=DROPOUT,
            layer_norm_epsilon=1e-5, activation="relu",
            kernel_initializer="glorot_uniform", normalize_first=True)
            for _ in range(layers)]
        self.norm = keras.layers.LayerNormalization(epsilon=1e-8)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True,
                                                       reduction=None)

    def call(self, inputs, training=False):
        x = self.items(inputs["item_ids"])
        x = self.dropout(x + self.positions(x), training=training)
        for block in self.blocks:
            x = block(x, decoder_padding_mask=inputs["padding_mask"],
                      training=training)
        return self.norm(x)

    def compute_loss(self, x, y, y_pred, sample_weight, training=False):
        positive = ops.sum(self.items(y["positive"]) * y_pred, axis=-1)
        negative = ops.sum(self.items(y["negative"]) * y_pred, axis=-1)
        logits = ops.concatenate([positive, negative], axis=1)
        labels = ops.concatenate([ops.ones_like(positive),
                                  ops.zeros_like(negative)], axis=1)
        weights = ops.concatenate([sample_weight, sample_weight], axis=1)
        loss = self.loss_fn(ops.expand_dims(labels, -1),
                            ops.expand_dims(logits, -1),
                            sample_weight=weights)
        # As the example: its own loss only (a `compute_loss` override
        # leaves out the embeddings' L2 penalty).
        return ops.divide_no_nan(ops.sum(loss), ops.sum(weights))


def left_aligned(sequences, length):
    """`(ids, present)`: each sequence's newest `length` items, oldest
    first, padded with 0 at the end."""
    ids = np.zeros((len(sequences), length), "int32")
    for row, sequence in enumerate(sequences):
        sequence = sequence[-length:]
        ids[row, :len(sequence)] = sequence
    return ids, ids != 0


def training_data(windows, vocabulary, length, rng):
    """Inputs, next items, random unrated items and weights of every
    window (its history then the row's item)."""
    ids, present = left_aligned(windows, length + 1)
    negative = rng.integers(1, vocabulary, size=ids.shape).astype("int32")
    inputs = {"item_ids": ids[:, :-1], "padding_mask": present[:, :-1]}
    targets = {"positive": ids[:, 1:], "negative": negative[:, 1:]}
    return inputs, targets, present[:, 1:].astype("float32")


def scores(model, histories, catalogue, length):
    """Hit rate and NDCG at 10 and recall at 100 of each test row's item
    among the catalogue, the history's items left out."""
    ids, present = left_aligned([h for h, _ in histories], length)
    states = model.predict({"item_ids": ids, "padding_mask": present},
                           batch_size=512, verbose=0)
    last = np.maximum(present.sum(axis=1) - 1, 0)
    queries = states[np.arange(len(ids)), last]
    table = keras.ops.convert_to_numpy(model.items.embeddings)
    logits = queries @ table[catalogue].T
    position = {item: i for i, item in enumerate(catalogue)}
    ranks = []
    for row, (history, target) in enumerate(histories):
        seen = [position[i] for i in history if i != target and i in position]
        logits[row, seen] = -np.inf
        if target not in position:
            ranks.append(np.inf)
            continue
        ranks.append(int((logits[row] > logits[row, position[target]]).sum()))
    ranks = np.asarray(ranks, float)
    return {"hr_at_10": float(np.mean(ranks < 10)),
            "ndcg_at_10": float(np.mean(np.where(
                ranks < 10, 1.0 / np.log2(np.minimum(ranks, 1e9) + 2), 0.0))),
            "recall_at_100": float(np.mean(ranks < 100))}


def main(data, seed, epochs, width, layers, heads, output):
    seed, epochs = int(seed), int(epochs)
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    arrays = np.load(data, allow_pickle=False)
    length = int(arrays["length"])
    vocabulary = int(arrays["vocabulary"])

    def split(name):
        offsets = arrays[f"{name}_offsets"]
        flat = arrays[f"{name}_items"]
        return [flat[a:b].tolist() for a, b in zip(offsets[:-1],
                                                   offsets[1:])]

    windows = split("train")
    tests = list(zip(split("test_history"), arrays["test_items"].tolist()))
    model = SasRec(vocabulary, length, int(width), int(layers), int(heads))
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE,
                                                  beta_2=0.98))
    seconds = []
    for _ in range(epochs):
        # A fresh random negative per position each epoch.
        inputs, targets, weights = training_data(windows, vocabulary,
                                                 length, rng)
        started = time.perf_counter()
        batches = tf.data.Dataset.from_tensor_slices(
            (inputs, targets, weights)).shuffle(
                len(windows), seed=int(rng.integers(2**31))).batch(
                    BATCH_SIZE)
        model.fit(batches, epochs=1, shuffle=False, verbose=0)
        seconds.append(time.perf_counter() - started)
    timed = seconds[1:] or seconds
    result = {"library": "keras-rs SASRec example", "seed": seed,
              "epochs": epochs, "width": int(width), "layers": int(layers),
              "heads": int(heads), "train_rows": len(windows),
              "train_seconds": round(sum(seconds), 2),
              "train_examples_per_s": round(
                  len(windows) / float(np.median(timed)), 1),
              **scores(model, tests, arrays["catalogue"].tolist(), length)}
    with open(output, "w") as handle:
        json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main(*sys.argv[1:])
