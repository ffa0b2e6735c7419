"""Recall and NDCG at k of a retrieval task over the whole catalogue."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtzoo.features import DataError
from mtzoo.keras_rs_import import keras_rs
from mtzoo.retrieval import vectors
from mtzoo.retrieval.catalogues import Catalogue


def evaluate(model, frame: pd.DataFrame, catalogue_: Catalogue, *,
             ks=None, batch_size: int = 1024) -> dict:
    """Recall (hit rate) and NDCG at each k over the whole catalogue.

    Each row of `frame` with a candidate id is a query whose one relevant
    candidate is its own; every candidate of `catalogue_` is scored. A
    candidate absent from the catalogue counts as a miss. With the task's
    `exclude_seen`, each row's past items are left out of its ranking (but
    for its own candidate). Uses keras-rs's `RecallAtK` and `NDCG`.

    Returns:
        `{"recall_at_10": ..., "ndcg_at_10": ..., "queries": n,
        "candidates": m}` for each k of `ks` (default: the task's).
    """
    metrics_lib = keras_rs().metrics
    task = catalogue_.task
    ks = tuple(ks or task.ks)
    id_column = catalogue_.frame.columns[0]
    rows = frame[frame[id_column].notna()].reset_index(drop=True)
    if rows.empty:
        raise DataError(f"Retrieval task '{task.name}': no row of the "
                        f"evaluation data has a '{id_column}'.")
    index = {value: i for i, value in enumerate(catalogue_.frame[id_column])}
    positives = np.array([index.get(v, -1) for v in rows[id_column]])
    candidates = vectors.candidate_vectors(model, catalogue_)
    queries = vectors.query_vectors(model, rows, task.name)
    metrics = {}
    for k in ks:
        metrics[f"recall_at_{k}"] = metrics_lib.RecallAtK(k=k)
        metrics[f"ndcg_at_{k}"] = metrics_lib.NDCG(k=k)
    seen = _seen_positions(model, rows, task, index)
    for start in range(0, len(rows), batch_size):
        scores = queries[start:start + batch_size] @ candidates.T
        relevance = np.zeros_like(scores)
        chunk = positives[start:start + batch_size]
        if seen is not None:
            # Past items are not ranked, except the row's own candidate.
            for offset, positions in enumerate(seen[start:start + len(chunk)]):
                positions = positions[positions != chunk[offset]]
                scores[offset, positions] = np.finfo(scores.dtype).min
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


def _seen_positions(model, rows: pd.DataFrame, task, index: dict):
    """Per row, the catalogue positions of the items of the task's
    `exclude_seen` history (None without one)."""
    if not task.exclude_seen:
        return None
    spec = next(f for f in model.features if f.name == task.exclude_seen)
    return [np.array([index[v] for v in items if v in index], dtype=int)
            for items in spec.value_lists(rows)]


def popularity(frame: pd.DataFrame, catalogue_: Catalogue, *,
               ks=None) -> dict:
    """Recall and NDCG at each k of recommending every query the same
    list: the catalogue's candidates by how often they appeared (the
    baseline a retrieval model must beat)."""
    task = catalogue_.task
    ks = tuple(ks or task.ks)
    id_column = catalogue_.frame.columns[0]
    rows = frame[frame[id_column].notna()]
    order = np.argsort(-catalogue_.counts, kind="stable")
    rank = {value: r for r, value in enumerate(
        catalogue_.frame[id_column].to_numpy()[order])}
    ranks = np.array([rank.get(v, len(rank)) for v in rows[id_column]])
    result = {}
    for k in ks:
        hit = ranks < k
        result[f"recall_at_{k}"] = float(hit.mean()) if len(ranks) else None
        result[f"ndcg_at_{k}"] = float(np.where(
            hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean()) if len(ranks) \
            else None
    result["examples"] = int(len(ranks))
    return result
