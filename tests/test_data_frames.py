import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import mtzoo
from mtzoo import features as F
from mtzoo import tasks as T
from mtzoo.features import DataError


def _frame():
    return pd.DataFrame({
        "x": [1.0, 2.0, 3.0, 4.0, 5.0],
        "click": [1, 0, np.nan, 1, 0],
        "interest": [0, 2, 1, -1, 1],
        "w": [1.0, 2.0, 1.0, 1.0, 0.5],
    })


def test_missing_labels_get_zero_weight():
    labels, weights = mtzoo.data.label_arrays(
        _frame(), [T.binary("click"),
                   T.multiclass("interest", num_classes=3, missing_label=-1)])
    np.testing.assert_array_equal(weights["click"], [1, 1, 0, 1, 1])
    np.testing.assert_array_equal(weights["interest"], [1, 1, 1, 0, 1])
    assert labels["click"].shape == (5, 1)
    assert labels["interest"].dtype == np.int32
    assert np.isfinite(labels["click"]).all()


def test_weight_column_multiplies_weights():
    _, weights = mtzoo.data.label_arrays(
        _frame(), [T.binary("click", weight_column="w")])
    np.testing.assert_allclose(weights["click"], [1, 2, 0, 1, 0.5])


def test_absent_label_column_names_task_and_column():
    with pytest.raises(DataError, match="Task 'ctr' reads column 'clicked'"):
        mtzoo.data.label_arrays(_frame(), [T.binary("ctr", label="clicked")])


def test_multiclass_label_out_of_range_names_task_row_and_range():
    frame = _frame().assign(interest=[0, 2, 1, 3, 1])
    with pytest.raises(DataError, match=r"Task 'interest'.*\[0, 2\].*row 3"):
        mtzoo.data.label_arrays(
            frame, [T.multiclass("interest", num_classes=3)])


def test_binary_label_outside_zero_one():
    frame = _frame().assign(click=[1, 0, 2, 1, 0])
    with pytest.raises(DataError, match=r"Task 'click'.*\[0, 1\].*row 2"):
        mtzoo.data.label_arrays(frame, [T.binary("click")])


def test_dataset_batches_are_dicts_keyed_by_feature_and_task():
    frame = _frame()
    features = [F.NumericFeature("x", normalize=False)]
    dataset = mtzoo.data.from_dataframe(frame, features, [T.binary("click")],
                                        batch_size=2)
    batches = list(dataset)
    assert len(batches) == 3
    x, y, w = batches[0]
    assert set(x) == {"x"} and set(y) == {"click"} and set(w) == {"click"}
    # A numeric feature is encoded as a [batch, 1] column.
    np.testing.assert_allclose(np.concatenate([b[0]["x"] for b in batches]),
                               frame[["x"]])


def test_shuffling_is_seeded_and_complete():
    frame = pd.DataFrame({"x": np.arange(50.0)})
    features = [F.NumericFeature("x", normalize=False)]

    def order(seed):
        ds = mtzoo.data.from_dataframe(frame, features, batch_size=8,
                                       shuffle=True, seed=seed)
        return np.concatenate([b["x"].numpy()[:, 0] for b in ds])

    first = order(3)
    assert sorted(first) == list(range(50))
    np.testing.assert_array_equal(first, order(3))
    assert not np.array_equal(first, np.arange(50.0))


def test_every_epoch_draws_a_new_order_and_batches_keep_their_size():
    frame = pd.DataFrame({"x": np.arange(50.0)})
    ds = mtzoo.data.from_dataframe(frame,
                                   [F.NumericFeature("x", normalize=False)],
                                   batch_size=8, shuffle=True, seed=1,
                                   drop_remainder=True)
    epochs = [[b["x"].numpy()[:, 0] for b in ds] for _ in range(2)]
    assert [len(b) for b in epochs[0]] == [8] * 6
    assert int(ds.cardinality()) == 6  # Keras sizes epochs from this
    assert len(set(np.concatenate(epochs[0]))) == 48
    assert not np.array_equal(np.concatenate(epochs[0]),
                              np.concatenate(epochs[1]))


def test_full_batches_fill_the_last_batch_with_rows_that_do_not_count():
    frame = pd.DataFrame({"x": np.arange(50.0),
                          "click": np.where(np.arange(50) % 7 == 0, np.nan,
                                            np.arange(50) % 2)})
    ds = mtzoo.data.from_dataframe(
        frame, [F.NumericFeature("x", normalize=False)], [T.binary("click")],
        batch_size=8, shuffle=True, seed=1, full_batches=True)
    assert int(ds.cardinality()) == 7
    batches = list(ds)
    assert all(len(x["x"]) == 8 for x, _, _ in batches)
    values = np.concatenate([x["x"].numpy()[:, 0] for x, _, _ in batches])
    weights = np.concatenate([w["click"].numpy() for _, _, w in batches])
    # Each row once among the 50 that count; the 6 fillers weigh nothing.
    assert sorted(values[:50]) == list(range(50))
    np.testing.assert_array_equal(weights[50:], 0.0)
    np.testing.assert_array_equal(
        weights[:50], (values[:50] % 7 != 0).astype(float))
    # The fillers are rows of the epoch already seen.
    assert set(values[50:]) <= set(values[:50])


def test_empty_frame_is_refused():
    with pytest.raises(DataError, match="empty"):
        mtzoo.data.from_dataframe(pd.DataFrame({"x": []}),
                                  [F.NumericFeature("x", normalize=False)])


def test_space_column_restricts_the_task_to_its_rows():
    frame = pd.DataFrame({"click": [1, 0, 1, 0], "buy": [1, 0, 0, 1]})
    _, weights = mtzoo.data.label_arrays(
        frame, [T.binary("cvr", label="buy", space_column="click")])
    np.testing.assert_array_equal(weights["cvr"], [1, 0, 1, 0])


def test_a_task_without_any_label_is_refused_by_name():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "click": [1, 0, 1],
                          "rating": [np.nan, np.nan, np.nan]})
    tasks = [mtzoo.tasks.binary("click"), mtzoo.tasks.regression("rating")]
    features = [mtzoo.features.NumericFeature("x", normalize=False)]
    with pytest.raises(DataError, match="Task 'rating' has no label: "
                                        "column 'rating' is missing on all "
                                        "3 rows"):
        mtzoo.data.from_dataframe(frame, features, tasks)
    # Explicitly allowed (e.g. an evaluation split): the task weighs nothing.
    batch = next(iter(mtzoo.data.from_dataframe(
        frame, features, tasks, allow_unlabelled_tasks=True)))
    assert float(tf.reduce_sum(batch[2]["rating"])) == 0.0
    assert float(tf.reduce_sum(batch[2]["click"])) == 3.0
