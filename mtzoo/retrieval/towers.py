"""The query and candidate towers of retrieval tasks and their heads, as
architecture builders add them to a model."""

from __future__ import annotations

import keras

from mtzoo import tasks as tasks_lib
from mtzoo.layers import MLP
from mtzoo.retrieval.item_softmax_head import ItemSoftmaxHead
from mtzoo.retrieval.retrieval_head import RetrievalHead


def check_features(task, features: dict) -> None:
    """Checks the features a retrieval task names against the model's
    (`features`: specs by name)."""
    unknown = [n for n in (*task.candidate_features,
                           *(task.query_features or ()))
               if n not in features]
    if unknown:
        raise ValueError(
            f"Retrieval task '{task.name}' names features {unknown} that "
            f"are not among the model's features {sorted(features)}.")
    candidate = features[task.candidate_id]
    if candidate.embedding() is None or tuple(
            candidate.encoded_shape()) != ():
        raise ValueError(
            f"Retrieval task '{task.name}': the first candidate feature, "
            f"'{task.candidate_id}', must be a single-valued categorical "
            f"feature (the candidate's id).")
    if not task.query_feature_names(list(features)):
        raise ValueError(
            f"Retrieval task '{task.name}' leaves no feature for the query "
            f"tower; set `query_features` or add user/context features.")
    seen = features.get(task.exclude_seen) if task.exclude_seen else None
    if task.exclude_seen and (
            seen is None or task.exclude_seen not in
            task.query_feature_names(list(features))
            or seen.embedding() is None or tuple(seen.encoded_shape()) == ()
            or seen.embedding()[0] != candidate.embedding()[0]):
        raise ValueError(
            f"Retrieval task '{task.name}': exclude_seen='"
            f"{task.exclude_seen}' must name a query feature of past items "
            f"that reads the table of '{task.candidate_id}' (a "
            f"SequenceFeature with embedding_table="
            f"{candidate.embedding()[0]!r}).")
    for name in task.query_feature_names(list(features)):
        target = features[name].attends_to()
        if target in task.candidate_features:
            raise ValueError(
                f"Retrieval task '{task.name}': query feature '{name}' "
                f"attends to candidate feature '{target}', so the query "
                f"vector would depend on the candidate and the catalogue "
                f"could not be scored from one query vector. Pool it with "
                f"'mean' or 'transformer' for retrieval.")


def _regularizer(l2: float):
    return keras.regularizers.L2(l2) if l2 else None


def _side_by_side(parts: dict, names, name: str):
    if len(names) == 1:
        return parts[names[0]]
    return keras.layers.Concatenate(name=name)([parts[n] for n in names])


def towers(parts: dict, features, task, *, units, activation, dropout, l2):
    """The query and candidate vectors of a retrieval task.

    Each tower is an MLP of `units` then a linear layer of
    `task.embedding_dim` over its features' encodings (`parts`, by
    feature). The query tower reads the query features only (never the
    candidate's, or it would score the candidate it was shown). A task
    whose candidates are rows of an item table (`task.item_softmax`) has
    no candidate tower: its candidate vector here is the id feature's
    embedding (for ranking heads that read the pair).
    """
    def tower_over(feature_names, side):
        x = _side_by_side(parts, feature_names,
                          f"{side}_features_{task.name}")
        x = MLP(units, activation=activation, dropout=dropout,
                kernel_regularizer=_regularizer(l2),
                name=f"{side}_tower_{task.name}")(x)
        return keras.layers.Dense(
            task.embedding_dim, kernel_regularizer=_regularizer(l2),
            name=f"{side}_embedding_{task.name}")(x)

    query = tower_over(
        task.query_feature_names([f.name for f in features]), "query")
    if task.item_softmax:
        return query, parts[task.candidate_id]
    return query, tower_over(list(task.candidate_features), "candidate")


def head(query, candidate, inputs, features, task):
    """The retrieval task's output, named after the task."""
    spec = next(f for f in features if f.name == task.candidate_id)
    rows = spec.embedding()[1]
    ids = inputs[task.candidate_id]
    if task.item_softmax:
        return ItemSoftmaxHead(
            rows, task.embedding_dim, num_sampled=task.sampled_rows,
            temperature=task.temperature,
            sampling_correction=task.sampling_correction,
            remove_accidental_hits=task.remove_accidental_hits,
            name=task.name)([query, ids])
    return RetrievalHead(rows, cosine=task.cosine,
                         name=task.name)([query, candidate, ids])


def outputs(parts, inputs, features, tasks, *, units, activation, dropout,
            l2) -> dict:
    """Outputs of every retrieval task among `tasks`."""
    outputs_ = {}
    for task in tasks_lib.retrieval_tasks(tasks):
        query, candidate = towers(parts, features, task, units=units,
                                  activation=activation, dropout=dropout,
                                  l2=l2)
        outputs_[task.name] = head(query, candidate, inputs, features, task)
    return outputs_
