"""Ali-CCP: Alibaba click and conversion prediction (the ESMM dataset)."""

from __future__ import annotations

from mtzoo import features as features_lib
from mtzoo import tasks as tasks_lib
from mtzoo.data.datasets import encoded
from mtzoo.data.datasets.bundle import DatasetBundle

NAME = "ali-ccp"
LABELS = ("click", "purchase")
LAYOUTS = [
    {"train": "ali_ccp_train.csv", "validation": "ali_ccp_val.csv",
     "test": "ali_ccp_test.csv"},
    {"train": "ali_ccp_train_sample.csv",
     "validation": "ali_ccp_val_sample.csv",
     "test": "ali_ccp_test_sample.csv"},
]
INSTRUCTIONS = (
    "Ali-CCP needs a Tianchi account and cannot be downloaded "
    "automatically: get it from https://tianchi.aliyun.com/dataset/408 and "
    "convert it to the common pre-encoded CSV layout (columns click, "
    "purchase, then one column per feature field: sparse ids such as 101, "
    "205, 109_14 and dense values whose names start with 'D'), as files "
    "ali_ccp_train.csv, ali_ccp_val.csv and ali_ccp_test.csv.")


def ali_ccp(data_dir=None, *, embedding_dim: int = 8,
            min_frequency: int = 1, max_rows: int | None = None
            ) -> DatasetBundle:
    """Loads Ali-CCP in its pre-encoded CSV layout.

    Tasks: `click` and `purchase` (binary; a purchase implies a click, so
    `purchase` is the click-and-convert label ESMM calls CTCVR: build ESMM
    with `ctr_task="click", ctcvr_task="purchase"`). Sparse id columns become
    integer categorical features named `f<column>` (e.g. `f205`); columns
    starting with `D` are numeric.

    Args:
        data_dir: folder with the train, validation and test CSV files
            (full or `_sample` files), or its parent with `ali-ccp/`.
        embedding_dim: int. Embedding size of every id feature.
        min_frequency: int. Ids seen fewer times in train share the
            out-of-vocabulary bucket (use 10 or more on the full data).
        max_rows: int. Read at most this many rows per split.

    References:
        - [Ma et al., 2018](https://arxiv.org/abs/1804.07931): ESMM.
    """
    paths = encoded.locate_splits(NAME, LAYOUTS, data_dir, INSTRUCTIONS)
    frames = {split: encoded.read(path, max_rows)
              for split, path in paths.items()}
    for split, frame in frames.items():
        encoded.check_columns(frame, LABELS, paths[split])
    columns = [c for c in frames["train"].columns if c not in LABELS]
    numeric = [c for c in columns if str(c).startswith("D")]
    categorical = [c for c in columns if c not in numeric]
    specs = encoded.feature_specs(categorical, numeric,
                                  embedding_dim=embedding_dim,
                                  min_frequency=min_frequency)
    return DatasetBundle(
        name="ali_ccp", train=frames["train"], test=frames["test"],
        validation=frames["validation"],
        features=features_lib.adapt(specs, frames["train"]),
        tasks=[tasks_lib.binary("click"), tasks_lib.binary("purchase")],
        files={split: [path] for split, path in paths.items()},
        description="Ali-CCP: click and purchase on Taobao impressions.")
