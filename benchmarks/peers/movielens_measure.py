"""What both sides of the MovieLens retrieval comparison measure the same
way (standard library and NumPy only: it runs in the peers' venvs too)."""

from __future__ import annotations

import numpy as np

#: The TFRS multitask tutorial's settings.
BATCH_SIZE = 8192
EPOCHS = 3
KS = (1, 10, 50, 100)


def load(folder) -> dict:
    """The prepared split: train and test columns, and every movie id."""
    with np.load(f"{folder}/split.npz", allow_pickle=False) as arrays:
        data = {k: arrays[k] for k in arrays.files}
    split = {side: {"user_id": data[f"{side}_user_id"],
                    "movie_id": data[f"{side}_movie_id"],
                    "rating": data[f"{side}_rating"]}
             for side in ("train", "test")}
    split["movies"] = data["movies"]
    return split


def epochs_rate(rows: int, seconds: list[float]) -> float:
    """Examples/s over the epochs after the first (which traces)."""
    timed = seconds[1:] or seconds
    return rows * len(timed) / sum(timed)


def rmse(labels, predictions) -> float:
    errors = np.asarray(predictions, np.float64).reshape(-1) - labels
    return float(np.sqrt(np.mean(errors ** 2)))


def hit_rates(queries, candidates, positives, ks=KS) -> dict:
    """Share of queries whose own movie is among the k best scored of all
    movies (ties count against it), for each k."""
    hits = {k: 0 for k in ks}
    for start in range(0, len(queries), 2048):
        scores = queries[start:start + 2048] @ candidates.T
        rows = np.arange(len(scores))
        own = scores[rows, positives[start:start + 2048]]
        rank = (scores >= own[:, None]).sum(axis=1) - 1
        for k in ks:
            hits[k] += int((rank < k).sum())
    return {f"hit_rate_at_{k}": hits[k] / len(queries) for k in ks}
