"""The recipes: one per dataset.

Each recipe's data and task modules (which load TensorFlow) are imported
when a run prepares its data, so that a recipe's flags are read and
checked without TensorFlow.
"""

from __future__ import annotations

import dataclasses

from mtzoo import catalog
from mtzoo.recipes.base import Recipe
from mtzoo.recipes.base import Splits
from mtzoo.recipes import table

VALIDATION_FRACTION = 0.1


def _split_train(bundle, seed):
    split = bundle.split_validation(VALIDATION_FRACTION, seed=seed)
    return split.train, split.validation


def _funnel_tasks(model_name, bundle, click, conversion):
    """ESMM gets CTR and CTCVR tasks named after the data's labels."""
    if model_name == "esmm":
        return bundle.tasks, {"ctr_task": click, "ctcvr_task": conversion,
                              "cvr_output": "cvr"}
    return bundle.tasks, {}


def _census(config, model_name):
    from mtzoo import data as data_lib

    bundle = data_lib.census_income(config.data_dir, max_rows=config.option("max_rows"))
    train, validation = _split_train(bundle, config.seed)
    return Splits(train, validation, bundle.test, bundle.features,
                  bundle.tasks)


def _movielens(config, model_name):
    from mtzoo import data as data_lib
    from mtzoo import tasks as tasks_lib

    next_item = config.option("next_item")
    pooling = config.option("history_pooling") or (
        "transformer" if next_item else "mean")
    if next_item and (not config.option("history")
                      or pooling != "transformer"):
        raise ValueError(
            "--next-item trains at every position of the user's history "
            "read by a transformer: pass --history N (and leave "
            "--history-pooling at transformer).")
    bundle = data_lib.movielens(config.data_dir, variant=config.option("variant"),
                                max_rows=config.option("max_rows"),
                                history=config.option("history"),
                                history_pooling=pooling,
                                split=config.option("split"))
    # Validation: the latest ratings of the training period, as the test
    # set is the latest of all (leave-one-out: each user's second-to-last).
    train, validation = bundle.train, bundle.validation
    if validation is None:
        cut = int(len(train) * (1 - VALIDATION_FRACTION))
        train, validation = train.iloc[:cut], train.iloc[cut:]
    if next_item:
        return _next_movie(config, bundle, train, validation)
    tasks = bundle.tasks
    if config.option("retrieval"):
        # Which movie the user rates next, beside how they rate it.
        movie = ["movie_id", "genres", "release_year"]
        negatives = config.option("retrieval_negatives")
        # Movies the user rated before are not recommended again.
        seen = {"exclude_seen": "history"} if config.option("history") \
            else {}
        if negatives == tasks_lib.IN_BATCH:
            task = tasks_lib.retrieval("movie", candidate_features=movie,
                                       **seen)
        else:
            task = tasks_lib.next_item(
                "movie", "movie_id", query_features=[
                    f.name for f in bundle.features if f.name not in movie],
                num_sampled=config.option("num_sampled")
                if negatives == tasks_lib.SAMPLED else None, **seen)
        tasks = [task] + list(tasks)
    return Splits(train, validation, bundle.test, bundle.features, tasks)


#: Positions of each history window a `--next-item` step trains on.
NEXT_MOVIE_POSITIONS = 16


def _next_movie(config, bundle, train, validation):
    """The next movie from the user's history alone (SASRec): each user's
    windows of `--history` ratings train 16 positions drawn at random at
    every step (every position: the same hit rate in the same epochs at
    0.6x the speed; `benchmarks/next_item.py`), with SASRec's dropout of
    0.2 inside the transformer."""
    from mtzoo import data as data_lib
    from mtzoo import tasks as tasks_lib

    features = [dataclasses.replace(f, dropout=0.2) if f.name == "history"
                else f for f in bundle.features
                if f.name in ("history", "movie_id")]
    sampled = config.option("retrieval_negatives") == tasks_lib.SAMPLED
    task = tasks_lib.next_item(
        "movie", "movie_id", sequence="history", query_features=["history"],
        exclude_seen="history", positions_per_row=NEXT_MOVIE_POSITIONS,
        num_sampled=config.option("num_sampled") if sampled else None)
    windows = data_lib.sequence_windows(train, user="user_id",
                                        time="timestamp",
                                        length=config.option("history"))
    return Splits(train[windows], validation, bundle.test, features, [task])


def _movielens_settings(options: dict) -> dict:
    """--next-item trains a few rows per user (its windows): smaller
    batches, more epochs, and patience for a noisier validation loss."""
    if not options.get("next_item"):
        return {}
    return {"model": "two_tower", "batch_size": 128, "epochs": 200,
            "patience": 5}


def _movielens_companions(options: dict) -> dict:
    """A ranking run with --history N is measured against the same model
    without the history (the history's lift) and beside the next movie
    predicted from the history alone (--next-item)."""
    if not options.get("history") or options.get("next_item"):
        return {}
    return {"without history": {"history": 0, "history_pooling": None},
            "next movie from the history": {
                "next_item": True, "history_pooling": None,
                "retrieval": False}}


def _amazon_reviews(config, model_name):
    from mtzoo import data as data_lib
    from mtzoo import tasks as tasks_lib

    bundle = data_lib.amazon_reviews(
        config.data_dir, text_encoder=config.option("text_encoder"),
        fine_tune_layers=config.option("fine_tune_layers"),
        max_rows=config.option("max_rows"),
        history=config.option("history"),
        history_pooling=config.option("history_pooling") or "mean")
    # Validation: the latest reviews of the training period.
    cut = int(len(bundle.train) * (1 - VALIDATION_FRACTION))
    tasks = list(bundle.tasks)
    if config.option("retrieval"):
        # Which product the user reviews, from the user alone.
        query = ["user"] + (["history", "rating_history"]
                            if config.option("history") else [])
        seen = {"exclude_seen": "history"} if config.option("history") \
            else {}
        tasks = [tasks_lib.retrieval("product", candidate_features=["item"],
                                     query_features=query, **seen)] + tasks
    return Splits(bundle.train.iloc[:cut], bundle.train.iloc[cut:],
                  bundle.test, bundle.features, tasks)


def _ali_ccp(config, model_name):
    from mtzoo import data as data_lib

    bundle = data_lib.ali_ccp(config.data_dir, max_rows=config.option("max_rows"),
                              min_frequency=config.option("min_frequency"))
    tasks, kwargs = _funnel_tasks(model_name, bundle, "click", "purchase")
    return Splits(bundle.train, bundle.validation, bundle.test,
                  bundle.features, tasks, kwargs)


def _aliexpress(config, model_name):
    from mtzoo import data as data_lib

    bundle = data_lib.aliexpress(config.data_dir, country=config.option("country"),
                                 max_rows=config.option("max_rows"),
                                 min_frequency=config.option("min_frequency"))
    train, validation = _split_train(bundle, config.seed)
    tasks, kwargs = _funnel_tasks(model_name, bundle, "click", "conversion")
    return Splits(train, validation, bundle.test, bundle.features, tasks,
                  kwargs)


def _synthetic(config, model_name):
    from mtzoo import features as features_lib
    from mtzoo import tasks as tasks_lib
    from mtzoo.data import synthetic

    frame = synthetic.impressions(config.option("rows"), seed=config.seed)
    train_end, valid_end = int(0.7 * len(frame)), int(0.8 * len(frame))
    train = frame.iloc[:train_end]
    if model_name == "aitm":
        tasks = synthetic.funnel_tasks()
    elif model_name == "esmm":
        tasks = synthetic.esmm_tasks()
    else:
        tasks = synthetic.impression_tasks()
    features = features_lib.adapt(synthetic.impression_features(), train)
    return Splits(train, frame.iloc[train_end:valid_end],
                  frame.iloc[valid_end:], features, tasks_lib.validate(tasks))


_ROWS = (("--max-rows",), dict(
    type=int, default=None,
    help="read at most this many rows per file, for quick trials "
         "(default: all)"))
_HISTORY = (("--history",), dict(
    type=int, default=0, metavar="N",
    help="add each row's history: the user's newest N items of events "
         "strictly before it (default: none)"))
_HISTORY_POOLING = (("--history-pooling",), dict(
    choices=["mean", "target_attention", "transformer"], default=None,
    help="how the history is pooled: mean (default), target_attention "
         "(DIN; not with --retrieval) or transformer (BST)"))
_MIN_FREQUENCY = (("--min-frequency",), dict(
    type=int, default=1,
    help="ids seen fewer times in train share the out-of-vocabulary "
         "bucket (default: 1; use 10+ on the full data)"))

def _recipe(name: str, prepare, **settings) -> Recipe:
    """A recipe described by its `mtzoo.catalog.RECIPES` entry."""
    info = catalog.recipe(name)
    return Recipe(name, info.description, prepare, info.architectures,
                  default_model=info.default_model, **settings)


RECIPES = {
    recipe.name: recipe for recipe in (
        _recipe(
            "census_income", _census, epochs=30, batch_size=1024,
            learning_rate=1e-3, weight_averaging=0.995,
            # Found on the validation split: benchmarks/results/tuning.md.
            hparams={"cross_layers": 1, "dropout": 0.1},
            extra_args=(_ROWS,)),
        _recipe(
            "movielens", _movielens, epochs=30, batch_size=512,
            learning_rate=1e-3, retrieval_option="retrieval",
            option_settings=_movielens_settings,
            companions=_movielens_companions,
            hparams={"dropout": 0.1},
            extra_args=((("--variant",), dict(
                choices=["100k", "1m"], default="100k",
                help="MovieLens size")), _ROWS,
                (("--retrieval",), dict(
                    action="store_true",
                    help="add the retrieval task `movie` (user -> movie "
                         "over the whole catalogue; with two_tower, "
                         "shared_bottom or mmoe)")),
                (("--retrieval-negatives",), dict(
                    choices=list(catalog.RETRIEVAL_NEGATIVES),
                    default="in_batch",
                    help="negatives of the retrieval task: the batch's "
                         "other movies (two towers), a softmax over every "
                         "movie id, or over --num-sampled of them "
                         "(default: %(default)s)")),
                (("--num-sampled",), dict(
                    type=int, default=200,
                    help="movies drawn per batch with --retrieval-negatives "
                         "sampled (default: %(default)s)")),
                _HISTORY, _HISTORY_POOLING,
                (("--next-item",), dict(
                    action="store_true",
                    help="train the next movie alone from the --history "
                         "(SASRec: every position of each user's windows "
                         "predicts the movie after it; softmax over every "
                         "movie, or --retrieval-negatives sampled)")),
                (("--split",), dict(
                    choices=["time", "leave_one_out"], default="time",
                    help="test set: the latest 20%% of ratings, or each "
                         "user's last rating (validation: the one before; "
                         "default: %(default)s)")))),
        _recipe(
            "amazon_reviews", _amazon_reviews, epochs=20, batch_size=256,
            learning_rate=1e-3, hparams={"dropout": 0.2},
            retrieval_option="retrieval",
            extra_args=((("--text-encoder",), dict(
                choices=list(catalog.TEXT_ENCODERS),
                default="bag",
                help="how review text and summary are encoded: left out, "
                     "a trained bag of words, or the pretrained MiniLM "
                     "(needs the text extra) (default: %(default)s)")),
                (("--fine-tune-layers",), dict(
                    type=int, default=0,
                    help="top MiniLM layers to fine-tune; 0 keeps it "
                         "frozen and encodes each text once "
                         "(default: %(default)s)")),
                _ROWS,
                (("--retrieval",), dict(
                    action="store_true",
                    help="add the retrieval task `product` (user -> "
                         "product over the whole catalogue)")),
                _HISTORY, _HISTORY_POOLING)),
        _recipe(
            "ali_ccp", _ali_ccp, epochs=10,
            batch_size=2048, learning_rate=1e-3,
            extra_args=(_ROWS, _MIN_FREQUENCY)),
        _recipe(
            "aliexpress", _aliexpress, epochs=10,
            batch_size=2048, learning_rate=1e-3,
            extra_args=((("--country",), dict(
                default="NL", choices=["NL", "ES", "FR", "US", "RU"],
                help="country of the dataset")),
                _ROWS, _MIN_FREQUENCY)),
        _recipe(
            # Early stopping ends large tables in a few epochs; small ones
            # (a few thousand rows: ~10 steps an epoch) need many more.
            "table", table.prepare, epochs=100, batch_size=512,
            learning_rate=1e-3, needs_data=False,
            # Patience sized to the table: one a few dozen steps an epoch
            # long may still improve slowly after 30 epochs.
            patience=None,
            # A user's table: no default architecture was tuned on it, so
            # the baselines join where they predict a task better.
            ensemble=True,
            option_settings=table.run_settings,
            extra_args=((("--config",), dict(
                required=True, metavar="TOML",
                help="the table's config: data files, features, tasks, "
                     "training settings (see mtzoo.recipes.table)")),)),
        _recipe(
            "synthetic", _synthetic, epochs=10, batch_size=512,
            learning_rate=2e-3, needs_data=False,
            # Chosen on validation AUC of click (benchmarks/impressions_gap.py).
            hparams={"dot_interaction": 32, "dropout": 0.3},
            extra_args=((("--rows",), dict(
                type=int, default=200_000,
                help="simulated impressions")),)),
    )
}


def available() -> list[str]:
    return list(RECIPES)


def get(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(
            f"Unknown recipe {name!r}. Available: {available()}")
    return RECIPES[name]
