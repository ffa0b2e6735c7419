import keras
import numpy as np
import pytest
import tensorflow as tf

from mtzoo.layers import AdaptiveInformationTransfer
from mtzoo.layers import CalibrationConstraint
from mtzoo.testing import run_layer_test


def test_transfer_layer_checks():
    run_layer_test(AdaptiveInformationTransfer, {"units": 4},
                   [np.random.rand(2, 4).astype("float32"),
                    np.random.rand(2, 4).astype("float32")], (2, 4))


def test_transfer_matches_paper_formula():
    layer = AdaptiveInformationTransfer(units=3)
    p = np.random.randn(2, 3).astype("float32")
    q = np.random.randn(2, 3).astype("float32")
    out = np.asarray(layer([p, q]))

    def project(dense, u):
        kernel, bias = (np.asarray(w) for w in dense.weights)
        return u @ kernel + bias

    for b in range(2):
        candidates = [p[b], q[b]]
        scores = np.array([
            project(layer._query, u) @ project(layer._key, u) / np.sqrt(3)
            for u in candidates])
        weights = np.exp(scores) / np.exp(scores).sum()
        expected = sum(w * project(layer._value, u)
                       for w, u in zip(weights, candidates))
        np.testing.assert_allclose(out[b], expected, rtol=1e-4, atol=1e-6)


def test_transfer_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="same size"):
        AdaptiveInformationTransfer(units=3)(
            [np.ones((2, 3), "float32"), np.ones((2, 5), "float32")])


def test_calibration_passes_probability_and_adds_penalty():
    layer = CalibrationConstraint(weight=0.5)
    previous = tf.constant([[0.5], [0.2], [0.9]])
    current = tf.constant([[0.3], [0.6], [0.95]])
    out = layer([previous, current])
    np.testing.assert_allclose(out, current)
    # violations: 0, 0.4, 0.05 -> mean 0.15 -> * 0.5
    np.testing.assert_allclose(float(layer.losses[0]), 0.075, rtol=1e-5)


def test_calibration_penalty_reaches_the_model_loss():
    a = keras.Input((1,))
    b = keras.Input((1,))
    model = keras.Model([a, b], CalibrationConstraint(2.0)([a, b]))
    model([tf.constant([[0.1]]), tf.constant([[0.6]])])
    np.testing.assert_allclose(float(model.losses[0]), 1.0, rtol=1e-5)


def test_invalid_calibration_weight():
    with pytest.raises(ValueError, match="weight=-1"):
        CalibrationConstraint(weight=-1)
