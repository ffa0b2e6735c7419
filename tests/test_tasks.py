import keras
import numpy as np
import pytest

from mtzoo import tasks as T


def test_defaults_by_kind():
    click = T.binary("click")
    assert (click.activation, click.output_units) == ("sigmoid", 1)
    assert isinstance(click.make_loss(), keras.losses.BinaryCrossentropy)
    assert [m.name for m in click.make_metrics()] == [
        "click_auc", "click_accuracy"]
    rating = T.regression("rating", loss="huber")
    assert isinstance(rating.make_loss(), keras.losses.Huber)
    assert [m.name for m in rating.make_metrics()] == [
        "rating_rmse", "rating_mae"]
    interest = T.multiclass("interest", num_classes=10, top_k=3)
    assert (interest.activation, interest.output_units) == ("softmax", 10)
    assert [m.name for m in interest.make_metrics()] == [
        "interest_accuracy", "interest_top3_accuracy"]


def test_loss_is_the_weighted_mean_over_labelled_examples():
    loss = T.binary("click").make_loss()
    y_true = np.array([[1.0], [0.0], [1.0]])
    y_pred = np.array([[0.9], [0.2], [0.01]])
    masked = float(loss(y_true, y_pred, sample_weight=np.array([1, 1, 0.])))
    expected = -(np.log(0.9) + np.log(0.8)) / 2
    assert masked == pytest.approx(expected, rel=1e-5)
    # A batch without any label contributes zero, not NaN.
    assert float(loss(y_true, y_pred, sample_weight=np.zeros(3))) == 0.0


def test_label_column_defaults_to_name():
    assert T.binary("click").label_column == "click"
    assert T.binary("ctr", label="click").label_column == "click"


@pytest.mark.parametrize("make, message", [
    (lambda: T.Task("x", "ranking"), "kind"),
    (lambda: T.Task("x", "multiclass"), "num_classes"),
    (lambda: T.multiclass("x", num_classes=1), "num_classes"),
    (lambda: T.binary("x", num_classes=3), "num_classes"),
    (lambda: T.binary("x", loss="mse"), "does not fit a binary task"),
    (lambda: T.regression("x", metrics=["auc"]), "unknown regression metric"),
    (lambda: T.binary("x", weight=-1.0), "weight"),
    (lambda: T.binary("click-through"), "Task name"),
])
def test_invalid_tasks(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_duplicate_task_names():
    with pytest.raises(ValueError, match=r"\['click'\] appear more than once"):
        T.validate([T.binary("click"), T.regression("click")])


def test_config_round_trip():
    task = T.multiclass("interest", num_classes=4, metrics=["accuracy"],
                        weight=0.5, missing_label=-1)
    assert T.deserialize(T.serialize(task)) == task


def test_keras_loss_names_and_callables_can_override_a_task_loss():
    task = T.regression("rating")
    by_name = task.make_loss("mean_squared_logarithmic_error")
    y_true, y_pred = np.array([[1.0], [3.0]]), np.array([[2.0], [3.0]])
    expected = np.mean((np.log1p(y_pred) - np.log1p(y_true)) ** 2)
    assert float(by_name(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="unknown loss 'nope'"):
        task.make_loss("nope")


def test_names_that_cannot_be_keys_say_what_to_write():
    import pandas as pd

    from mtzoo import data
    from mtzoo import features as F

    with pytest.raises(ValueError, match=r"CategoricalFeature\('clothing_id"
                                         r"', column='Clothing ID'\)"):
        F.CategoricalFeature("Clothing ID")
    with pytest.raises(ValueError, match=r"binary\('recommended_ind', "
                                         r"label='Recommended IND'\)"):
        T.binary("Recommended IND")
    frame = pd.DataFrame({"y": [0, 5]}, index=np.array([7, 22440]))
    with pytest.raises(F.DataError) as error:
        data.label_arrays(frame, [T.binary("y")])
    assert "row 1 (index 22440) has 5 " in str(error.value)
    assert "np." not in str(error.value)


def test_multiclass_with_classes_takes_label_values():
    import pandas as pd

    from mtzoo import data
    from mtzoo import features as F

    task = T.multiclass("stars", classes=[1, 2, 3, 4, 5])
    assert task.num_classes == 5
    assert T.Task.from_config(task.get_config()) == task
    frame = pd.DataFrame({"stars": [5, 1, None, 3]})
    labels, weights = data.label_arrays(frame, [task])
    assert labels["stars"].ravel().tolist() == [4, 0, 0, 2]
    assert weights["stars"].tolist() == [1, 1, 0, 1]
    with pytest.raises(F.DataError, match=r"classes \[1, 2, 3, 4, 5\].*"
                                          r"row 1 has 6"):
        data.label_arrays(pd.DataFrame({"stars": [5, 6]}), [task])
    with pytest.raises(ValueError, match="multiclass tasks only"):
        T.Task("stars", T.BINARY, classes=(0, 1))
