"""The output of a retrieval task: both towers' vectors and what the
in-batch loss needs beside them."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from mtzoo.api_export import mtzoo_export
from mtzoo.retrieval import layout


class SamplingProbabilities(keras.layers.Layer):
    """A layer holding one log sampling probability per row of a candidate
    id's vocabulary (non-trainable), uniform until
    `set_sampling_probabilities`."""

    def __init__(self, num_candidates, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.num_candidates = int(num_candidates)

    def build(self, input_shape=None):
        self.log_sampling_probability = self.add_weight(
            name="log_sampling_probability", shape=(self.num_candidates,),
            initializer=keras.initializers.Constant(
                -np.log(self.num_candidates)),
            trainable=False)
        self.built = True

    def set_sampling_probabilities(self, probabilities) -> None:
        """Sets each candidate row's sampling probability (floored at
        1e-9 before the log)."""
        probabilities = np.asarray(probabilities, dtype=np.float64)
        if probabilities.shape != (self.num_candidates,):
            raise ValueError(
                f"Retrieval task '{self.name}' expects "
                f"{self.num_candidates} sampling probabilities, one per row "
                f"of its candidate id's vocabulary; received shape "
                f"{probabilities.shape}.")
        self.log_sampling_probability.assign(
            np.log(np.maximum(probabilities, 1e-9)).astype(np.float32))

    def get_config(self):
        return {**super().get_config(), "num_candidates": self.num_candidates}


@mtzoo_export
class RetrievalHead(SamplingProbabilities):
    """Packs a retrieval task's output: `[query, candidate, log_q, id]`.

    The loss (`mtzoo.tasks.RetrievalSoftmax`) scores every query of a batch
    against every candidate of the batch, so the output carries both
    vectors (L2-normalized for cosine scores), each candidate's log
    sampling probability (for log Q correction) and its id (for removing
    accidental hits).

    Sampling probabilities live in a non-trainable weight, one per row of
    the candidate id's vocabulary, uniform until
    `set_sampling_probabilities` (see `mtzoo.retrieval`).

    Args:
        num_candidates: int. Rows of the candidate id's vocabulary (with its
            out-of-vocabulary rows).
        cosine: bool. Normalize both vectors. Defaults to False.
        **kwargs: Args to pass to the base class.

    Inputs: `[query, candidate, candidate_ids]`: two `(batch, dim)` vectors
        and `(batch,)` int ids.
    Output shape: `(batch, 2 * dim + 3)`, float32 (the id in two
        columns, exact for every int32 id: `mtzoo.retrieval.layout`).
    """

    def __init__(self, num_candidates, cosine=False, **kwargs):
        super().__init__(num_candidates, **kwargs)
        self.cosine = bool(cosine)

    def call(self, inputs):
        query, candidate, ids = inputs
        query = ops.cast(query, "float32")
        candidate = ops.cast(candidate, "float32")
        if self.cosine:
            query = normalize(query)
            candidate = normalize(candidate)
        ids = ops.reshape(ops.cast(ids, "int32"), (-1,))
        log_q = ops.take(self.log_sampling_probability, ids)
        return ops.concatenate([query, candidate, log_q[:, None],
                                layout.pack_ids(ids)], axis=-1)

    def compute_output_shape(self, input_shape):
        dim = input_shape[0][-1]
        return (input_shape[0][0], 2 * dim + 1 + layout.ID_COLUMNS)

    def get_config(self):
        return {**super().get_config(), "cosine": self.cosine}


def normalize(x):
    """L2-normalized rows."""
    return x / ops.sqrt(ops.maximum(ops.sum(x * x, axis=-1, keepdims=True),
                                    1e-12))
