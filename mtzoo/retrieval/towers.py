"""The query and candidate towers of retrieval tasks and their heads, as
architecture builders add them to a model."""

from __future__ import annotations

from typing import NamedTuple

import keras

from mtzoo import tasks as tasks_lib
from mtzoo.layers import MLP
from mtzoo.layers.feature_encoder import positions_key
from mtzoo.retrieval.item_softmax_head import ItemSoftmaxHead
from mtzoo.retrieval.next_item_head import NextItemHead
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
    if task.exclude_seen and not _past_items(
            task, features, task.exclude_seen,
            lambda spec: tuple(spec.encoded_shape()) != ()):
        raise ValueError(
            f"Retrieval task '{task.name}': exclude_seen='"
            f"{task.exclude_seen}' must name a query feature of past items "
            f"that reads the table of '{task.candidate_id}' (a "
            f"SequenceFeature with embedding_table="
            f"{candidate.embedding()[0]!r}).")
    _check_sequence(task, features)
    for name in task.query_feature_names(list(features)):
        target = features[name].attends_to()
        if target in task.candidate_features:
            raise ValueError(
                f"Retrieval task '{task.name}': query feature '{name}' "
                f"attends to candidate feature '{target}', so the query "
                f"vector would depend on the candidate and the catalogue "
                f"could not be scored from one query vector. Pool it with "
                f"'mean' or 'transformer' for retrieval.")


def _past_items(task, features: dict, name: str, kind_fits) -> bool:
    """Whether feature `name` is a query feature of the task that reads
    its candidates' table and that `kind_fits`."""
    spec = features.get(name)
    return (spec is not None and kind_fits(spec)
            and name in task.query_feature_names(list(features))
            and spec.embedding() is not None
            and spec.embedding()[0]
            == features[task.candidate_id].embedding()[0])


def _check_sequence(task, features: dict) -> None:
    """The sequence a task trains at every position is a transformer-pooled
    history of its candidates among its query features."""
    if not task.sequence:
        return
    candidate = features[task.candidate_id]
    if not _past_items(task, features, task.sequence,
                       lambda spec: spec.has_positions()):
        raise ValueError(
            f"Retrieval task '{task.name}': sequence='{task.sequence}' must "
            f"name a query feature that is a SequenceFeature with "
            f"pooling='transformer' and embedding_table="
            f"{candidate.embedding()[0]!r} (the items of "
            f"'{task.candidate_id}'), so each position can predict the "
            f"next item.")


def _regularizer(l2: float):
    return keras.regularizers.L2(l2) if l2 else None


def _side_by_side(parts: dict, names, name: str):
    if len(names) == 1:
        return parts[names[0]]
    return keras.layers.Concatenate(name=name)([parts[n] for n in names])


class Towers(NamedTuple):
    """What a retrieval task's towers give its head: one query vector per
    row, the candidate's vector, and (a task trained at every position of
    a sequence) the query vector of every position."""

    query: object
    candidate: object
    positions: object = None


def towers(parts: dict, features, task, *, units, activation, dropout,
           l2) -> Towers:
    """The query and candidate vectors of a retrieval task.

    Each tower is an MLP of `units` then a linear layer of
    `task.embedding_dim` over its features' encodings (`parts`, by
    feature). The query tower reads the query features only (never the
    candidate's, or it would score the candidate it was shown). A task
    whose candidates are rows of an item table (`task.item_softmax`) has
    no candidate tower: its candidate vector here is the id feature's
    embedding (for ranking heads that read the pair). A task trained at
    every position of `task.sequence` also runs the query tower at each.
    """
    def tower(side, x, name=None):
        x = MLP(units, activation=activation, dropout=dropout,
                kernel_regularizer=_regularizer(l2),
                name=f"{side}_tower_{task.name}")(x)
        return keras.layers.Dense(
            task.embedding_dim, kernel_regularizer=_regularizer(l2),
            name=name or f"{side}_embedding_{task.name}")(x)

    query_names = task.query_feature_names([f.name for f in features])
    if task.sequence:
        positions = tower("query", _every_position(parts, query_names, task),
                          name=f"query_positions_{task.name}")
        return Towers(_newest(positions, task), parts[task.candidate_id],
                      positions)
    query = tower("query", _side_by_side(parts, query_names,
                                         f"query_features_{task.name}"))
    if task.item_softmax:
        return Towers(query, parts[task.candidate_id])
    candidate = tower("candidate", _side_by_side(
        parts, list(task.candidate_features),
        f"candidate_features_{task.name}"))
    return Towers(query, candidate)


def _newest(positions, task):
    """The newest position's query vector (a sequence is right-aligned),
    for ranking heads that read it; `mtzoo.retrieval.Tower` reads it the
    same way."""
    newest = keras.layers.Cropping1D((positions.shape[1] - 1, 0),
                                     name=f"query_newest_{task.name}")(
        positions)
    return keras.layers.Flatten(name=f"query_vector_{task.name}")(newest)


def _every_position(parts: dict, names, task):
    """The query features at every position of `task.sequence`: its
    vectors, beside the other features' repeated."""
    states = parts[positions_key(task.sequence)]
    others = [n for n in names if n != task.sequence]
    if not others:
        return states
    length = states.shape[1]
    repeated = keras.layers.RepeatVector(
        length, name=f"query_context_{task.name}")(_side_by_side(
            parts, others, f"query_context_features_{task.name}"))
    return keras.layers.Concatenate(
        name=f"query_positions_features_{task.name}")([states, repeated])


def head(vectors: Towers, inputs, features, task):
    """The retrieval task's output, named after the task."""
    spec = next(f for f in features if f.name == task.candidate_id)
    rows = spec.embedding()[1]
    ids = inputs[task.candidate_id]
    if task.item_softmax:
        table = dict(num_sampled=task.sampled_rows,
                     temperature=task.temperature,
                     sampling_correction=task.sampling_correction,
                     remove_accidental_hits=task.remove_accidental_hits,
                     name=task.name)
        if task.sequence:
            return NextItemHead(
                rows, task.embedding_dim,
                positions_per_row=task.positions_per_row, **table)(
                [vectors.positions, inputs[task.sequence], ids])
        return ItemSoftmaxHead(rows, task.embedding_dim, **table)(
            [vectors.query, ids])
    return RetrievalHead(rows, cosine=task.cosine, name=task.name)(
        [vectors.query, vectors.candidate, ids])


def outputs(parts, inputs, features, tasks, *, units, activation, dropout,
            l2) -> dict:
    """Outputs of every retrieval task among `tasks`."""
    outputs_ = {}
    for task in tasks_lib.retrieval_tasks(tasks):
        vectors = towers(parts, features, task, units=units,
                         activation=activation, dropout=dropout, l2=l2)
        outputs_[task.name] = head(vectors, inputs, features, task)
    return outputs_
