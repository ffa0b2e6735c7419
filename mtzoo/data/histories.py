"""Behaviour histories from an event table, without leakage: each row's
history holds the user's items of events strictly before the row's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtzoo.features import DataError


def add_histories(frame: pd.DataFrame, *, user: str, item: str, time: str,
                  length: int, column: str = "history",
                  where: str | None = None) -> pd.DataFrame:
    """`frame` with `column`: for each row, the items of the same user's
    events strictly earlier than the row's `time`, oldest first and newest
    last, at most the newest `length` of them; with `where` (a 0/1
    column), only of the events where it is 1 (the items a user liked).

    Events at the same time as the row (ties) are not in its history,
    whatever their order in the table: their order is unknown, and one of
    them may be the very event the row describes. Rows keep their order.

    Raises:
        DataError: a missing column, or a missing user, item or time.
    """
    if not isinstance(length, int) or isinstance(length, bool) or length < 1:
        raise ValueError(f"`length` must be a positive integer. Received: "
                         f"length={length!r}")
    for name in (user, item, time):
        if name not in frame.columns:
            raise DataError(f"Histories need column '{name}'; the table "
                            f"has {list(frame.columns)}.")
        if frame[name].isna().any():
            position = int(np.flatnonzero(frame[name].isna().to_numpy())[0])
            raise DataError(f"Histories need a value in column '{name}' on "
                            f"every row; row {position} has none.")
    histories = np.empty(len(frame), dtype=object)
    order = np.lexsort((frame[time].to_numpy(), frame[user].to_numpy()))
    users = frame[user].to_numpy()[order]
    times = frame[time].to_numpy()[order]
    items = frame[item].to_numpy()[order]
    kept = (np.ones(len(order), bool) if where is None
            else frame[where].to_numpy()[order] == 1)
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    ends = np.r_[starts[1:], len(order)]
    for start, end in zip(starts, ends):
        user_times = times[start:end]
        user_kept = kept[start:end]
        user_items = items[start:end][user_kept].tolist()
        # Events before each row: those strictly earlier than its time
        # (counted among the kept ones).
        earlier = np.searchsorted(user_times, user_times, side="left")
        kept_before = np.r_[0, np.cumsum(user_kept)][earlier]
        for offset, count in enumerate(kept_before):
            histories[order[start + offset]] = user_items[
                max(0, count - length):count]
    out = frame.copy()
    out[column] = histories
    return out


def with_histories(frame: pd.DataFrame, *, user: str, item: str, time: str,
                   value: str, length: int) -> pd.DataFrame:
    """`frame` with `history` (the user's newest `length` items before
    each row) and `<value>_history` (what they gave those items, e.g. the
    ratings), both from `add_histories`."""
    for column, source in (("history", item), (f"{value}_history", value)):
        frame = add_histories(frame, user=user, item=source, time=time,
                              length=length, column=column)
    return frame


def history_specs(item_feature: str, *, length: int, value: str,
                  pooling: str = "mean", embedding_dim: int = 16) -> list:
    """The specs of `with_histories`' columns: the past items through
    `item_feature`'s table, pooled by `pooling` (target attention against
    `item_feature`), and the values they were given, pooled by mean (how
    lenient a user is, which a new user's id cannot say)."""
    from mtzoo import features as features_lib

    return [
        features_lib.SequenceFeature(
            "history", embedding_table=item_feature,
            embedding_dim=embedding_dim, max_length=length, pooling=pooling,
            target=item_feature if pooling == "target_attention" else None),
        features_lib.SequenceFeature(
            f"{value}_history", dtype="int64", embedding_dim=4,
            max_length=length, pooling="mean")]


def sequence_windows(frame: pd.DataFrame, *, user: str, time: str,
                     length: int) -> np.ndarray:
    """Which rows to train next-item prediction at every position on
    (`mtzoo.tasks.next_item(sequence=...)`): each user's newest row, then
    every `length`-th row before it, so that the windows of `length`
    positions their histories hold cover each of the user's events once.
    Boolean, in `frame`'s row order."""
    if length < 1:
        raise ValueError(f"`length` must be a positive integer. "
                         f"Received: length={length!r}")
    order = frame.reset_index(drop=True).sort_values(time, kind="stable")
    later = order.groupby(user, sort=False).cumcount(ascending=False)
    chosen = np.zeros(len(frame), bool)
    chosen[later.index.to_numpy()] = (later.to_numpy() % length) == 0
    return chosen
