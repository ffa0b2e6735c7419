"""Query and candidate vectors of a trained retrieval task, as scored."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
from keras import ops

from mtzoo import data as data_lib
from mtzoo.retrieval import catalogues as catalogue_lib
from mtzoo.retrieval.retrieval_head import normalize


def tower_model(model, task, side: str) -> keras.Model:
    """The model's `side` ("query" or "candidate") tower of retrieval task
    `task`: every encoded input in, its vectors out (before any cosine
    normalization). A task trained at every position of a sequence scores
    its newest (last) position's query vector."""
    if task.sequence and side == "query":
        output = model.get_layer(f"query_positions_{task.name}").output
        output = output[:, -1, :]
    else:
        output = model.get_layer(f"{side}_embedding_{task.name}").output
    return keras.Model(model.inputs, output,
                       name=f"{side}_tower_model_{task.name}")


class Tower:
    """One side of a retrieval task as scored: encoded inputs in, vectors
    out whose dot products are the scores (cosine-normalized for cosine
    tasks; for an item table, the query with a constant 1 appended and
    the candidate's row of the table)."""

    def __init__(self, model, task, side: str):
        self.task = task
        self.head = (model.get_layer(task.name) if task.item_softmax
                     else None)
        self.model = (None if self.head is not None and side == "candidate"
                      else tower_model(model, task, side))

    @property
    def trackables(self) -> list:
        """What an export must track for the tower's variables."""
        return [self.model if self.model is not None else self.head]

    def __call__(self, encoded: dict):
        if self.model is None:
            ids = ops.reshape(encoded[self.task.candidate_id], (-1,))
            return ops.take(self.head.item_vectors, ids, axis=0)
        vectors = ops.cast(self.model(encoded, training=False), "float32")
        if self.head is not None:
            return self.head.query_vectors(vectors)
        return normalize(vectors) if self.task.cosine else vectors


def _in_batches(tower: Tower, arrays: dict, batch_size: int) -> np.ndarray:
    """The tower's outputs, called eagerly batch by batch (a sub-model made
    per call would retrace `predict` every time)."""
    rows = len(next(iter(arrays.values())))
    return np.concatenate([
        np.asarray(tower({k: v[i:i + batch_size] for k, v in arrays.items()}))
        for i in range(0, rows, batch_size)]).astype(np.float32)


def candidate_vectors(model, catalogue_: catalogue_lib.Catalogue, *,
                      batch_size: int = 4096) -> np.ndarray:
    """`(candidates, dim)` vectors of the catalogue, in its order."""
    return _in_batches(Tower(model, catalogue_.task, "candidate"),
                       catalogue_lib.encoded_candidate_rows(model, catalogue_), batch_size)


def query_vectors(model, frame: pd.DataFrame, task: str | None = None, *,
                  batch_size: int = 4096) -> np.ndarray:
    """`(rows, dim)` query vectors of `frame`'s rows (raw columns)."""
    task = catalogue_lib.retrieval_task(model.tasks, task)
    return _in_batches(Tower(model, task, "query"),
                       data_lib.encoded_arrays(frame, model.features),
                       batch_size)
