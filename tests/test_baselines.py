"""Baselines beside a run: fitted on the run's rows, scored as the tasks
score the network."""

import numpy as np
import pandas as pd
import pytest

from mtzoo import baselines
from mtzoo import features as F
from mtzoo import tasks as T
from mtzoo.recipes import Splits


@pytest.fixture(scope="module")
def splits():
    rng = np.random.default_rng(0)
    rows = 3_000
    frame = pd.DataFrame({
        "x": rng.normal(size=rows),
        "city": rng.choice(["a", "b", "c"], size=rows),
        # 400 users: more than a histogram tree splits on.
        "user": rng.integers(0, 400, size=rows)})
    user_effect = np.sin(frame["user"].to_numpy())
    signal = frame["x"] + (frame["city"] == "a") + 2 * user_effect
    frame["clicked"] = (signal + rng.normal(size=rows) > 0.5).astype(float)
    frame["spend"] = 10 * signal + rng.normal(size=rows)
    frame.loc[::5, "spend"] = np.nan  # unlabelled rows are left out
    frame["tier"] = np.select([signal < -0.5, signal < 1.0],
                              ["low", "mid"], "high")
    features = F.adapt([F.NumericFeature("x"), F.CategoricalFeature("city"),
                        F.CategoricalFeature("user", dtype="int64")],
                       frame.iloc[:2_000])
    tasks = [T.binary("clicked"), T.regression("spend"),
             T.multiclass("tier", classes=["low", "mid", "high"])]
    return Splits(frame.iloc[:2_000], frame.iloc[2_000:2_500],
                  frame.iloc[2_500:], features, tasks)


@pytest.fixture(scope="module")
def scored(splits):
    return baselines.fit_and_score(splits, seed=0)


def test_every_task_gets_three_baselines_scored_on_its_own_metrics(scored):
    assert set(scored) == {"clicked", "spend", "tier"}
    for task in scored.values():
        assert list(task) == list(baselines.NAMES)
    clicked, spend, tier = (scored[n] for n in ("clicked", "spend", "tier"))
    # The constant knows nothing; the models find the signal.
    assert clicked["constant"]["auc"] is None or \
        clicked["constant"]["auc"] == pytest.approx(0.5)
    assert clicked["gradient_boosting"]["auc"] > 0.8
    assert clicked["linear"]["auc"] > 0.7
    assert abs(spend["constant"]["skill"]) < 0.05
    assert spend["gradient_boosting"]["skill"] > 0.4
    assert spend["linear"]["examples"] == 400  # 500 test rows, 1 in 5 NaN
    assert tier["gradient_boosting"]["accuracy"] > \
        tier["constant"]["accuracy"] + 0.2
    assert tier["linear"]["strength"] in (0.01, 0.1, 1.0, 10.0)
    assert isinstance(tier["linear"]["converged"], bool)


def test_ids_of_many_users_are_target_encoded_for_the_trees(splits):
    design = baselines.Design(list(splits.features))
    from mtzoo import data

    design.fit(data.encoded_arrays(splits.train, splits.features))
    categorical = design.categorical
    assert design.many_valued == [2]  # user: 400 ids
    assert categorical == [False, True, False]  # x, city, user


def test_losses_name_the_task_and_the_baseline(splits, scored):
    network = {"clicked": {"auc": 0.55}, "spend": {"skill": 0.99},
               "tier": {"accuracy": 0.99}}
    lines = baselines.losses(network, scored, splits.tasks)
    best = max(("gradient_boosting", "linear"),
               key=lambda name: scored["clicked"][name]["auc"])
    assert lines == [
        f"clicked: the network's auc 0.5500 is below "
        f"{best.replace('_', ' ')}'s {scored['clicked'][best]['auc']:.4f}"]


def test_retrieval_tasks_get_the_most_popular_items():
    frame = pd.DataFrame({"item": ["a", "a", "b", "a", "c", "b"] * 50,
                          "user": ["u", "v", "w"] * 100})
    features = F.adapt([F.CategoricalFeature("item"),
                        F.CategoricalFeature("user")], frame)
    splits = Splits(frame.iloc[:200], frame.iloc[200:250], frame.iloc[250:],
                    features, [T.retrieval("next", candidate_features=[
                        "item"], ks=(1, 3))])
    scored = baselines.fit_and_score(splits)
    popular = scored["next"]["popularity"]
    # "a", the most frequent training item, is every test row's first.
    assert popular["recall_at_1"] == pytest.approx(
        (splits.test["item"] == "a").mean())
    assert 0.4 < popular["recall_at_1"] < 0.6
    assert popular["recall_at_3"] == pytest.approx(1.0)
    assert popular["examples"] == 50


def test_a_search_aims_at_the_better_baseline_on_every_task(splits, scored):
    from mtzoo.runs import tuning

    targets = baselines.validation_targets(scored)
    for task in splits.tasks:
        entry = scored[task.name]
        assert targets[task.name] == max(
            entry["gradient_boosting"]["validation_score"],
            entry["linear"]["validation_score"])
    clicked, spend, tier = splits.tasks
    scores = {"combined_score": 0.6,
              "tasks": {"clicked": {"auc": targets["clicked"] + 0.05},
                        "spend": {"skill": targets["spend"] - 0.09},
                        "tier": {"accuracy": targets["tier"] - 0.03}}}
    # The combined score less the tasks' mean shortfall (gains do not
    # make up for a loss elsewhere).
    assert tuning.objective_value(scores, splits.tasks, targets) == \
        pytest.approx(0.6 - (0.09 + 0.03) / 3)
    assert tuning.objective_value(scores, splits.tasks, None) == 0.6


def test_a_linear_model_that_does_not_converge_says_so_without_a_warning():
    import warnings

    from sklearn import linear_model

    from mtzoo.baselines import models

    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(200, 5))
    labels = (matrix[:, 0] + rng.normal(size=200) > 0).astype(int)
    weights = np.ones(200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not models.fit_recording_convergence(
            linear_model.LogisticRegression(max_iter=1), matrix, labels,
            weights)
        assert models.fit_recording_convergence(
            linear_model.LogisticRegression(max_iter=300), matrix, labels,
            weights)
