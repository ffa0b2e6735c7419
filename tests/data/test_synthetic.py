import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mtzoo.data import synthetic


def test_task_correlation_controls_label_correlation():
    correlations = []
    for p in (1.0, 0.9, 0.5, 0.0):
        frame = synthetic.task_correlation(5_000, correlation=p, seed=2)
        correlations.append(np.corrcoef(frame.y1, frame.y2)[0, 1])
    assert correlations[0] > 0.95
    assert correlations == sorted(correlations, reverse=True)
    assert abs(correlations[-1]) < 0.1


def test_task_correlation_is_seeded_and_shaped():
    a = synthetic.task_correlation(100, correlation=0.5, input_dim=10,
                                   seed=4)
    b = synthetic.task_correlation(100, correlation=0.5, input_dim=10,
                                   seed=4)
    np.testing.assert_array_equal(a.y1, b.y1)
    assert np.stack(a.x).shape == (100, 10)
    with pytest.raises(ValueError, match="correlation=1.5"):
        synthetic.task_correlation(10, correlation=1.5)


def test_impressions_return_true_probabilities():
    frame = synthetic.impressions(20_000, seed=0)
    # Labels follow the returned probabilities.
    assert abs(frame.click.mean() - frame.p_click.mean()) < 0.01
    assert abs(frame.conversion.mean() - frame.p_conversion.mean()) < 0.01
    assert (frame.conversion <= frame.click).all()
    oracle = roc_auc_score(frame.click, frame.p_click)
    assert 0.7 < oracle < 0.95
