"""MovieLens ratings: rating regression and "liked" classification."""

from __future__ import annotations

import pandas as pd

from mtzoo import features as features_lib
from mtzoo import tasks as tasks_lib
from mtzoo.data import sources
from mtzoo.data.histories import history_specs
from mtzoo.data.histories import with_histories
from mtzoo.data.datasets.bundle import DatasetBundle
from mtzoo.features import DataError

GENRES_100K = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy",
    "Crime", "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror",
    "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western")
FILES_100K = ["u.data", "u.user", "u.item"]
FILES_1M = ["ratings.dat", "users.dat", "movies.dat"]
_BASE = "https://files.grouplens.org/datasets/movielens/"
DOWNLOADS = {
    "100k": sources.Download(
        _BASE + "ml-100k.zip",
        "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
        members={f"ml-100k/{name}": name for name in FILES_100K}),
    "1m": sources.Download(
        _BASE + "ml-1m.zip",
        "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
        members={f"ml-1m/{name}": name for name in FILES_1M}),
}
#: Columns of a joined ratings table, the layout `from_frame` takes.
JOINED_COLUMNS = ("user_id", "movie_id", "rating", "timestamp", "title",
                  "genres", "gender", "age", "occupation", "zip")


def read_100k(folder) -> pd.DataFrame:
    """Joins ML-100K's `u.data`, `u.user` and `u.item` into one table."""
    ratings = pd.read_csv(folder / "u.data", sep="\t", header=None,
                          names=["user_id", "movie_id", "rating",
                                 "timestamp"])
    users = pd.read_csv(folder / "u.user", sep="|", header=None,
                        names=["user_id", "age", "gender", "occupation",
                               "zip"], dtype={"zip": str})
    items = pd.read_csv(folder / "u.item", sep="|", header=None,
                        encoding="latin-1",
                        names=["movie_id", "title", "release_date",
                               "video_release_date", "url",
                               *GENRES_100K])
    flags = items[list(GENRES_100K)].to_numpy().astype(bool)
    items["genres"] = ["|".join(g for g, on in zip(GENRES_100K, row) if on)
                       for row in flags]
    items = items[["movie_id", "title", "genres"]]
    return ratings.merge(users, on="user_id").merge(items, on="movie_id")


def read_1m(folder) -> pd.DataFrame:
    """Joins ML-1M's `ratings.dat`, `users.dat` and `movies.dat`."""
    def dat(name, names, **kwargs):
        return pd.read_csv(folder / name, sep="::", engine="python",
                           header=None, names=names, encoding="latin-1",
                           **kwargs)
    ratings = dat("ratings.dat", ["user_id", "movie_id", "rating",
                                  "timestamp"])
    users = dat("users.dat", ["user_id", "gender", "age", "occupation",
                              "zip"], dtype={"zip": str})
    movies = dat("movies.dat", ["movie_id", "title", "genres"])
    return ratings.merge(users, on="user_id").merge(movies, on="movie_id")


def feature_specs(embedding_dim: int = 16, history: int = 0,
                  history_pooling: str = "mean") -> list:
    extra = history_specs("movie_id", length=history, value="rating",
                          pooling=history_pooling,
                          embedding_dim=embedding_dim) if history else []
    return extra + [
        features_lib.CategoricalFeature("user_id", dtype="int64",
                                        embedding_dim=embedding_dim),
        features_lib.CategoricalFeature("movie_id", dtype="int64",
                                        embedding_dim=embedding_dim),
        features_lib.CategoricalFeature("gender", dtype="string",
                                        embedding_dim=2),
        features_lib.NumericFeature("age"),
        features_lib.CategoricalFeature("occupation", dtype="string",
                                        embedding_dim=4),
        features_lib.CategoricalFeature("zip_prefix", dtype="string",
                                        embedding_dim=4),
        features_lib.MultiCategoricalFeature(
            "genres", dtype="string", separator="|", embedding_dim=8),
        features_lib.NumericFeature("release_year"),
        features_lib.CategoricalFeature("hour", dtype="int64",
                                        embedding_dim=4),
        features_lib.CategoricalFeature("weekday", dtype="int64",
                                        embedding_dim=2),
    ]


def task_specs() -> list:
    return [tasks_lib.regression("rating"),
            tasks_lib.binary("liked")]


def prepare(joined: pd.DataFrame) -> pd.DataFrame:
    """Derives labels and features from a joined ratings table.

    Adds `liked` (rating >= 4), `release_year` (from the title),
    `zip_prefix` (first 3 characters), and `hour` and `weekday` of the
    rating (UTC).
    """
    absent = [c for c in JOINED_COLUMNS if c not in joined.columns]
    if absent:
        raise DataError(
            f"A MovieLens ratings table needs columns {list(JOINED_COLUMNS)}; "
            f"{absent} are missing.")
    frame = joined.copy()
    frame["rating"] = frame["rating"].astype("float32")
    frame["liked"] = (frame["rating"] >= 4).astype("float32")
    frame["release_year"] = pd.to_numeric(
        frame["title"].astype(str).str.extract(r"\((\d{4})\)\s*$")[0],
        errors="coerce")
    frame["zip_prefix"] = frame["zip"].astype(str).str[:3]
    frame["occupation"] = frame["occupation"].astype(str)
    moment = pd.to_datetime(frame["timestamp"], unit="s", utc=True)
    frame["hour"] = moment.dt.hour.astype("int64")
    frame["weekday"] = moment.dt.weekday.astype("int64")
    return frame


def split_by_time(frame: pd.DataFrame, test_fraction: float):
    """The latest `test_fraction` of ratings (by timestamp) are the test set.

    A global time split: the model is tested on ratings given after every
    training rating, as it would be in production.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"`test_fraction` must be in (0, 1). Received: "
                         f"test_fraction={test_fraction!r}")
    ordered = frame.sort_values(["timestamp", "user_id", "movie_id"],
                                kind="stable").reset_index(drop=True)
    cut = int(round(len(ordered) * (1 - test_fraction)))
    return ordered.iloc[:cut].reset_index(drop=True), \
        ordered.iloc[cut:].reset_index(drop=True)


def split_leave_one_out(frame: pd.DataFrame, held_out: int = 1):
    """Each user's latest `held_out` ratings (by timestamp; among ties,
    the last in the table) are the test set, the rest train: the protocol
    of next-item papers (SASRec's leave-one-out)."""
    ordered = frame.sort_values(["user_id", "timestamp"],
                                kind="stable").reset_index(drop=True)
    from_end = ordered.groupby("user_id").cumcount(ascending=False)
    test = from_end < held_out
    return (ordered[~test].reset_index(drop=True),
            ordered[test].reset_index(drop=True))


SPLITS = ("time", "leave_one_out")


def from_frame(joined: pd.DataFrame, *, test_fraction: float = 0.2,
               embedding_dim: int = 16, name: str = "movielens",
               history: int = 0, history_pooling: str = "mean",
               split: str = "time") -> DatasetBundle:
    """A MovieLens bundle from a joined ratings table (see
    `JOINED_COLUMNS`), such as the ML-1M samples other libraries ship.
    With `history` N, each rating also carries `history` and
    `rating_history`: the user's newest N movies rated strictly before it
    and the ratings given them (`mtzoo.data.add_histories`), the movies
    pooled by `history_pooling`."""
    frame = prepare(joined)
    if history:
        frame = with_histories(frame, user="user_id", item="movie_id",
                               time="timestamp", value="rating",
                               length=history)
    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {SPLITS}. Received: "
                         f"split={split!r}")
    if split == "time":
        train, test = split_by_time(frame, test_fraction)
        validation = None
    else:
        # The last rating of each user is the test, the one before it
        # the validation.
        rest, test = split_leave_one_out(frame)
        train, validation = split_leave_one_out(rest)
    features = features_lib.adapt(
        feature_specs(embedding_dim, history, history_pooling), train)
    return DatasetBundle(
        name=name, train=train, test=test, features=features,
        validation=validation, tasks=tasks_lib.adapt(task_specs(), train),
        description="MovieLens ratings: `rating` (regression, 1-5) and "
                    "`liked` (rating >= 4); split by time.")


def movielens(data_dir=None, *, variant: str = "100k",
              test_fraction: float = 0.2, embedding_dim: int = 16,
              max_rows: int | None = None, history: int = 0,
              history_pooling: str = "mean",
              split: str = "time") -> DatasetBundle:
    """Loads MovieLens 100K or 1M with a rating and a "liked" task.

    Features: user and movie ids, gender, age, occupation, zip prefix,
    genres (multi-valued), release year, and the hour and weekday of the
    rating. The latest `test_fraction` of ratings form the test set.

    Args:
        data_dir: folder with the dataset's files (`u.data`, `u.user`,
            `u.item` for 100K; `ratings.dat`, `users.dat`, `movies.dat` for
            1M), or its parent with `movielens-100k/` or `movielens-1m/`.
            Downloaded from GroupLens when absent and online.
        variant: str. `"100k"` or `"1m"`.
        test_fraction: float. Share of the latest ratings held out.
        embedding_dim: int. Embedding size of user and movie ids.
        max_rows: int. Keep only the earliest ratings (for quick trials).
            Defaults to None (all).
        history: int. Add each rating's history of the user's newest
            `history` movies rated strictly before it. Defaults to 0 (none).
        history_pooling: str. How the history is pooled (see
            `mtzoo.features.SequenceFeature`).
        split: `"time"` (the latest `test_fraction` of all ratings) or
            `"leave_one_out"` (each user's last rating is the test, the
            one before it the validation).
    """
    if variant not in DOWNLOADS:
        raise ValueError(f"`variant` must be '100k' or '1m'. Received: "
                         f"variant={variant!r}")
    files = FILES_100K if variant == "100k" else FILES_1M
    folder, _ = sources.locate(
        f"movielens-{variant}", [files], data_dir=data_dir,
        downloads=[DOWNLOADS[variant]],
        instructions="The files are at https://grouplens.org/datasets/"
                     "movielens/ (research use; see their README).")
    joined = read_100k(folder) if variant == "100k" else read_1m(folder)
    if max_rows is not None:
        joined = joined.nsmallest(max_rows, "timestamp")
    bundle = from_frame(joined, test_fraction=test_fraction,
                        embedding_dim=embedding_dim,
                        name=f"movielens_{variant}", history=history,
                        history_pooling=history_pooling, split=split)
    bundle.files = {"all": [folder / f for f in files]}
    return bundle
