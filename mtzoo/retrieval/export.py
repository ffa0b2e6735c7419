"""Retrieval signatures of an exported model: query and candidate vectors
from raw features, and the top k candidates of the whole catalogue."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from mtzoo import tasks as tasks_lib
from mtzoo.keras_rs_import import keras_rs
from mtzoo.layers import FeaturePreprocessor
from mtzoo.retrieval import vectors

QUERY_SIGNATURE = "query_embedding"
CANDIDATE_SIGNATURE = "candidate_embedding"
TOP_K_SIGNATURE = "top_k"
EXCLUDING_SIGNATURE = "top_k_excluding"
UNSEEN_SIGNATURE = "top_k_unseen"
#: The input of `top_k_excluding` naming candidates not to return.
EXCLUDE_INPUT = "exclude"


def signature_names(task, retrieval_tasks) -> dict[str, str]:
    """The signatures of `task`: plain names when it is the model's only
    retrieval task, suffixed with its name otherwise."""
    suffix = "" if len(retrieval_tasks) == 1 else f"_{task.name}"
    return {side: f"{name}{suffix}" for side, name in (
        ("query", QUERY_SIGNATURE), ("candidate", CANDIDATE_SIGNATURE),
        ("top_k", TOP_K_SIGNATURE), ("excluding", EXCLUDING_SIGNATURE),
        ("unseen", UNSEEN_SIGNATURE))}


class _Side:
    """One tower from raw features of its side: their preprocessing, then
    the tower, with placeholder values for the other side's inputs (which
    the tower does not read)."""

    def __init__(self, model, task, names, side: str):

        self.specs = [s for s in model.features if s.name in names]
        self.others = [s for s in model.features if s.name not in names]
        self.preprocessor = FeaturePreprocessor(self.specs,
                                                name=f"{side}_{task.name}")
        self.tower = vectors.Tower(model, task, side)

    def input_signature(self, signature: dict) -> dict:
        return {s.name: signature[s.name] for s in self.specs}

    def __call__(self, raw: dict):
        encoded = dict(self.preprocessor(raw))
        batch = tf.shape(next(iter(encoded.values())))[0]
        for spec in self.others:
            encoded[spec.name] = tf.zeros(
                tf.concat([[batch], tf.constant(spec.encoded_shape(),
                                                tf.int32)], 0),
                spec.encoded_dtype())
        return self.tower(encoded)


def embed(side: _Side):
    """The endpoint of one tower: raw features in, `embedding` out."""
    return lambda features: {"embedding": side(features)}


def _top_k(query: _Side, index, ids):
    """The endpoint of the catalogue search: `ids` and `scores`, best
    first."""
    def top_k(features):
        scores, rows = index(query(features))
        return {"ids": tf.gather(ids, rows), "scores": scores}
    return top_k


class _CatalogueRows(tf.Module):
    """Candidate id -> row of the catalogue (-1 for ids outside it)."""

    def __init__(self, ids):
        super().__init__()
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                ids, tf.range(tf.shape(ids)[0], dtype=tf.int64)),
            default_value=-1)


def _masked_top_k(query: _Side, index, ids, rows: _CatalogueRows,
                  excluded_ids):
    """`top_k` that never returns the candidates `excluded_ids(features)`
    names (`[batch, n]`; ids outside the catalogue, such as padding, are
    ignored)."""
    def top_k(features):
        features = dict(features)
        exclude = excluded_ids(features)
        scores = index.compute_score(query(features),
                                     index.candidate_embeddings)
        excluded = rows.table.lookup(exclude)
        batch = tf.broadcast_to(
            tf.range(tf.shape(exclude, out_type=tf.int64)[0])[:, None],
            tf.shape(excluded, out_type=tf.int64))
        known = excluded >= 0
        positions = tf.stack([tf.boolean_mask(batch, known),
                              tf.boolean_mask(excluded, known)], axis=1)
        scores = tf.tensor_scatter_nd_update(
            scores, positions,
            tf.fill(tf.shape(positions)[:1], tf.float32.min))
        best = tf.math.top_k(scores, k=index.k)
        return {"ids": tf.gather(ids, best.indices), "scores": best.values}
    return top_k


def _top_k_excluding(query, index, ids, rows):
    """Excludes the candidates of the `exclude` input (e.g. the items the
    user has already seen; pad rows with an id outside the catalogue)."""
    return _masked_top_k(query, index, ids, rows,
                         lambda features: features.pop(EXCLUDE_INPUT))


def _top_k_unseen(query, index, ids, rows, history: str):
    """Excludes the items of the query's own history feature (raw ids,
    as the query takes them)."""
    return _masked_top_k(query, index, ids, rows,
                         lambda features: tf.convert_to_tensor(
                             features[history]))


def add_endpoints(archive, model, catalogues: dict, signature: dict, *,
                  k: int = 100) -> list[str]:
    """Adds each retrieval task's signatures to a
    `mtzoo.serving_archive.ServingArchive`; returns their names.

    Args:
        archive: the archive being written.
        model: the trained mtzoo model.
        catalogues: dict task name -> `mtzoo.retrieval.Catalogue`, whose
            candidates `top_k` searches (embedded now, stored in the
            SavedModel).
        signature: the raw input specs of `serving_default`, by feature.
        k: candidates `top_k` returns (at most the catalogue's size).
    """
    retrieval_tasks = tasks_lib.retrieval_tasks(model.tasks)
    missing = [t.name for t in retrieval_tasks if t.name not in catalogues]
    if missing:
        raise ValueError(
            f"Retrieval tasks {missing} need a catalogue to export "
            f"`top_k`: pass catalogues={{name: mtzoo.retrieval.catalogue("
            f"train, features, tasks, name)}}.")
    names = []
    for task in retrieval_tasks:
        catalogue = catalogues[task.name]
        query = _Side(model, task, task.query_feature_names(
            [f.name for f in model.features]), "query")
        candidate = _Side(model, task, task.candidate_features, "candidate")
        index = keras_rs().layers.BruteForceRetrieval(
            candidate_embeddings=vectors.candidate_vectors(model, catalogue),
            k=min(k, len(catalogue)), return_scores=True,
            name=f"catalogue_{task.name}")
        ids = catalogue.frame.iloc[:, 0].to_numpy()
        ids = tf.constant(ids.astype(str) if ids.dtype == object
                          else ids.astype(np.int64))
        rows = _CatalogueRows(ids)
        for part in (query.preprocessor, *query.tower.trackables,
                     candidate.preprocessor, *candidate.tower.trackables,
                     index, rows):
            archive.track(part)
        signature_name = signature_names(task, retrieval_tasks)

        queries = [query.input_signature(signature)]
        archive.add_endpoint(signature_name["query"], embed(query), queries)
        archive.add_endpoint(signature_name["candidate"], embed(candidate),
                             [candidate.input_signature(signature)])
        archive.add_endpoint(signature_name["top_k"],
                             _top_k(query, index, ids), queries)
        archive.add_endpoint(
            signature_name["excluding"],
            _top_k_excluding(query, index, ids, rows),
            [{**queries[0], EXCLUDE_INPUT: tf.TensorSpec(
                [None, None], ids.dtype, name=EXCLUDE_INPUT)}])
        if task.exclude_seen:
            archive.add_endpoint(
                signature_name["unseen"],
                _top_k_unseen(query, index, ids, rows, task.exclude_seen),
                queries)
        else:
            del signature_name["unseen"]
        names += list(signature_name.values())
    return names
