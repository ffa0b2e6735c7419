"""AliExpress: click and conversion on search impressions, per country."""

from __future__ import annotations

from mtzoo import features as features_lib
from mtzoo import tasks as tasks_lib
from mtzoo.data.datasets import encoded
from mtzoo.data.datasets.bundle import DatasetBundle

NAME = "aliexpress"
LABELS = ("click", "conversion")
COUNTRIES = ("NL", "ES", "FR", "US", "RU")
CATEGORICAL = tuple(f"categorical_{i}" for i in range(1, 17))
NUMERIC = tuple(f"numerical_{i}" for i in range(1, 64))
INSTRUCTIONS = (
    "AliExpress needs a Tianchi account and cannot be downloaded "
    "automatically: get it from https://tianchi.aliyun.com/dataset/74690 "
    "and put a country's train.csv and test.csv (columns search_id, "
    "categorical_1..16, numerical_1..63, click, conversion) in "
    "'aliexpress/AliExpress_<country>/' or in the folder you pass.")


def _layouts(country: str) -> list[dict[str, str]]:
    return [
        {"train": f"AliExpress_{country}/train.csv",
         "test": f"AliExpress_{country}/test.csv"},
        {"train": "train.csv", "test": "test.csv"},
        {"train": "aliexpress_train.csv", "test": "aliexpress_test.csv"},
        {"train": "aliexpress_train_sample.csv",
         "test": "aliexpress_test_sample.csv"},
    ]


def aliexpress(data_dir=None, *, country: str = "NL",
               embedding_dim: int = 8, min_frequency: int = 1,
               max_rows: int | None = None) -> DatasetBundle:
    """Loads one country of the AliExpress dataset.

    Tasks: `click` and `conversion` (binary; a conversion follows a click).
    The 16 categorical columns become integer categorical features, the 63
    numerical columns numeric features; `search_id` is an identifier, not a
    feature.

    Args:
        data_dir: folder with the files (see `INSTRUCTIONS`), or its parent
            with `aliexpress/`.
        country: str. One of NL, ES, FR, US, RU.
        embedding_dim: int. Embedding size of every categorical feature.
        min_frequency: int. Rarer values share the out-of-vocabulary bucket.
        max_rows: int. Read at most this many rows per split.

    References:
        - [Li et al., 2020](https://arxiv.org/abs/2006.10094): Improving
          Multi-Scenario Learning to Rank in E-commerce by Exploiting Task
          Relationships in the Label Space (the dataset's paper).
    """
    if country not in COUNTRIES:
        raise ValueError(f"`country` must be one of {COUNTRIES}. Received: "
                         f"country={country!r}")
    paths = encoded.locate_splits(NAME, _layouts(country), data_dir,
                                  INSTRUCTIONS)
    frames = {split: encoded.read(path, max_rows)
              for split, path in paths.items()}
    for split, frame in frames.items():
        encoded.check_columns(frame, CATEGORICAL + NUMERIC + LABELS,
                              paths[split])
    specs = encoded.feature_specs(CATEGORICAL, NUMERIC,
                                  embedding_dim=embedding_dim,
                                  min_frequency=min_frequency)
    return DatasetBundle(
        name=f"aliexpress_{country.lower()}", train=frames["train"],
        test=frames["test"],
        features=features_lib.adapt(specs, frames["train"]),
        tasks=[tasks_lib.binary("click"), tasks_lib.binary("conversion")],
        files={split: [path] for split, path in paths.items()},
        description=f"AliExpress ({country}): click and conversion.")
