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


def test_task_correlation_takes_the_sinusoids_alpha_and_beta():
    alphas, betas = [1.0, 2.0, 3.0], [0.0, 1.0, 4.0]
    frame = synthetic.task_correlation(
        200, correlation=1.0, input_dim=5, num_sinusoids=3, alphas=alphas,
        betas=betas, noise_std=0.0, seed=1)
    x = np.stack(frame.x)
    # The documented construction: u1 from the seed's orthonormal basis,
    # w1 = c u1, y1 = w1.x + sum_i sin(alpha_i w1.x + beta_i).
    basis, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(5, 2)))
    dot = x @ basis[:, 0]
    expected = dot + sum(np.sin(a * dot + b) for a, b in zip(alphas, betas))
    np.testing.assert_allclose(frame.y1, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(frame.y2, expected, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="alphas.*3 values"):
        synthetic.task_correlation(10, num_sinusoids=3, alphas=[1.0])


def test_impressions_return_true_probabilities():
    frame = synthetic.impressions(20_000, seed=0)
    # Labels follow the returned probabilities.
    assert abs(frame.click.mean() - frame.p_click.mean()) < 0.01
    assert abs(frame.conversion.mean() - frame.p_conversion.mean()) < 0.01
    assert (frame.conversion <= frame.click).all()
    oracle = roc_auc_score(frame.click, frame.p_click)
    assert 0.7 < oracle < 0.95
