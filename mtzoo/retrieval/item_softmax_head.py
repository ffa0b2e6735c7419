"""A softmax over an item vocabulary: full, or sampled for large
catalogues."""

from __future__ import annotations

import keras
from keras import ops

from mtzoo.api_export import mtzoo_export
from mtzoo.retrieval import layout
from mtzoo.retrieval.retrieval_head import SamplingProbabilities


@mtzoo_export
class ItemSoftmaxHead(SamplingProbabilities):
    """Scores a query vector against the rows of a trainable item table.

    Each item row holds a vector and a bias; a query `q` scores item `i` as
    `(q . w_i + b_i) / temperature`, i.e. `[q, 1] . item_vectors[i]`, so
    the same dot product serves brute-force top k at serving time.

    With `num_sampled=None` the output is every item's score (a full
    softmax over the vocabulary) followed by the positive's id (`mtzoo.retrieval.layout`). Otherwise
    training draws `num_sampled` rows per batch by their sampling
    probability Q (uniform until `set_sampling_probabilities`) and the
    output is the positive's score then the sampled rows' scores, each
    less `log(num_sampled * Q)` when `sampling_correction` (the expected
    count correction of sampled softmax), with rows equal to the positive
    masked when `remove_accidental_hits`.

    Args:
        num_candidates: int. Rows of the item id's vocabulary.
        embedding_dim: int. Size of the query vector.
        num_sampled: int or None. Rows drawn per batch.
        temperature: float. Scores are divided by it.
        sampling_correction: bool. Subtract `log(num_sampled * Q)`.
        remove_accidental_hits: bool. Mask sampled rows equal to the
            positive.
        seed: int or None. Seed of the sampler.
        embeddings_initializer: initializer of the item vectors.
        **kwargs: Args to pass to the base class.

    Inputs: `[query, ids]`: `(batch, embedding_dim)` vectors and `(batch,)`
        int item rows (the positives).
    Output shape: `(batch, num_candidates + 2)` or
        `(batch, num_sampled + 1)`, float32.

    References:
        - [Covington et al., 2016](https://doi.org/10.1145/2959100.2959190):
          Deep Neural Networks for YouTube Recommendations.
        - [Jean et al., 2015](https://aclanthology.org/P15-1001/): On Using
          Very Large Target Vocabulary for Neural Machine Translation.
    """

    def __init__(self, num_candidates, embedding_dim, num_sampled=None,
                 temperature=1.0, sampling_correction=True,
                 remove_accidental_hits=True, seed=None,
                 embeddings_initializer="truncated_normal", **kwargs):
        super().__init__(num_candidates, **kwargs)
        self.embedding_dim = int(embedding_dim)
        self.num_sampled = None if num_sampled is None else int(num_sampled)
        self.temperature = float(temperature)
        self.sampling_correction = bool(sampling_correction)
        self.remove_accidental_hits = bool(remove_accidental_hits)
        self.seed = seed
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape=None):
        super().build(input_shape)
        self.item_vectors = self.add_weight(
            name="item_vectors",
            shape=(self.num_candidates, self.embedding_dim + 1),
            initializer=self.embeddings_initializer)
        self.built = True

    def query_vectors(self, query):
        """`[query, 1]`: the query side of the dot product."""
        query = ops.cast(query, "float32")
        return ops.concatenate(
            [query, ops.ones_like(query[..., :1])], axis=-1)

    def call(self, inputs):
        query, ids = inputs
        ids = ops.reshape(ops.cast(ids, "int32"), (-1,))
        logits, _ = self.scores(query, ids)
        if self.num_sampled is None:
            return ops.concatenate([logits, layout.pack_ids(ids)], axis=-1)
        return logits

    def scores(self, query, ids):
        """`(logits, labels)` of queries `[..., embedding_dim]` whose
        positives are item rows `ids` `[...]`: every row's score and the
        positive's row, or (sampled) the positive's score then the sampled
        rows' and label 0."""
        query = self.query_vectors(query) / self.temperature
        if self.num_sampled is None:
            return ops.matmul(query, ops.transpose(self.item_vectors)), ids
        sampled = ops.reshape(keras.random.categorical(
            self.log_sampling_probability[None, :], self.num_sampled,
            dtype="int32", seed=self.seed_generator), (-1,))
        positive = ops.sum(query * ops.take(self.item_vectors, ids, axis=0),
                           axis=-1, keepdims=True)
        negative = ops.matmul(query, ops.transpose(
            ops.take(self.item_vectors, sampled, axis=0)))
        if self.sampling_correction:
            log_count = ops.log(float(self.num_sampled))
            positive = positive - log_count - ops.expand_dims(
                ops.take(self.log_sampling_probability, ids), -1)
            negative = negative - log_count - ops.take(
                self.log_sampling_probability, sampled)
        if self.remove_accidental_hits:
            negative = ops.where(
                ops.equal(ops.expand_dims(ids, -1), sampled), -1e9, negative)
        return (ops.concatenate([positive, negative], axis=-1),
                ops.zeros_like(ids))

    def compute_output_shape(self, input_shape):
        width = (self.num_candidates + layout.ID_COLUMNS
                 if self.num_sampled is None else self.num_sampled + 1)
        return (input_shape[0][0], width)

    def get_config(self):
        return {**super().get_config(),
                "embedding_dim": self.embedding_dim,
                "num_sampled": self.num_sampled,
                "temperature": self.temperature,
                "sampling_correction": self.sampling_correction,
                "remove_accidental_hits": self.remove_accidental_hits,
                "seed": self.seed,
                "embeddings_initializer": keras.initializers.serialize(
                    self.embeddings_initializer)}
