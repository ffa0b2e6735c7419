"""The candidates of a retrieval task and their sampling probabilities."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from mtzoo import data as data_lib
from mtzoo import features as features_lib
from mtzoo import tasks as tasks_lib
from mtzoo.features import DataError


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

    task: tasks_lib.RetrievalTask
    frame: pd.DataFrame
    counts: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)


def retrieval_task(tasks, task: str | None = None
                   ) -> tasks_lib.RetrievalTask:
    """The retrieval task named `task` among `tasks` (the only one when
    None), with an error listing them."""
    retrieval = tasks_lib.retrieval_tasks(tasks_lib.validate(tasks))
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
    in `frame`, usually the training data (for a task trained at every
    position of a sequence, the items of those positions too: each was a
    target).

    Raises `DataError` naming the column when a candidate column is absent
    or the id column has no values.
    """
    task = retrieval_task(tasks, task)
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
    if task.sequence:
        present = _with_sequence_items(present, specs[task.sequence],
                                       id_column)
    counts = present[id_column].value_counts(sort=False)
    unique = present.drop_duplicates(subset=id_column)[columns]
    unique = unique.reset_index(drop=True)
    return Catalogue(task, unique, counts.reindex(unique[id_column])
                     .to_numpy(np.int64))


def _with_sequence_items(frame: pd.DataFrame, sequence,
                         id_column: str) -> pd.DataFrame:
    """`frame`'s candidate ids then the items of each row's sequence
    positions (its newest `max_length`), one id column."""
    items = [item for values in sequence.value_lists(frame)
             for item in values[-sequence.max_length:]]
    return pd.DataFrame({id_column: pd.concat(
        [frame[id_column], pd.Series(items, dtype=frame[id_column].dtype)],
        ignore_index=True)})


def encoded_candidate_rows(model, catalogue_: Catalogue) -> dict:
    """The catalogue's candidate features encoded, other features filled
    with placeholder values (the candidate tower does not read them)."""
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
    ids = encoded_candidate_rows(model, catalogue_)[task.candidate_id]
    probabilities = np.zeros(head.num_candidates, np.float64)
    np.add.at(probabilities, np.asarray(ids).reshape(-1),
              catalogue_.counts / catalogue_.counts.sum())
    head.set_sampling_probabilities(probabilities)
    return probabilities

