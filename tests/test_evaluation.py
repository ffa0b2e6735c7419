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
