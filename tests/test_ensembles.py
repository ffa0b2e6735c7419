"""A search's models combined per task, and the linear baselines served
as a Keras model that may join them."""

import copy

import numpy as np
import pandas as pd
import pytest

from mtzoo import baselines
from mtzoo import data
from mtzoo import export
from mtzoo import features as F
from mtzoo import models
from mtzoo import tasks as T
from mtzoo.baselines import models as baseline_models
from mtzoo.recipes import Splits
from mtzoo.runs import ensembles


def _splits(numeric: bool = True):
    rng = np.random.default_rng(1)
    rows = 1_200
    tags = [" ".join(rng.choice(list("pqrstu"), size=rng.integers(0, 4)))
            for _ in range(rows)]  # repeats within a bag count twice
    frame = pd.DataFrame({"x": rng.normal(size=rows),
                          "city": rng.choice(["a", "b", "c"], size=rows),
                          "tags": tags})
    signal = (frame["city"] == "a") + frame["tags"].str.count("p") + (
        frame["x"] if numeric else 0)
    frame["clicked"] = (signal + rng.normal(size=rows) > 0.8).astype(float)
    frame["spend"] = 3 * signal + rng.normal(size=rows)
    # The training rows never have "top": its probability stays ~0.
    frame["tier"] = np.where(signal > 1, "high", "low")
    frame.loc[1_000:1_010, "tier"] = "top"
    specs = [F.CategoricalFeature("city"),
             F.MultiCategoricalFeature("tags", separator=" ")]
    if numeric:
        specs.insert(0, F.NumericFeature("x"))
    features = F.adapt(specs, frame.iloc[:800])
    tasks = [T.binary("clicked"), T.regression("spend"),
             T.multiclass("tier", classes=["low", "high", "top"])]
    return Splits(frame.iloc[:800], frame.iloc[800:1_000],
                  frame.iloc[1_000:], features, tasks)


def _baseline_predictions(name, build, numeric, tmp_path):
    """`(splits, design, fits, encoded, predicted)`: the `name` baseline of
    `_splits(numeric)` as a Keras model, its predictions on the test rows,
    checked to come back unchanged from a `.keras` file (safe mode)."""
    splits = _splits(numeric)
    design, fitted = baselines.fitted(splits, seed=0)
    fits = {task: fit[name] for task, fit in fitted.items()}
    model = build(design, fits, splits.features, splits.tasks)
    encoded = data.encoded_arrays(splits.test, splits.features)
    predicted = model.predict(encoded, verbose=0)
    models.save_model(model, tmp_path / f"{name}.keras")
    again = models.load_model(tmp_path / f"{name}.keras").predict(
        encoded, verbose=0)
    for task in splits.tasks:
        np.testing.assert_allclose(again[task.name], predicted[task.name],
                                   atol=1e-6)
    return splits, design, fits, encoded, predicted


@pytest.mark.parametrize("numeric", [True, False])
def test_the_keras_linear_model_predicts_what_scikit_learn_does(numeric,
                                                                tmp_path):
    splits, design, fits, encoded, predicted = _baseline_predictions(
        "linear", baselines.linear_model, numeric, tmp_path)
    matrix = design.linear(encoded)
    for task in splits.tasks:
        expected = baseline_models.output(task, fits[task.name].estimator,
                                          matrix)
        np.testing.assert_allclose(predicted[task.name], expected,
                                   atol=2e-5)
    assert predicted["tier"][:, 2].max() < 1e-6  # never seen in training


@pytest.mark.parametrize("numeric", [True, False])
def test_the_constant_model_predicts_the_training_rows_constant(numeric,
                                                                 tmp_path):
    splits, _, _, _, predicted = _baseline_predictions(
        "constant", baselines.constant_model, numeric, tmp_path)
    train = splits.train
    expected = {"clicked": [train["clicked"].mean()],
                "spend": [train["spend"].mean()],
                # "top" never occurs in the training rows.
                "tier": [(train["tier"] == "low").mean(),
                         (train["tier"] == "high").mean(), 0.0]}
    for task, row in expected.items():
        np.testing.assert_allclose(
            predicted[task], np.tile(row, (len(splits.test), 1)), atol=1e-5)


def test_selection_takes_each_tasks_best_models_and_never_scores_lower():
    rng = np.random.default_rng(0)
    rows = 2_000
    truth = rng.normal(size=rows)
    clicked = (truth + rng.normal(size=rows) > 0).astype(float)
    spend = truth + rng.normal(scale=0.3, size=rows)
    tasks = [T.binary("clicked"), T.regression("spend")]
    labels = {"clicked": clicked, "spend": spend}
    weights = {"clicked": np.ones(rows), "spend": np.ones(rows)}

    def member(click_noise, spend_noise):
        return {"clicked": 1 / (1 + np.exp(-(
                    truth + rng.normal(scale=click_noise, size=rows)))),
                "spend": (truth + rng.normal(scale=spend_noise,
                                             size=rows))[:, None]}

    # Model 0 is best at clicks, model 1 at spend, model 2 at nothing;
    # models 3 and 4 are as good at spend as each other, in errors apart.
    predictions = [member(0.2, 2.0), member(3.0, 0.5), member(3.0, 3.0),
                   member(3.0, 0.5)]
    chosen, scores = ensembles.select(predictions, labels, weights, tasks)
    for task in tasks:
        assert sum(chosen[task.name]) == pytest.approx(1.0)
        assert min(chosen[task.name]) >= 0
        judged = scores[task.name]["worse_half"]
        assert judged["ensemble"] >= judged["best_single"]
    assert chosen["clicked"][0] == max(chosen["clicked"])
    assert chosen["clicked"][2] == 0 and chosen["spend"][2] == 0
    # Two equally good models with independent errors average better
    # than either.
    assert chosen["spend"][1] > 0 and chosen["spend"][3] > 0
    assert scores["spend"]["worse_half"]["ensemble"] > \
        scores["spend"]["worse_half"]["best_single"]
    assert scores["spend"]["ensemble"] > scores["spend"]["best_single"]


def test_a_member_taken_alone_is_never_mixed_in():
    rng = np.random.default_rng(0)
    rows = 2_000
    truth = rng.normal(size=rows)
    spend = truth + rng.normal(size=rows)
    tasks = [T.regression("spend")]
    weights = {"spend": np.ones(rows)}
    mean = np.full((rows, 1), spend.mean())
    # The signal overshot by half: shrinking it toward the mean helps.
    overshoot = {"spend": 1.5 * truth[:, None]}
    chosen, _ = ensembles.select([overshoot, {"spend": mean}],
                                 {"spend": spend}, weights, tasks)
    assert chosen["spend"][1] > 0
    chosen, _ = ensembles.select([overshoot, {"spend": mean}],
                                 {"spend": spend}, weights, tasks, alone={1})
    assert chosen["spend"] == [1.0, 0.0]
    # Where no model beats the mean, it is taken by itself.
    noise = {"spend": rng.normal(size=(rows, 1))}
    chosen, _ = ensembles.select([noise, {"spend": mean}],
                                 {"spend": spend}, weights, tasks, alone={1})
    assert chosen["spend"] == [0.0, 1.0]


def test_rows_split_by_time_select_from_a_large_library_in_bags():
    rng = np.random.default_rng(5)
    rows = 2_000
    truth = rng.normal(size=rows)
    tasks = [T.regression("spend")]
    labels, weights = {"spend": truth}, {"spend": np.ones(rows)}

    def model(noise):
        return {"spend": (truth + rng.normal(scale=noise, size=rows))[:, None]}

    # One model far better than the rest on the validation rows, weak
    # ones that still beat the mean, and ones worse than the mean.
    best, weak = model(0.3), [model(0.9) for _ in range(ensembles.MIN_BAGGED)]
    worse = [model(3.0) for _ in range(ensembles.MIN_BAGGED)]
    mean = {"spend": np.zeros((rows, 1))}
    library = [best] + weak + worse + [mean]

    def select(library, **kwargs):
        chosen, scores = ensembles.select(
            library, labels, weights, tasks, alone={len(library) - 1},
            **kwargs)
        return chosen["spend"], scores["spend"]

    # A random split: one forward selection, led by the best model.
    forward, scores = select(library, seed=0)
    assert forward[0] > 0.5 and scores["bags"] == 0
    # Split by time, but too few models above the mean to bag: the same.
    few = [best] + weak[:ensembles.MIN_BAGGED - 2] + worse + [mean]
    assert select(few, by_time=True)[0][0] > 0.5

    share, scores = select(library, by_time=True, seed=0)
    assert scores["bags"] == ensembles.BAGS
    assert sum(share) == pytest.approx(1.0)
    # Bags without the best model take weak ones, so the weight spreads;
    # the best model still holds the most. Models worse than the mean are
    # in no bag, and the constant is not mixed in.
    assert share[0] == max(share) and share[0] < forward[0]
    assert sum(s > 0 for s in share[1:ensembles.MIN_BAGGED + 1]) >= 3
    assert not any(share[ensembles.MIN_BAGGED + 1:])
    assert scores["worse_half"]["ensemble"] > \
        0.5 * scores["worse_half"]["best_single"]
    # The bags are drawn from the seed: the same seed, the same weights.
    assert select(library, by_time=True, seed=0)[0] == share
    assert select(library, by_time=True, seed=1)[0] != share


def test_the_report_names_the_tasks_selected_in_bags():
    from mtzoo import reporting

    record = {"candidates": 12, "used": True,
              "weights": {"wind": {"final": 0.6, "linear": 0.4},
                          "pressure": {"final": 1.0}},
              "validation": {
                  "wind": {"best_single": 0.1, "ensemble": 0.2,
                           "bags": ensembles.BAGS},
                  "pressure": {"best_single": 0.3, "ensemble": 0.3,
                               "bags": 0}}}
    text = "\n".join(reporting._ensemble_section(record))
    assert (f"split by time: wind took the mean of {ensembles.BAGS} "
            "selections") in text
    assert "pressure took" not in text
    record["validation"]["wind"]["bags"] = 0
    assert "split by time" not in "\n".join(
        reporting._ensemble_section(record))


def test_an_ensemble_is_one_model_that_saves_loads_and_serves(tmp_path):
    splits = _splits()
    design, fitted = baselines.fitted(splits, seed=0)
    fits = {task: fit["linear"] for task, fit in fitted.items()}
    weaker = {name: copy.deepcopy(fit) for name, fit in fits.items()}
    for fit in weaker.values():
        fit.estimator.coef_ = fit.estimator.coef_ * 0.5
    members = [ensembles.Member(name, baselines.linear_model(
        design, chosen_fits, splits.features, splits.tasks, name=name), {})
        for name, chosen_fits in (("final", fits), ("trial_1", weaker))]
    chosen = {"clicked": [0.25, 0.75], "spend": [1.0, 0.0],
              "tier": [0.5, 0.5]}
    model = ensembles.combine(members, chosen, splits.features,
                              splits.tasks)
    encoded = data.encoded_arrays(splits.test, splits.features)
    parts = [m.model.predict(encoded, verbose=0) for m in members]
    together = model.predict(encoded, verbose=0)
    for task, weights in chosen.items():
        np.testing.assert_allclose(
            together[task], weights[0] * parts[0][task]
            + weights[1] * parts[1][task], atol=1e-6)
    models.save_model(model, tmp_path / "ensemble.keras")
    reloaded = models.load_model(tmp_path / "ensemble.keras")
    np.testing.assert_allclose(reloaded.predict(encoded, verbose=0)["tier"],
                               together["tier"], atol=1e-6)
    serving = models.serving_model(reloaded)
    raw = data.feature_arrays(splits.test.iloc[:5], splits.features)
    np.testing.assert_allclose(serving(raw)["clicked"],
                               together["clicked"][:5], atol=1e-6)


def test_the_keras_gradient_boosting_predicts_what_scikit_learn_does(
        tmp_path):
    rng = np.random.default_rng(2)
    rows = 1_500
    frame = pd.DataFrame({
        "x": rng.normal(size=rows),
        "city": rng.choice(["a", "b", "c", "d"], size=rows),
        # 300 users: more than trees split on, so target-encoded.
        "user": rng.integers(0, 300, size=rows),
        "tags": [" ".join(rng.choice(list("pqr"), size=rng.integers(0, 3)))
                 for _ in range(rows)]})
    frame.loc[::7, "x"] = np.nan  # imputed, with a missing flag
    signal = (frame["x"].fillna(0) + (frame["city"] == "a")
              + np.sin(frame["user"]) + frame["tags"].str.len() / 3)
    frame["clicked"] = (signal + rng.normal(size=rows) > 0.5).astype(float)
    frame["spend"] = 3 * signal + rng.normal(size=rows)
    frame["tier"] = np.select([signal < 0, signal < 1], ["low", "mid"],
                              "high")
    frame.loc[1_400:1_405, "tier"] = "top"  # never in training
    features = F.adapt([F.NumericFeature("x"), F.CategoricalFeature("city"),
                        F.CategoricalFeature("user", dtype="int64"),
                        F.MultiCategoricalFeature("tags", separator=" ")],
                       frame.iloc[:1_000])
    tasks = [T.binary("clicked"), T.regression("spend"),
             T.multiclass("tier", classes=["low", "mid", "high", "top"])]
    splits = Splits(frame.iloc[:1_000], frame.iloc[1_000:1_200],
                    frame.iloc[1_200:], features, tasks)
    design, fitted = baselines.fitted(splits, seed=0)
    fits = {task: fit["gradient_boosting"] for task, fit in fitted.items()}
    assert all(fit.encoder is not None for fit in fits.values())
    model = baselines.boosted_model(design, fits, features, tasks)
    encoded = data.encoded_arrays(splits.test, features)
    trees = design.trees(encoded)
    predicted = model.predict(encoded, verbose=0)
    for task in tasks:
        fit = fits[task.name]
        expected = baseline_models.output(task, fit.estimator,
                                          fit.columns(trees))
        np.testing.assert_allclose(predicted[task.name], expected,
                                   atol=1e-5)
    layer = model.get_layer("clicked_trees")
    assert layer.layout == "numeric" and layer.categorical_splits
    # The level-by-level layout of models saved before: tested below.
    # Numbers alone: no categorical split, each level's shorter path.
    numeric, spend = features[:1], tasks[1:2]
    design_, fitted_ = baselines.fitted(
        Splits(splits.train, splits.validation, splits.test, numeric, spend),
        seed=0)
    fit = fitted_["spend"]["gradient_boosting"]
    alone = baselines.boosted_model(design_, {"spend": fit}, numeric, spend)
    assert alone.get_layer("spend_trees").layout == "numeric"
    encoded_ = data.encoded_arrays(splits.test, numeric)
    np.testing.assert_allclose(
        alone.predict(encoded_, verbose=0)["spend"],
        baseline_models.output(spend[0], fit.estimator,
                               fit.columns(design_.trees(encoded_))),
        atol=1e-5)
    models.save_model(model, tmp_path / "trees.keras")
    again = models.load_model(tmp_path / "trees.keras").predict(
        encoded, verbose=0)
    np.testing.assert_allclose(again["tier"], predicted["tier"], atol=1e-6)
    # The SavedModel serves the same from raw values.
    import tensorflow as tf

    path = export.export_saved_model(model, tmp_path / "export",
                                     model_name="trees")
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    raw = data.feature_arrays(splits.test.iloc[:8], features)
    served = serve(**{name: tf.constant(value) for name, value in
                      raw.items()})
    np.testing.assert_allclose(served["tier"].numpy(), predicted["tier"][:8],
                               atol=1e-5)


def test_a_model_that_holds_up_in_one_half_of_the_rows_only_is_not_followed():
    rng = np.random.default_rng(3)
    rows = 4_000
    truth = rng.normal(size=rows)
    early = np.arange(rows) < rows // 2
    # Better over all the rows, far worse in the later half (as trees
    # beyond their training range on a table split by time).
    drifting = truth + rng.normal(size=rows) * np.where(early, 0.1, 1.2)
    steady = truth + rng.normal(scale=0.9, size=rows)
    tasks = [T.regression("spend")]
    chosen, scores = ensembles.select(
        [{"spend": drifting[:, None]}, {"spend": steady[:, None]}],
        {"spend": truth}, {"spend": np.ones(rows)}, tasks)
    assert scores["spend"]["best_single"] < T.regression("spend").evaluate(
        truth, drifting, np.ones(rows))["skill"]  # the steady one, kept
    assert chosen["spend"][1] > chosen["spend"][0]


def test_multiclass_mixtures_are_judged_by_log_loss_not_accuracy():
    rng = np.random.default_rng(4)
    rows = 600
    tier = rng.integers(0, 3, size=rows)
    truth = np.eye(3)[tier]
    # Right on every row but barely sure: the best accuracy, a poor log
    # loss. Sure and right on 90% of rows, sure and wrong on the rest.
    timid = 0.3 + 0.1 * truth
    wrong = rng.random(rows) < 0.1
    sure = np.where(wrong[:, None], np.eye(3)[(tier + 1) % 3], truth)
    sure = 0.05 + 0.85 * sure
    task = T.multiclass("tier", 3)
    assert task.selected_by == "log_loss"
    chosen, scores = ensembles.select(
        [{"tier": timid}, {"tier": sure}], {"tier": tier},
        {"tier": np.ones(rows)}, [task])
    assert chosen["tier"][1] > chosen["tier"][0]
    judged = scores["tier"]["worse_half"]
    assert judged["metric"] == "log_loss"
    assert judged["ensemble"] == pytest.approx(
        task.selection_score(tier, sum(
            w * p for w, p in zip(chosen["tier"], (timid, sure))),
            np.ones(rows)), abs=0.05)
    # What the report shows stays the primary metric: accuracy.
    assert scores["tier"]["best_single"] == pytest.approx(0.9, abs=0.04)


@pytest.mark.parametrize("layout", ["numeric", "levels"])
def test_trees_send_missing_and_unseen_categories_as_scikit_learn_does(
        layout):
    from sklearn.ensemble import HistGradientBoostingRegressor

    from mtzoo.baselines import keras_trees
    from mtzoo.layers import TreeEnsemble

    rng = np.random.default_rng(4)
    rows = 2_000
    matrix = np.column_stack([rng.integers(0, 6, rows).astype(float),
                              rng.normal(size=rows)])
    matrix[::9, 0] = np.nan  # missing categories in training too
    matrix[::7, 1] = np.nan
    target = (np.isin(matrix[:, 0], [1, 4]) * 2.0 + np.nan_to_num(
        matrix[:, 1]) + np.isnan(matrix[:, 0]) + rng.normal(size=rows))
    estimator = HistGradientBoostingRegressor(
        max_iter=30, categorical_features=[True, False],
        random_state=0).fit(matrix, target)
    # Unseen categories (7, 200), negative and fractional codes, missing
    # values in both columns.
    queries = np.array([[0, 0.5], [1, np.nan], [4, -1.0], [np.nan, 0.3],
                        [7, 0.0], [200, 1.0], [-3, 0.2], [2.5, 0.1],
                        [5, 2.0], [np.nan, np.nan]])
    trees = keras_trees._trees(estimator, layout=layout)
    assert trees["config"]["categorical_splits"]
    layer = TreeEnsemble(**trees["config"])
    layer(queries.astype(np.float32))
    layer.set_weights(trees["weights"])
    np.testing.assert_allclose(
        np.asarray(layer(queries.astype(np.float32))).reshape(-1),
        estimator.predict(queries), atol=1e-5)


def test_predicting_with_several_models_in_a_row_warns_of_no_retracing(
        impressions, impression_features, caplog, monkeypatch):
    import logging

    import tensorflow as tf

    from mtzoo.data import synthetic
    from mtzoo.runs import steps

    tasks = synthetic.impression_tasks()
    rows = impressions[1].iloc[:300]  # a full batch and a smaller one
    # Through `Model.predict`, as frames of more batches are.
    monkeypatch.setattr(steps, "EAGER_BATCHES", {"xla": 0, "traced": 0})
    logger = tf.get_logger()
    logger.addHandler(caplog.handler)
    try:
        for _ in range(3):
            model = models.build("shared_bottom", impression_features, tasks)
            steps.predict(model, rows, impression_features, batch_size=256)
    finally:
        logger.removeHandler(caplog.handler)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]

    # TensorFlow warns at most twice a process, so the warning may have
    # been spent before: the logger itself must drop it, and nothing else.
    def record(message):
        return logging.LogRecord("tensorflow", logging.WARNING, __file__, 0,
                                 message, None, None)

    assert not logger.filter(record(
        "5 out of the last 5 calls to <function one_step_on_data> "
        "triggered tf.function retracing. Tracing is expensive"))
    assert logger.filter(record("another warning"))
