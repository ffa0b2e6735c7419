"""Synthetic impression logs with known ground truth.

`impressions` simulates users seeing items: a click depends on the affinity
between user and item latent vectors and on the device; a conversion
follows a click with a probability that also falls with price; watch time
grows with affinity; each user's interest category is the category closest
to their taste. The true click and conversion probabilities are returned
with the data, so the best achievable AUC is known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtzoo import tasks as tasks_lib
from mtzoo.features import CategoricalFeature
from mtzoo.features import MultiCategoricalFeature
from mtzoo.features import NumericFeature
from mtzoo.features import VectorFeature

GENRES = ("action", "comedy", "drama", "horror", "romance", "scifi",
          "documentary", "animation", "thriller", "music")
DEVICES = ("ios", "android", "web", "tv")
TEXT_DIM = 8
HISTORY_LENGTH = 5


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def impressions(
    num_rows: int = 20_000,
    *,
    num_users: int = 1_000,
    num_items: int = 500,
    num_categories: int = 6,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulated impressions with click, conversion, watch time and interest.

    Args:
        num_rows: int. Number of impressions.
        num_users: int. Number of users.
        num_items: int. Number of items.
        num_categories: int. Number of interest categories (the classes of
            the `interest` label).
        seed: int. The same seed gives the same data.

    Returns:
        A DataFrame with feature columns `user_id` (string), `item_id`
        (int), `device` (string), `age` (float, some missing), `price`
        (float, heavy-tailed), `genres` (list of strings), `recent_items`
        (list of item ids), `item_text` (vector of 8 floats); label columns
        `click`, `conversion` (1 only after a click), `watch_time` (minutes)
        and `interest` (class id); and the true probabilities `p_click` and
        `p_conversion` (click and convert).
    """
    rng = np.random.default_rng(seed)
    latent = 4
    user_taste = rng.normal(size=(num_users, latent))
    item_style = rng.normal(size=(num_items, latent))
    category_style = rng.normal(size=(num_categories, latent))
    affinity_matrix = user_taste @ item_style.T / np.sqrt(latent)

    item_genres = []
    genre_style = rng.normal(size=(len(GENRES), latent))
    genre_scores = item_style @ genre_style.T
    for i in range(num_items):
        count = rng.integers(1, 4)
        top = np.argsort(-genre_scores[i])[:count]
        item_genres.append([GENRES[g] for g in top])
    item_price = np.round(rng.lognormal(mean=3.0, sigma=1.0,
                                        size=num_items), 2)
    text_projection = rng.normal(size=(latent, TEXT_DIM))
    item_text = (item_style @ text_projection
                 + 0.3 * rng.normal(size=(num_items, TEXT_DIM)))

    user_age = rng.integers(16, 75, size=num_users).astype(float)
    user_age[rng.random(num_users) < 0.1] = np.nan
    user_interest = np.argmax(user_taste @ category_style.T, axis=1)
    # Each user's history: items drawn in proportion to their appeal.
    preference = np.exp(2.0 * affinity_matrix)
    preference /= preference.sum(axis=1, keepdims=True)
    histories = [rng.choice(num_items, size=HISTORY_LENGTH, replace=False,
                            p=preference[u]).tolist()
                 for u in range(num_users)]

    users = rng.integers(num_users, size=num_rows)
    items = rng.integers(num_items, size=num_rows)
    devices = rng.integers(len(DEVICES), size=num_rows)
    device_bias = np.array([0.3, 0.0, -0.4, -0.8])
    affinity = affinity_matrix[users, items]

    p_click = _sigmoid(1.5 * affinity + device_bias[devices] - 1.0)
    click = rng.random(num_rows) < p_click
    log_price = np.log(item_price[items])
    p_convert = _sigmoid(1.2 * affinity - 0.8 * (log_price - 3.0) - 0.5)
    conversion = click & (rng.random(num_rows) < p_convert)
    interest = user_interest[users]
    noisy = rng.random(num_rows) < 0.15  # what a user browses varies
    interest[noisy] = rng.integers(num_categories, size=int(noisy.sum()))
    watch_time = np.maximum(
        0.0, 10.0 + 6.0 * affinity + 2.0 * rng.normal(size=num_rows))

    return pd.DataFrame({
        "user_id": [f"u{u}" for u in users],
        "item_id": items.astype(np.int64),
        "device": [DEVICES[d] for d in devices],
        "age": user_age[users],
        "price": item_price[items],
        "genres": [item_genres[i] for i in items],
        "recent_items": [histories[u] for u in users],
        "item_text": [item_text[i].astype(np.float32) for i in items],
        "click": click.astype(np.float32),
        "conversion": conversion.astype(np.float32),
        "watch_time": watch_time.astype(np.float32),
        "interest": interest.astype(np.int64),
        "p_click": p_click,
        "p_conversion": p_click * p_convert,
    })


def impression_features(embedding_dim: int = 8) -> list:
    """Feature specs for `impressions`: every kind of feature mtzoo has.

    `item_id` and `recent_items` share one embedding table.
    """
    return [
        CategoricalFeature("user_id", dtype="string",
                           embedding_dim=embedding_dim),
        CategoricalFeature("item_id", dtype="int64",
                           embedding_dim=embedding_dim,
                           embedding_table="item"),
        CategoricalFeature("device", dtype="string", embedding_dim=4),
        NumericFeature("age", missing_indicator=True),
        NumericFeature("price", log_transform=True),
        MultiCategoricalFeature("genres", dtype="string", embedding_dim=4),
        MultiCategoricalFeature("recent_items", dtype="int64",
                                embedding_dim=embedding_dim,
                                embedding_table="item"),
        VectorFeature("item_text", dim=TEXT_DIM),
    ]


def impression_tasks(num_categories: int = 6) -> list:
    """A binary, a regression and a multiclass task on `impressions`."""
    return [
        tasks_lib.binary("click"),
        tasks_lib.regression("watch_time", loss="huber"),
        tasks_lib.multiclass("interest", num_classes=num_categories),
    ]


def funnel_tasks() -> list:
    """The click -> conversion funnel on `impressions`, for AITM."""
    return [tasks_lib.binary("click"), tasks_lib.binary("conversion")]


def retrieval_tasks() -> list:
    """Which item the user was shown (retrieval over the item catalogue)
    beside the impression tasks, for two-tower models."""
    return [tasks_lib.retrieval(
        "item", candidate_features=["item_id", "genres", "price",
                                    "item_text"])] + impression_tasks()


def tasks_for(architecture: str) -> list:
    """The tasks each registered architecture is shown with on
    `impressions`: AITM and ESMM the funnel, two towers retrieval beside
    the impression tasks, the others the impression tasks."""
    return {"aitm": funnel_tasks, "esmm": esmm_tasks,
            "two_tower": retrieval_tasks}.get(architecture,
                                              impression_tasks)()


def esmm_tasks() -> list:
    """ESMM's CTR and CTCVR tasks on `impressions`."""
    return [tasks_lib.binary("ctr", label="click"),
            tasks_lib.binary("ctcvr", label="conversion")]


def task_correlation(
    num_rows: int = 10_000,
    *,
    correlation: float = 0.5,
    input_dim: int = 100,
    num_sinusoids: int = 10,
    scale: float = 1.0,
    noise_std: float = 0.1,
    alphas=None,
    betas=None,
    seed: int = 0,
) -> pd.DataFrame:
    """Two regression tasks with a chosen correlation (the MMoE paper's data).

    Following Ma et al. (2018), section 3.2: two orthogonal unit vectors
    `u1, u2` give task weights `w1 = c u1` and
    `w2 = c (p u1 + sqrt(1 - p^2) u2)`, whose cosine similarity is the
    chosen `correlation` p; inputs `x ~ N(0, I)`; labels
    `y_t = w_t . x + sum_i sin(alpha_i w_t . x + beta_i) + noise`.
    The paper does not publish alpha and beta; unless given, they are drawn
    from a standard normal distribution with the seed, the same for both
    tasks. The noise is N(0, 0.01), i.e. a standard deviation of 0.1, unless
    `noise_std` says otherwise.

    Args:
        num_rows: int. Number of examples.
        correlation: float in [-1, 1]. Cosine similarity of the weights.
        input_dim: int. Size of `x` (100 in the paper).
        num_sinusoids: int. The paper's m (10).
        scale: float. The paper's c (1).
        noise_std: float. Standard deviation of the label noise.
        alphas: the `num_sinusoids` frequencies alpha_i (e.g.
            `range(1, 11)`). Defaults to standard normal draws.
        betas: the `num_sinusoids` phases beta_i (e.g. `(i - 1) ** 2`).
            Defaults to standard normal draws.
        seed: int. The same seed gives the same data (and the same alpha,
            beta, u1, u2 for every correlation).

    Returns:
        A DataFrame with a vector column `x` and label columns `y1`, `y2`.
        Use `task_correlation_specs()` for its features and tasks.

    References:
        - [Ma et al., 2018](https://doi.org/10.1145/3219819.3220007),
          section 3.2.
    """
    if not -1 <= correlation <= 1:
        raise ValueError(f"`correlation` must be in [-1, 1]. Received: "
                         f"correlation={correlation!r}")
    if input_dim < 2:
        raise ValueError(f"`input_dim` must be >= 2. Received: "
                         f"input_dim={input_dim!r}")
    structure = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(structure.normal(size=(input_dim, 2)))
    u1, u2 = basis[:, 0], basis[:, 1]
    drawn_alphas = structure.normal(size=num_sinusoids)
    drawn_betas = structure.normal(size=num_sinusoids)
    alphas = drawn_alphas if alphas is None else _sinusoid_parameters(
        alphas, num_sinusoids, "alphas")
    betas = drawn_betas if betas is None else _sinusoid_parameters(
        betas, num_sinusoids, "betas")
    w1 = scale * u1
    w2 = scale * (correlation * u1 + np.sqrt(1 - correlation ** 2) * u2)
    rng = np.random.default_rng([seed, 1])
    x = rng.normal(size=(num_rows, input_dim))

    def label(w):
        dot = x @ w
        waves = np.sin(np.outer(dot, alphas) + betas).sum(axis=1)
        return dot + waves + noise_std * rng.normal(size=num_rows)

    return pd.DataFrame({
        "x": list(x.astype(np.float32)),
        "y1": label(w1).astype(np.float32),
        "y2": label(w2).astype(np.float32),
    })


def _sinusoid_parameters(values, count: int, name: str) -> np.ndarray:
    values = np.asarray(list(values), dtype=np.float64)
    if values.shape != (count,):
        raise ValueError(f"`{name}` needs num_sinusoids = {count} values. "
                         f"Received {values.size}.")
    return values


def task_correlation_specs(input_dim: int = 100) -> tuple[list, list]:
    """Features and tasks of `task_correlation` data."""
    return ([VectorFeature("x", dim=input_dim)],
            [tasks_lib.regression("y1"), tasks_lib.regression("y2")])
