"""A table named by a glob of shards: split per row, kept on disk, never
loaded whole."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from mtzoo import runs
from mtzoo.data import shards
from mtzoo.data import sources
from mtzoo.data import splitting
from mtzoo.recipes import table
from mtzoo.features import DataError


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "cache_root", lambda: tmp_path / "cache")


def _write_shards(folder, shards_=3, rows=1_200, suffix="parquet"):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(shards_):
        price = rng.lognormal(2.0, 1.0, rows)
        frame = pd.DataFrame({
            "user": rng.integers(0, 200, rows),
            "time": index * rows + np.arange(rows),
            "price": price,
            "city": rng.choice(["north", "south", "east"], rows),
            "clicked": (rng.random(rows) < 1 / (1 + np.exp(
                -(np.log(price) - 2.0) * 3))).astype(int),
        })
        path = folder / f"part-{index}.{suffix}"
        if suffix == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path)
    return sorted(str(p) for p in folder.iterdir())


def _rows(split):
    return pd.concat(split.chunks())


def test_rows_are_split_by_a_seeded_hash_by_key_or_by_time(tmp_path):
    paths = _write_shards(tmp_path / "shards")
    columns = ["price", "clicked"]
    parts = splitting.split_files(paths, columns,
                                  splitting.SplitRule("random", seed=3))
    sizes = {name: len(split) for name, split in parts.items()}
    assert sum(sizes.values()) == 3_600
    assert abs(sizes["test"] - 720) < 90 and abs(sizes["validation"]
                                                 - 360) < 70
    # Split once: the same inputs and rule read the cached files.
    stamp = [_modified(p) for p in parts["train"].paths]
    again = splitting.split_files(paths, columns,
                                  splitting.SplitRule("random", seed=3))
    assert again == parts
    assert [_modified(p) for p in again["train"].paths] == stamp
    other_seed = splitting.split_files(paths, columns,
                                       splitting.SplitRule("random", seed=4))
    assert len(other_seed["test"]) != sizes["test"] or not _rows(
        other_seed["test"]).equals(_rows(parts["test"]))

    by_user = splitting.split_files(
        paths, columns, splitting.SplitRule("random", key="user"))
    users = {name: set(_rows(split)["user"]) for name, split in
             by_user.items()}
    assert not users["train"] & users["test"]
    assert not users["validation"] & (users["train"] | users["test"])

    by_time = splitting.split_files(
        paths, columns, splitting.SplitRule("time", time_column="time"))
    times = {name: _rows(split)["time"] for name, split in by_time.items()}
    assert times["train"].max() < times["validation"].min()
    assert times["validation"].max() < times["test"].min()
    assert abs(len(times["test"]) - 720) < 60

    # Dates as day-first-ambiguous text: split in time, not text, order.
    for path in paths:
        frame = pd.read_parquet(path)
        frame["time"] = (pd.Timestamp("2023-12-01") + pd.to_timedelta(
            frame["time"], unit="h")).dt.strftime("%m/%d/%Y %H:%M")
        frame.to_parquet(path)
    by_date = splitting.split_files(
        paths, columns, splitting.SplitRule("time", time_column="time"))
    dates = {name: pd.to_datetime(_rows(split)["time"],
                                  format="%m/%d/%Y %H:%M")
             for name, split in by_date.items()}
    assert dates["train"].max() < dates["validation"].min()
    assert dates["validation"].max() < dates["test"].min()


def _modified(path):
    return os.stat(path).st_mtime_ns


def test_csv_shards_split_and_bad_input_leaves_nothing(tmp_path):
    paths = _write_shards(tmp_path / "shards", shards_=2, suffix="csv")
    head = pd.read_csv(paths[0], nrows=100)
    parts = splitting.split_files(paths, ["price", "city", "clicked"],
                                  splitting.SplitRule("random"),
                                  csv_types=splitting.arrow_types(head))
    rows = _rows(parts["train"])
    assert pd.api.types.is_string_dtype(rows["city"])
    assert rows["price"].dtype == float
    assert sum(len(s) for s in parts.values()) == 2_400
    with pytest.raises(DataError, match="part-0.parquet.*no column.*'age'"):
        splitting.split_files(
            _write_shards(tmp_path / "more", shards_=1), ["age"],
            splitting.SplitRule("random"))
    leftovers = [p for p in (tmp_path / "cache" / "splits").iterdir()
                 if p.name.startswith(".")]
    assert leftovers == []
    with pytest.raises(FileNotFoundError, match="No data files match"):
        table.shard_paths(str(tmp_path / "nothing" / "*.parquet"))


def _write_examples(path, rows):
    """Raw `tf.train.Example`s: a string, a float, an int, a list of ints
    (absent from every third Example's float)."""
    import tensorflow as tf

    with tf.io.TFRecordWriter(str(path)) as writer:
        for i in range(rows):
            feature = {
                "city": tf.train.Feature(bytes_list=tf.train.BytesList(
                    value=[["north", "south"][i % 2].encode()])),
                "clicked": tf.train.Feature(
                    int64_list=tf.train.Int64List(value=[int(i % 3 == 0)])),
                "genres": tf.train.Feature(int64_list=tf.train.Int64List(
                    value=list(range(i % 4)))),
            }
            if i % 3:
                feature["price"] = tf.train.Feature(
                    float_list=tf.train.FloatList(value=[i / 10]))
            writer.write(tf.train.Example(features=tf.train.Features(
                feature=feature)).SerializeToString())


def test_tfrecord_shards_of_raw_examples_split_and_read_as_columns(
        tmp_path):
    folder = tmp_path / "examples"
    folder.mkdir()
    for index in range(2):
        _write_examples(folder / f"part-{index}.tfrecord", 300)
    paths = table.shard_paths(str(folder))
    assert len(paths) == 2
    head = table.read_table(paths[0], rows=10)
    assert head["city"].tolist()[:2] == ["north", "south"]
    assert np.isnan(head["price"][0]) and head["price"][1] == \
        pytest.approx(0.1)
    assert list(head["genres"][3]) == [0, 1, 2]
    assert head.index.name == "row"
    parts = splitting.split_files(paths, ["city", "price", "clicked",
                                          "genres"],
                                  splitting.SplitRule("random"))
    rows = pd.concat([_rows(split) for split in parts.values()])
    assert len(rows) == 600
    assert rows["clicked"].sum() == 200
    assert rows["price"].isna().sum() == 200
    with pytest.raises(DataError, match="part-0.tfrecord.*no feature.*age"):
        splitting.split_files(paths, ["age"], splitting.SplitRule("random"))


def test_a_sharded_split_samples_evenly_and_batches_to_full_size(tmp_path):
    paths = _write_shards(tmp_path / "shards", shards_=3, rows=1_000)
    split = shards.ShardedSplit.of_files(paths)
    assert len(split) == 3_000
    sample = split.sample(700)  # every 5th row
    assert len(sample) == split.sample_size(700) == 600
    assert sample["time"].tolist() == list(range(0, 3_000, 5))
    assert split.head(1_500)["time"].tolist() == list(range(1_500))
    from mtzoo import features

    specs = features.adapt([features.NumericFeature("price")],
                           split.chunks())
    batches = shards.dataset(split, specs, batch_size=512, shuffle=True,
                             seed=0)
    sizes = [int(b["price"].shape[0]) for b in batches]
    assert sizes == [512] * 5 + [440]
    assert int(batches.cardinality()) == 6


@pytest.mark.large
def test_a_table_of_shards_trains_without_loading_a_file_whole(
        tmp_path, monkeypatch):
    _write_shards(tmp_path / "shards")
    (tmp_path / "events.toml").write_text('''
[data]
train = "shards/*.parquet"
split = "time"
time_column = "time"
[features.price]
[features.city]
[tasks.clicked]
kind = "binary"
[training]
epochs = 2
batch_size = 256
''')

    def refuse(*args, **kwargs):
        raise AssertionError("a whole file was loaded")

    monkeypatch.setattr(pd, "read_parquet", refuse)
    monkeypatch.setattr(pd, "read_csv", refuse)
    from mtzoo.runs import steps

    monkeypatch.setattr(steps, "SAMPLE_ROWS", 500)
    result = runs.run(runs.RunConfig(
        "table", options={"config": str(tmp_path / "events.toml")},
        output_dir=str(tmp_path / "run"), export=False, verbose=False))
    rows = result["rows"]
    assert sum(rows.values()) == 3_600 and rows["test"] > 600
    # What needs rows in memory read an evenly spaced sample of the split.
    step = -(-rows["test"] // 500)
    assert result["test_rows_evaluated"] == -(-rows["test"] // step) <= 500
    assert result["test"]["tasks"]["clicked"]["examples"] == \
        result["test_rows_evaluated"]
    assert result["test"]["tasks"]["clicked"]["auc"] > 0.7
    assert "gradient_boosting" in result["baselines"]["clicked"]
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    assert split["test"]["rows"] == rows["test"]
    assert all(f.endswith(".parquet") for f in split["train"]["files"])


def test_init_config_reads_the_first_shard_and_names_the_glob(
        tmp_path, monkeypatch):
    from mtzoo import cli
    from mtzoo.recipes import table

    _write_shards(tmp_path / "data" / "shards", shards_=2, rows=50)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["init-config", "data/shards/*.parquet"]) == 0
    config = table.load_config(tmp_path / "shards.toml")
    assert config["data"]["train"] == str(
        tmp_path / "data" / "shards" / "*.parquet")
    assert table.is_streamed(config["data"])
    assert config["features"]["city"]["kind"] == "categorical"
    # A single file elsewhere is named relative to the config.
    pd.DataFrame({"a": [1.5, 2.5]}).to_csv(tmp_path / "data" / "one.csv",
                                           index=False)
    assert cli.main(["init-config", "data/one.csv"]) == 0
    one = table.load_config(tmp_path / "one.toml")
    assert one["data"]["train"] == str(tmp_path / "data" / "one.csv")
