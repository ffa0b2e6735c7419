import numpy as np
import pytest

from mtzoo import evaluation
from mtzoo import tasks as T


def test_binary_metrics_match_hand_computation():
    task = T.binary("click")
    labels = {"click": np.array([[1.0], [0.0], [1.0], [0.0], [1.0]])}
    predictions = {"click": np.array([[0.9], [0.2], [0.4], [0.6], [0.7]])}
    weights = {"click": np.array([1.0, 1.0, 1.0, 1.0, 0.0])}  # last masked
    result = evaluation.evaluate([task], labels, predictions, weights)
    click = result["tasks"]["click"]
    assert click["examples"] == 4
    assert click["auc"] == pytest.approx(0.75)  # 3 of 4 pairs ordered
    assert click["accuracy"] == pytest.approx(0.5)
    assert click["precision"] == pytest.approx(0.5)
    assert click["recall"] == pytest.approx(0.5)
    expected_log_loss = -np.mean(np.log([0.9, 0.8, 0.4, 0.4]))
    assert click["log_loss"] == pytest.approx(expected_log_loss)
    assert result["combined_score"] == pytest.approx(0.75)


def test_single_class_auc_is_reported_as_undefined():
    result = evaluation.evaluate(
        [T.binary("buy")], {"buy": np.zeros((4, 1))},
        {"buy": np.full((4, 1), 0.1)})
    assert result["tasks"]["buy"]["auc"] is None
    assert "single class" in result["tasks"]["buy"]["notes"][0]


def test_regression_and_multiclass_and_combined_score():
    tasks = [T.regression("rating", weight=1.0),
             T.multiclass("interest", num_classes=3, top_k=2, weight=3.0)]
    labels = {"rating": np.array([[1.0], [3.0]]),
              "interest": np.array([[0], [2]])}
    predictions = {"rating": np.array([[2.0], [3.0]]),
                   "interest": np.array([[0.7, 0.2, 0.1],
                                         [0.5, 0.1, 0.4]])}
    result = evaluation.evaluate(tasks, labels, predictions)
    rating = result["tasks"]["rating"]
    assert rating["rmse"] == pytest.approx(np.sqrt(0.5))
    assert rating["mae"] == pytest.approx(0.5)
    assert rating["skill"] == pytest.approx(1 - np.sqrt(0.5) / 1.0)
    interest = result["tasks"]["interest"]
    assert interest["accuracy"] == pytest.approx(0.5)
    assert interest["top2_accuracy"] == pytest.approx(1.0)
    assert result["combined_score"] == pytest.approx(
        (rating["skill"] + 3 * 0.5) / 4)


@pytest.mark.parametrize("task", [
    T.binary("click"), T.multiclass("interest", num_classes=4)],
    ids=lambda t: t.kind)
def test_the_primary_score_alone_is_scikit_learns(task):
    # Model selection scores with `primary_score` (what `evaluate` reports
    # as the primary metric), without the other metrics.
    from sklearn import metrics

    rng = np.random.default_rng(0)
    n = 300
    weights = rng.choice([0.0, 0.5, 1.0, 2.0], n)
    if task.kind == "multiclass":
        labels = rng.integers(0, 4, (n, 1)).astype(float)
        predictions = rng.dirichlet(np.ones(4), n)
        expected = metrics.accuracy_score(
            labels[:, 0], predictions.argmax(-1), sample_weight=weights)
    else:
        labels = (rng.random((n, 1)) < 0.3).astype(float)
        predictions = rng.random((n, 1))
        expected = metrics.roc_auc_score(labels[:, 0], predictions[:, 0],
                                         sample_weight=weights)
    assert task.primary_score(labels, predictions, weights) == \
        pytest.approx(expected, rel=1e-12)
    assert task.evaluate(labels, predictions, weights)[
        task.primary_metric] == pytest.approx(expected, rel=1e-12)
    if task.kind == "binary":
        assert task.primary_score(np.zeros((n, 1)), predictions,
                                  weights) is None
