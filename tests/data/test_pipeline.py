import dataclasses
import gzip

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import mtzoo
from mtzoo import features as F
from mtzoo import tasks as T
from mtzoo.data import synthetic
from mtzoo.features import DataError

# A bad value met while streaming stops iteration with the DataError's
# message inside TensorFlow's error; bad headers and columns fail at once.
STREAM_ERRORS = (DataError, tf.errors.InvalidArgumentError)


@pytest.fixture(scope="module")
def table():
    frame = synthetic.impressions(1_500, seed=3)
    features = F.adapt(synthetic.impression_features(), frame)
    features = [dataclasses.replace(f, separator="|")
                if isinstance(f, F.MultiCategoricalFeature) else f
                for f in features]
    return frame, features, synthetic.impression_tasks()


def _as_csv_frame(frame):
    out = frame.copy()
    out["genres"] = out.genres.map("|".join)
    out["recent_items"] = out.recent_items.map(
        lambda ids: "|".join(map(str, ids)))
    out["item_text"] = out.item_text.map(lambda v: " ".join(map(str, v)))
    return out


def _one_batch(dataset):
    batches = list(dataset)
    assert len(batches) == 1
    return batches[0]


def _assert_same(expected, actual):
    for part_expected, part_actual in zip(expected, actual):
        assert part_expected.keys() == part_actual.keys()
        for key in part_expected:
            a = part_expected[key].numpy()
            b = part_actual[key].numpy()
            assert a.shape == b.shape and a.dtype == b.dtype, key
            if a.dtype.kind == "f":
                np.testing.assert_allclose(a, b, rtol=1e-6, err_msg=key)
            else:
                np.testing.assert_array_equal(a, b, err_msg=key)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_csv_gives_what_the_dataframe_gives(table, tmp_path, suffix):
    frame, features, tasks = table
    path = tmp_path / f"data{suffix}"
    _as_csv_frame(frame).to_csv(path, index=False)
    expected = _one_batch(mtzoo.data.from_dataframe(
        frame, features, tasks, batch_size=len(frame)))
    actual = _one_batch(mtzoo.data.from_csv(
        path, features, tasks, batch_size=len(frame), chunk_rows=400))
    _assert_same(expected, actual)


def test_parquet_and_tfrecord_give_what_the_dataframe_gives(table, tmp_path):
    frame, features, tasks = table
    expected = _one_batch(mtzoo.data.from_dataframe(
        frame, features, tasks, batch_size=len(frame)))
    frame.to_parquet(tmp_path / "data.parquet")
    _assert_same(expected, _one_batch(mtzoo.data.from_parquet(
        tmp_path / "data.parquet", features, tasks, batch_size=len(frame),
        chunk_rows=500)))
    written = mtzoo.data.write_tfrecord(frame, tmp_path / "data.tfrecord.gz",
                                        features, tasks)
    assert written == len(frame)
    _assert_same(expected, _one_batch(mtzoo.data.from_tfrecord(
        tmp_path / "data.tfrecord.gz", features, tasks,
        batch_size=len(frame))))


def test_streamed_batches_cover_every_row_once_across_files(table, tmp_path):
    frame, features, tasks = table
    frame = frame.assign(row=np.arange(len(frame), dtype=float))
    features = features + [F.NumericFeature("row", normalize=False)]
    csv = _as_csv_frame(frame)
    csv.iloc[:700].to_csv(tmp_path / "a.csv", index=False)
    csv.iloc[700:].to_csv(tmp_path / "b.csv", index=False)
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]

    def rows(seed):
        dataset = mtzoo.data.from_csv(paths, features, tasks, batch_size=64,
                                      shuffle=True, seed=seed, chunk_rows=256)
        return np.concatenate([x["row"].numpy()[:, 0]
                               for x, _, _ in dataset])

    first = rows(5)
    assert sorted(first) == list(range(len(frame)))
    np.testing.assert_array_equal(first, rows(5))  # seeded
    assert not np.array_equal(first, rows(6))
    assert not np.array_equal(first, np.sort(first))


def test_cache_and_repeat(table, tmp_path):
    frame, features, tasks = table
    frame.to_parquet(tmp_path / "data.parquet")
    dataset = mtzoo.data.from_parquet(tmp_path / "data.parquet", features,
                                      tasks, batch_size=500, cache=True,
                                      repeat=2)
    assert sum(len(w["click"]) for _, _, w in dataset) == 2 * len(frame)


def test_missing_column_names_file_and_column(tmp_path):
    pd.DataFrame({"age": [1.0], "click": [1]}).to_csv(tmp_path / "d.csv",
                                                       index=False)
    features = [F.NumericFeature("age", mean=0.0, variance=1.0),
                F.NumericFeature("income", mean=0.0, variance=1.0)]
    with pytest.raises(DataError, match=r"d.csv' has no column.*income"):
        mtzoo.data.from_csv(tmp_path / "d.csv", features,
                            [T.binary("click")])


def test_malformed_line_names_file_and_line(tmp_path):
    path = tmp_path / "d.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("age,click\n1.0,1\n2.0,0\n3.0,1,extra\n4.0,0\n")
    with pytest.raises(STREAM_ERRORS, match=r"d.csv.gz', line 4: expected 2 "
                                        r"fields, found 3"):
        list(mtzoo.data.from_csv(
            path, [F.NumericFeature("age", mean=0.0, variance=1.0)],
            [T.binary("click")]))


def test_non_numeric_value_names_file_line_and_column(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("age,city,click\n1.0,a,1\n2.0,b,0\nabc,c,1\n")
    features = [F.NumericFeature("age", mean=0.0, variance=1.0),
                F.CategoricalFeature("city", dtype="string",
                                     vocabulary=["a"])]
    for strip in (True, False):
        with pytest.raises(STREAM_ERRORS,
                           match=r"d.csv', line 4, column 'age': "
                                            r"expected a number, found 'abc'"):
            list(mtzoo.data.from_csv(
                path, features, [T.binary("click")],
                csv_format=mtzoo.data.CsvFormat(strip_whitespace=strip)))


def test_label_error_in_a_file_names_its_line(tmp_path):
    path = tmp_path / "d.csv"
    rows = "\n".join(f"{i}.0,{i % 3}" for i in range(10))
    path.write_text("x,interest\n" + rows + "\n")
    with pytest.raises(STREAM_ERRORS, match=r"Task 'interest'.*line 4 of "
                                        r"'.*d.csv'"):
        list(mtzoo.data.from_csv(
            path, [F.NumericFeature("x", mean=0.0, variance=1.0)],
            [T.multiclass("interest", num_classes=2)], chunk_rows=4))


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    features = [F.NumericFeature("x", mean=0.0, variance=1.0)]
    with pytest.raises(DataError, match="empty"):
        mtzoo.data.from_csv(tmp_path / "empty.csv", features)
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        mtzoo.data.from_csv(tmp_path / "nope.csv", features)


def test_adapt_on_streamed_chunks_matches_adapt_on_frame(table, tmp_path):
    frame, features, tasks = table
    _as_csv_frame(frame).to_csv(tmp_path / "d.csv", index=False)
    raw = [dataclasses.replace(f, separator="|")
           if isinstance(f, F.MultiCategoricalFeature) else f
           for f in synthetic.impression_features()]
    streamed = F.adapt(raw, mtzoo.data.csv_chunks(
        tmp_path / "d.csv", raw, chunk_rows=300))
    for a, b in zip(streamed, features):
        if isinstance(a, F.NumericFeature):
            assert a.mean == pytest.approx(b.mean)
            assert a.variance == pytest.approx(b.variance)
        elif isinstance(a, F.CategoricalFeature):
            assert set(a.vocabulary) == set(b.vocabulary)


def test_tfrecord_files_of_one_key_per_feature_still_read(table, tmp_path):
    from mtzoo.data import pipeline

    frame, features, tasks = table
    expected = _one_batch(mtzoo.data.from_dataframe(
        frame, features, tasks, batch_size=len(frame)))
    x, labels, weights = (
        {k: v.numpy().reshape(len(frame), -1) for k, v in part.items()}
        for part in expected)
    columns = {**x, **{pipeline.LABEL_PREFIX + k: v
                       for k, v in labels.items()},
               **{pipeline.WEIGHT_PREFIX + k: v for k, v in weights.items()}}

    def feature(values):
        if np.issubdtype(values.dtype, np.integer):
            return tf.train.Feature(int64_list=tf.train.Int64List(
                value=values.tolist()))
        return tf.train.Feature(float_list=tf.train.FloatList(
            value=values.tolist()))

    with tf.io.TFRecordWriter(str(tmp_path / "old.tfrecord")) as writer:
        for i in range(len(frame)):
            writer.write(tf.train.Example(features=tf.train.Features(
                feature={k: feature(v[i]) for k, v in columns.items()}))
                .SerializeToString())
    _assert_same(expected, _one_batch(mtzoo.data.from_tfrecord(
        tmp_path / "old.tfrecord", features, tasks, batch_size=len(frame))))


def test_tfrecord_write_is_atomic(table, tmp_path, monkeypatch):
    frame, features, tasks = table
    bad = frame.copy()
    bad.loc[bad.index[-1], "interest"] = 99  # fails late, mid-write
    with pytest.raises(DataError, match="interest"):
        mtzoo.data.write_tfrecord(
            (bad.iloc[i:i + 500] for i in range(0, len(bad), 500)),
            tmp_path / "out.tfrecord", features, tasks)
    assert list(tmp_path.iterdir()) == []


def test_tfrecord_files_each_read_with_their_own_compression(table, tmp_path):
    frame, features, tasks = table
    expected = _one_batch(mtzoo.data.from_dataframe(
        frame, features, tasks, batch_size=len(frame)))
    mtzoo.data.write_tfrecord(frame.iloc[:600], tmp_path / "a.tfrecord",
                              features, tasks)
    mtzoo.data.write_tfrecord(frame.iloc[600:], tmp_path / "b.tfrecord.gz",
                              features, tasks)
    for order in (["a.tfrecord", "b.tfrecord.gz"],
                  ["b.tfrecord.gz", "a.tfrecord"]):
        batch = _one_batch(mtzoo.data.from_tfrecord(
            [tmp_path / name for name in order], features, tasks,
            batch_size=len(frame), num_parallel_files=1))
        if order[0].startswith("b"):
            expected_order = [expected_part for expected_part in (
                {k: tf.concat([v[600:], v[:600]], 0)
                 for k, v in part.items()} for part in expected)]
        else:
            expected_order = expected
        _assert_same(expected_order, batch)
    # Both files read in parallel and shuffled: every row once.
    name = features[0].name
    rows = np.concatenate([x[name].numpy().reshape(-1) for x, _, _ in
                           mtzoo.data.from_tfrecord(
                               [tmp_path / "a.tfrecord",
                                tmp_path / "b.tfrecord.gz"], features, tasks,
                               batch_size=128, shuffle=True, seed=1)])
    np.testing.assert_array_equal(
        np.sort(rows), np.sort(expected[0][name].numpy().reshape(-1)))
