"""Amazon product reviews (the 5-core Musical Instruments set): rating,
liked and helpful from users, items and review text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtzoo import catalog
from mtzoo import features as features_lib
from mtzoo import tasks as tasks_lib
from mtzoo.data import sources
from mtzoo.data.histories import history_specs
from mtzoo.data.histories import with_histories
from mtzoo.data.datasets.bundle import DatasetBundle
from mtzoo.features import DataError

FILES = ["reviews_Musical_Instruments_5.json.gz"]
#: Fields of a review record the loader reads.
FIELDS = ("reviewerID", "asin", "reviewText", "summary", "overall",
          "helpful", "unixReviewTime")
#: `--text-encoder` settings: no text, a trained bag of words, MiniLM.
TEXT_ENCODERS = catalog.TEXT_ENCODERS


def read_reviews(path, max_rows: int | None = None) -> pd.DataFrame:
    """One row per review, from the JSON-lines file (gzipped)."""
    frame = pd.read_json(path, lines=True, nrows=max_rows,
                         dtype={"reviewerID": str, "asin": str})
    absent = [c for c in FIELDS if c not in frame.columns]
    if absent:
        raise DataError(f"'{path}' lacks review fields {absent}; expected "
                        f"records with {list(FIELDS)}.")
    return frame


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Labels and text columns.

    `rating` is the star rating (1-5); `liked` is rating >= 4; `helpful`
    is whether at least half of the votes on the review found it helpful,
    missing (NaN) when nobody voted. Missing text is the empty string.
    """
    out = pd.DataFrame({
        "user": frame["reviewerID"].astype(str),
        "item": frame["asin"].astype(str),
        "review": frame["reviewText"].fillna("").astype(str),
        "summary": frame["summary"].fillna("").astype(str),
        "timestamp": frame["unixReviewTime"].astype("int64"),
    })
    out["rating"] = frame["overall"].astype("float32")
    out["liked"] = (out["rating"] >= 4).astype("float32")
    votes = np.array([v if isinstance(v, (list, tuple)) and len(v) == 2
                      else (0, 0) for v in frame["helpful"]], dtype=float)
    total = votes[:, 1]
    share = np.divide(votes[:, 0], total, out=np.zeros_like(total),
                      where=total > 0)
    out["helpful"] = np.where(total > 0, (share >= 0.5).astype(float),
                              np.nan).astype("float32")
    return out


def feature_specs(text_encoder: str = "bag", *, fine_tune_layers: int = 0,
                  max_length: int = 128, history: int = 0,
                  history_pooling: str = "mean") -> list:
    """User and item ids, and the review's text and summary through
    `text_encoder` (`"none"` leaves the text out); with `history`, the
    user's previous products and the ratings given them."""
    if text_encoder not in TEXT_ENCODERS:
        raise ValueError(f"`text_encoder` must be one of {TEXT_ENCODERS}. "
                         f"Received: text_encoder={text_encoder!r}")
    specs = [features_lib.CategoricalFeature("user", embedding_dim=16),
             features_lib.CategoricalFeature("item", embedding_dim=16)]
    if history:
        specs += history_specs("item", length=history, value="rating",
                               pooling=history_pooling)
    if text_encoder == "bag":
        specs += [features_lib.TextFeature("review", max_length=max_length),
                  features_lib.TextFeature("summary", max_length=16,
                                           embedding_dim=16)]
    elif text_encoder != "none":
        trainable = fine_tune_layers or False
        specs += [features_lib.TextFeature("review", encoder=text_encoder,
                                           max_length=max_length,
                                           trainable=trainable),
                  features_lib.TextFeature("summary", encoder=text_encoder,
                                           max_length=32,
                                           trainable=trainable)]
    return specs


def task_specs() -> list:
    return [tasks_lib.regression("rating"), tasks_lib.binary("liked"),
            tasks_lib.binary("helpful")]


def amazon_reviews(data_dir=None, *, text_encoder: str = "bag",
                   fine_tune_layers: int = 0, max_length: int = 128,
                   test_fraction: float = 0.2,
                   max_rows: int | None = None, history: int = 0,
                   history_pooling: str = "mean") -> DatasetBundle:
    """Loads Amazon Musical Instruments reviews with three tasks.

    Tasks: `rating` (regression, 1-5), `liked` (rating >= 4) and `helpful`
    (at least half of the helpfulness votes, where the review got any;
    missing otherwise). Features: reviewer and product ids, and the review
    text and summary through `text_encoder`. The latest `test_fraction` of
    reviews (by time) form the test set.

    Args:
        data_dir: folder with `reviews_Musical_Instruments_5.json.gz`, or
            its parent with `amazon-musical-instruments/`.
        text_encoder: `"none"`, `"bag"` or `"minilm"`.
        fine_tune_layers: top MiniLM layers to fine-tune (0: frozen).
        max_length: tokens kept per review.
        test_fraction: share of the latest reviews held out.
        max_rows: keep only the first rows of the file (for quick trials).
        history: add each review's history: the reviewer's newest
            `history` products reviewed strictly before it and the ratings
            given them (`mtzoo.data.with_histories`). Defaults to 0.
        history_pooling: how the products are pooled (see
            `mtzoo.features.SequenceFeature`).
    """
    folder, _ = sources.locate(
        "amazon-musical-instruments", [FILES], data_dir=data_dir,
        instructions="The 5-core Musical Instruments reviews are part of "
                     "the Amazon product data of McAuley et al. (2015).")
    frame = prepare(read_reviews(folder / FILES[0], max_rows=max_rows))
    if history:
        frame = with_histories(frame, user="user", item="item",
                               time="timestamp", value="rating",
                               length=history)
    ordered = frame.sort_values(["timestamp", "user", "item"],
                                kind="stable").reset_index(drop=True)
    cut = int(round(len(ordered) * (1 - test_fraction)))
    train = ordered.iloc[:cut].reset_index(drop=True)
    test = ordered.iloc[cut:].reset_index(drop=True)
    features = features_lib.adapt(
        feature_specs(text_encoder, fine_tune_layers=fine_tune_layers,
                      max_length=max_length, history=history,
                      history_pooling=history_pooling), train)
    bundle = DatasetBundle(
        name="amazon_reviews", train=train, test=test, features=features,
        tasks=tasks_lib.adapt(task_specs(), train),
        description="Amazon Musical Instruments reviews: `rating` "
                    "(regression), `liked` (rating >= 4), `helpful` (half "
                    "the votes or more); split by time.")
    bundle.files = {"all": [folder / FILES[0]]}
    return bundle
