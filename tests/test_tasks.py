import keras
import numpy as np
import pytest

from mtzoo import features as F
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
    (lambda: T.create("ranking", "x"), "kind"),
    (lambda: T.create("multiclass", "x"), "num_classes"),
    (lambda: T.multiclass("x", num_classes=1), "num_classes"),
    (lambda: T.create("binary", "x", num_classes=3),
     r"\['num_classes'\] do not apply to binary tasks"),
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
    with pytest.raises(ValueError, match="do not apply to binary tasks"):
        T.create("binary", "stars", classes=(0, 1))


def test_binary_labels_may_be_names():
    import pandas as pd

    from mtzoo import data

    frame = pd.DataFrame({"bought": ["Yes", "no", None, "YES "],
                          "outcome": ["hit", "miss", "hit", None],
                          "flag": [True, False, None, True],
                          "digits": ["1", "0", "1", None]})
    named = T.binary("outcome", positive="hit")
    assert T.Task.from_config(named.get_config()) == named
    tasks = [T.binary("bought"), named, T.binary("flag"),
             T.binary("digits")]
    labels, weights = data.label_arrays(frame, tasks)
    assert {k: v.ravel().tolist() for k, v in labels.items()} == {
        "bought": [1, 0, 0, 1], "outcome": [1, 0, 1, 0],
        "flag": [1, 0, 0, 1], "digits": [1, 0, 1, 0]}
    assert {k: v.tolist() for k, v in weights.items()} == {
        "bought": [1, 1, 0, 1], "outcome": [1, 1, 1, 0],
        "flag": [1, 1, 0, 1], "digits": [1, 1, 1, 0]}
    stars = pd.DataFrame({"stars": [5, None, 3, 5]})
    five, _ = data.label_arrays(stars, [T.binary("stars", positive=5)])
    assert five["stars"].ravel().tolist() == [1, 0, 0, 1]
    with pytest.raises(F.DataError, match=r"set `positive`.*column "
                                          r"'outcome', but row 0 has 'hit'"):
        data.label_arrays(frame, [T.binary("outcome")])


def test_balanced_class_weighting_weighs_the_loss_not_the_metrics():
    import pandas as pd

    from mtzoo import data

    frame = pd.DataFrame({"clicked": [0, 0, 0, 1, None],
                          "tier": ["a", "a", "a", "b", "c"]})
    clicked, tier = T.adapt(
        [T.binary("clicked", class_weighting="balanced"),
         T.multiclass("tier", classes=["a", "b", "c", "d"],
                      class_weighting="balanced")], frame)
    # n / (classes * n_class), over labelled rows; an unseen class keeps 1.
    np.testing.assert_allclose(clicked.class_weights, [4 / 6, 4 / 2])
    np.testing.assert_allclose(tier.class_weights, [5 / 12, 5 / 4, 5 / 4,
                                                    1.0])
    assert T.deserialize(T.serialize(clicked)) == clicked
    labels = np.array([[0.0], [1.0]], np.float32)
    predictions = np.array([[0.3], [0.3]], np.float32)
    plain = keras.losses.binary_crossentropy(labels, predictions).numpy()
    weighted = float(clicked.make_loss()(labels, predictions))
    assert weighted == pytest.approx(
        (plain[0] * 4 / 6 + plain[1] * 2) / 2, rel=1e-5)
    # Evaluation weights stay those of the labels.
    _, weights = data.label_arrays(frame, [clicked])
    assert weights["clicked"].tolist() == [1, 1, 1, 1, 0]
    with pytest.raises(ValueError, match="class_weighting must be one of"):
        T.binary("clicked", class_weighting="yes")


def test_adapt_learns_the_scale_of_regression_labels_only():
    import pandas as pd

    frame = pd.DataFrame({"spend": [10.0, 30.0, np.nan, 50.0, -1.0],
                          "click": [1.0, 0.0, 1.0, 0.0, 1.0]})
    spend, click, logged = T.adapt(
        [T.regression("spend", missing_label=-1.0), T.binary("click"),
         T.regression("log_spend", label="spend", log_transform=True,
                      missing_label=-1.0)], frame)
    assert spend.label_scaling == pytest.approx(
        (30.0, np.std([10.0, 30.0, 50.0]), False))
    assert click.label_scaling is None and not click.needs_adapt
    mean, scale, log = logged.label_scaling
    assert log and mean == pytest.approx(np.log1p([10, 30, 50]).mean())
    assert T.Task.from_config(spend.get_config()) == spend
    assert "label_mean" not in click.get_config()
    assert T.regression("raw", standardize=False).label_scaling is None
    constant = T.adapt([T.regression("c")], pd.DataFrame({"c": [2.0] * 3}))
    assert constant[0].label_scaling == (2.0, 1.0, False)


def test_adapt_names_the_row_of_a_label_log1p_cannot_take():
    import pandas as pd

    frame = pd.DataFrame({"spend": [1.0, -3.0, 2.0]})
    with pytest.raises(F.DataError, match=r"'spend'.*row 1.*-3"):
        T.adapt([T.regression("spend", log_transform=True)], frame)
    with pytest.raises(ValueError, match="do not apply to binary tasks"):
        T.binary("click", log_transform=True)


def test_scaled_loss_is_the_loss_of_standardized_labels():
    import pandas as pd

    (task,) = T.adapt([T.regression("spend")],
                      pd.DataFrame({"spend": [100.0, 300.0]}))
    assert task.label_scaling == (200.0, 100.0, False)
    y_true = np.array([[100.0], [300.0]], np.float32)
    y_pred = np.array([[150.0], [300.0]], np.float32)
    # (0.5 standard deviations)^2 / 2 examples
    assert float(task.make_loss()(y_true, y_pred)) == pytest.approx(0.125)
    assert float(task.make_loss("mae")(y_true, y_pred)) == pytest.approx(
        0.25)


def test_regression_of_any_scale_trains_standardized_and_predicts_in_units(
        tmp_path):
    import pandas as pd

    import mtzoo

    rng = np.random.default_rng(0)
    rows = 6000
    x = rng.normal(size=(rows, 4))
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["small"] = x @ [0.5, -0.2, 0.1, 0.3] + 0.05 * rng.normal(size=rows)
    frame["price"] = 300 + 80 * (x @ [1.0, 0.5, -0.5, 0.2]) \
        + 5 * rng.normal(size=rows)
    features = mtzoo.features.adapt(
        [mtzoo.features.NumericFeature(c) for c in "abcd"], frame)
    raw = [T.regression("small"), T.regression("price")]
    train, test = frame.iloc[:5000], frame.iloc[5000:]

    def test_error(tasks):
        keras.utils.set_random_seed(0)
        model = mtzoo.models.mmoe(features, tasks, num_experts=4,
                                  expert_units=[32], tower_units=[16])
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        model.fit(mtzoo.data.from_dataframe(train, features, tasks,
                                            batch_size=128, shuffle=True,
                                            seed=0), epochs=5, verbose=0)
        predicted = model.predict(mtzoo.data.model_inputs(test, features),
                                  verbose=0)
        errors = {t: float(np.sqrt(np.mean(np.square(
            np.asarray(predicted[t]).ravel() - test[t]))) / test[t].std())
            for t in ("small", "price")}
        return model, errors

    _, raw_errors = test_error(raw)
    model, errors = test_error(T.adapt(raw, train))
    assert errors["price"] < 0.15, errors
    assert errors["price"] < raw_errors["price"] / 2, (errors, raw_errors)
    assert errors["small"] < raw_errors["small"], (errors, raw_errors)
    metrics = model.evaluate(mtzoo.data.from_dataframe(
        test, features, model.tasks, batch_size=1000), return_dict=True,
        verbose=0)
    # reported in dollars, not standard deviations
    assert 5 < metrics["price_rmse"] < 0.15 * test["price"].std()
    path = mtzoo.models.save_model(model, tmp_path / "m.keras")
    reloaded = mtzoo.models.load_model(path)
    x = mtzoo.data.model_inputs(test.iloc[:50], features)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0)["price"],
                               model.predict(x, verbose=0)["price"])


def test_string_class_labels_train_through_a_dataset():
    import pandas as pd

    from mtzoo import data

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0],
                          "mpaa": ["R", None, "PG", "PG-13"]})
    task = T.multiclass("mpaa", classes=["PG", "PG-13", "R"])
    features = F.adapt([F.NumericFeature("x")], frame)
    _, labels, weights = next(iter(data.from_dataframe(
        frame, features, [task], batch_size=4)))
    assert labels["mpaa"].numpy().ravel().tolist() == [2, 0, 0, 1]
    assert weights["mpaa"].numpy().tolist() == [1, 0, 1, 1]
