"""Retrieval over the whole catalogue: the candidates, their sampling
probabilities, query and candidate vectors, and recall / NDCG at k."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pandas as pd
from keras import ops

from mtzoo import features as features_lib
from mtzoo import tasks as tasks_lib
from mtzoo.features import DataError
from mtzoo.layers.retrieval_head import normalize


@dataclasses.dataclass
class Catalogue:
    """Every candidate of a retrieval task once.

    Attributes:
        task: the retrieval task.
        frame: one row per candidate, with the columns of the task's
            candidate features (the id column first), in order of first
            appearance.
        counts: how many rows of the data each candidate appeared in.
    """

    task: tasks_lib.Task
    frame: pd.DataFrame
    counts: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)


def _retrieval_task(tasks, task) -> tasks_lib.Task:
    tasks = tasks_lib.validate(tasks)
    retrieval = [t for t in tasks if t.kind == tasks_lib.RETRIEVAL]
    if task is None:
        if len(retrieval) != 1:
            raise ValueError(
                f"Name the retrieval task: the model has "
                f"{[t.name for t in retrieval]}.")
        return retrieval[0]
    found = [t for t in retrieval if t.name == task]
    if not found:
        raise ValueError(f"No retrieval task named {task!r}; retrieval "
                         f"tasks: {[t.name for t in retrieval]}.")
    return found[0]


def catalogue(frame: pd.DataFrame, features, tasks, task: str | None = None
              ) -> Catalogue:
    """The candidates of `task` (the only retrieval task when None) found
    in `frame`, usually the training data.

    Raises `DataError` naming the column when a candidate column is absent
    or the id column has no values.
    """
    task = _retrieval_task(tasks, task)
    specs = {f.name: f for f in features_lib.validate(features)}
    columns = list(dict.fromkeys(specs[n].source
                                 for n in task.candidate_features))
    for column in columns:
        features_lib.base.require_column(frame, column,
                                         f"Retrieval task '{task.name}'")
    id_column = columns[0]
    present = frame[frame[id_column].notna()]
    if present.empty:
        raise DataError(f"Retrieval task '{task.name}': column "
                        f"'{id_column}' has no candidate ids.")
    counts = present[id_column].value_counts(sort=False)
    unique = present.drop_duplicates(subset=id_column)[columns]
    unique = unique.reset_index(drop=True)
    return Catalogue(task, unique, counts.reindex(unique[id_column])
                     .to_numpy(np.int64))


def _encoded_candidate_rows(model, catalogue_: Catalogue) -> dict:
    """The catalogue's candidate features encoded, other features filled
    with placeholder values (the candidate tower does not read them)."""
    from mtzoo import data as data_lib

    specs = model.features
    candidate = set(catalogue_.task.candidate_features)
    encoded = data_lib.encoded_arrays(
        catalogue_.frame, [s for s in specs if s.name in candidate])
    rows = len(catalogue_)
    for spec in specs:
        if spec.name not in encoded:
            encoded[spec.name] = np.zeros((rows, *spec.encoded_shape()),
                                          spec.encoded_dtype())
    return encoded


def set_sampling_probabilities(model, catalogue_: Catalogue) -> np.ndarray:
    """Sets each candidate's sampling probability (its share of the rows
    counted in `catalogue_`) for the log Q correction of the model's
    retrieval task; returns the probabilities by candidate id row."""
    task = catalogue_.task
    head = model.get_layer(task.name)
    ids = _encoded_candidate_rows(model, catalogue_)[task.candidate_id]
    probabilities = np.zeros(head.num_candidates, np.float64)
    np.add.at(probabilities, np.asarray(ids).reshape(-1),
              catalogue_.counts / catalogue_.counts.sum())
    head.set_sampling_probabilities(probabilities)
    return probabilities


def tower_model(model, task, side: str) -> keras.Model:
    """The model's `side` ("query" or "candidate") tower of retrieval task
    `task`: every encoded input in, its vectors out (before any cosine
    normalization)."""
    return keras.Model(model.inputs,
                       model.get_layer(f"{side}_embedding_{task.name}").output,
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


def candidate_vectors(model, catalogue_: Catalogue, *,
                      batch_size: int = 4096) -> np.ndarray:
    """`(candidates, dim)` vectors of the catalogue, in its order."""
    return _in_batches(Tower(model, catalogue_.task, "candidate"),
                       _encoded_candidate_rows(model, catalogue_), batch_size)


def query_vectors(model, frame: pd.DataFrame, task: str | None = None, *,
                  batch_size: int = 4096) -> np.ndarray:
    """`(rows, dim)` query vectors of `frame`'s rows (raw columns)."""
    from mtzoo import data as data_lib

    task = _retrieval_task(model.tasks, task)
    return _in_batches(Tower(model, task, "query"),
                       data_lib.encoded_arrays(frame, model.features),
                       batch_size)


def evaluate(model, frame: pd.DataFrame, catalogue_: Catalogue, *,
             ks=None, batch_size: int = 1024) -> dict:
    """Recall (hit rate) and NDCG at each k over the whole catalogue.

    Each row of `frame` with a candidate id is a query whose one relevant
    candidate is its own; every candidate of `catalogue_` is scored. A
    candidate absent from the catalogue counts as a miss. Uses keras-rs's
    `RecallAtK` and `NDCG`.

    Returns:
        `{"recall_at_10": ..., "ndcg_at_10": ..., "queries": n,
        "candidates": m}` for each k of `ks` (default: the task's).
    """
    import keras_rs

    task = catalogue_.task
    ks = tuple(ks or task.ks)
    id_column = catalogue_.frame.columns[0]
    rows = frame[frame[id_column].notna()].reset_index(drop=True)
    if rows.empty:
        raise DataError(f"Retrieval task '{task.name}': no row of the "
                        f"evaluation data has a '{id_column}'.")
    index = {value: i for i, value in enumerate(catalogue_.frame[id_column])}
    positives = np.array([index.get(v, -1) for v in rows[id_column]])
    candidates = candidate_vectors(model, catalogue_)
    queries = query_vectors(model, rows, task.name)
    metrics = {}
    for k in ks:
        metrics[f"recall_at_{k}"] = keras_rs.metrics.RecallAtK(k=k)
        metrics[f"ndcg_at_{k}"] = keras_rs.metrics.NDCG(k=k)
    for start in range(0, len(rows), batch_size):
        scores = queries[start:start + batch_size] @ candidates.T
        relevance = np.zeros_like(scores)
        chunk = positives[start:start + batch_size]
        found = chunk >= 0
        relevance[np.flatnonzero(found), chunk[found]] = 1.0
        for metric in metrics.values():
            metric.update_state(relevance, scores)
    # keras-rs averages over every query: one whose candidate is not in
    # the catalogue scores 0.
    result = {name: float(metric.result()) for name, metric in
              metrics.items()}
    result.update({"queries": int(len(rows)),
                   "candidates": int(len(candidates)),
                   "queries_with_candidate_in_catalogue": float(
                       (positives >= 0).mean())})
    return result
