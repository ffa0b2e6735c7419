import numpy as np
import pytest

from mtzoo.layers import ExpertAttentionGate
from mtzoo.layers import ExpertMixture
from mtzoo.layers import SoftmaxGate
from mtzoo.testing import run_layer_test


def test_softmax_gate_layer_checks():
    run_layer_test(SoftmaxGate, {"num_experts": 4, "units": [8]},
                   np.random.rand(3, 5).astype("float32"), (3, 4))


def test_softmax_gate_weights_are_a_distribution():
    weights = np.asarray(SoftmaxGate(5)(np.random.randn(7, 3)
                                       .astype("float32")))
    assert weights.min() > 0
    np.testing.assert_allclose(weights.sum(axis=1), np.ones(7), rtol=1e-6)


def test_softmax_gate_matches_formula():
    gate = SoftmaxGate(3)
    x = np.random.randn(4, 2).astype("float32")
    out = np.asarray(gate(x))
    kernel, bias = (np.asarray(w) for w in gate._logits.weights)
    logits = x @ kernel + bias
    expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_invalid_gate_arguments():
    with pytest.raises(ValueError, match="num_experts=-2"):
        SoftmaxGate(-2)
    with pytest.raises(ValueError, match="num_heads=0"):
        ExpertAttentionGate(num_heads=0)
    with pytest.raises(ValueError, match="key_dim"):
        ExpertAttentionGate(key_dim=2.5)


def test_mixture_of_softmax_weights():
    experts = np.random.rand(2, 3, 4).astype("float32")
    weights = np.array([[1, 0, 0], [0.2, 0.3, 0.5]], dtype="float32")
    out = np.asarray(ExpertMixture()([experts, weights]))
    np.testing.assert_allclose(out[0], experts[0, 0], rtol=1e-6)
    np.testing.assert_allclose(out[1], 0.2 * experts[1, 0]
                               + 0.3 * experts[1, 1]
                               + 0.5 * experts[1, 2], rtol=1e-5)


def test_mixture_of_per_head_weights_concatenates_heads():
    experts = np.random.rand(2, 3, 4).astype("float32")
    weights = np.random.dirichlet(np.ones(3), size=(2, 2)).astype("float32")
    out = np.asarray(ExpertMixture()([experts, weights]))
    assert out.shape == (2, 8)
    head_1 = np.einsum("ed,e->d", experts[1], weights[1, 1])
    np.testing.assert_allclose(out[1, 4:], head_1, rtol=1e-5)


def test_mixture_layer_checks():
    run_layer_test(ExpertMixture, {},
                   [np.random.rand(2, 3, 4).astype("float32"),
                    np.full((2, 3), 1 / 3, dtype="float32")], (2, 4))


def test_attention_gate_layer_checks():
    run_layer_test(ExpertAttentionGate, {"num_heads": 2, "key_dim": 3},
                   [np.random.rand(2, 5).astype("float32"),
                    np.random.rand(2, 4, 6).astype("float32")], (2, 2, 4),
                   expected_num_trainable_weights=3)


def test_attention_gate_matches_scaled_dot_product():
    gate = ExpertAttentionGate(num_heads=2, key_dim=3)
    x = np.random.randn(3, 5).astype("float32")
    experts = np.random.randn(3, 4, 6).astype("float32")
    out = np.asarray(gate([x, experts]))
    wq, bq, wk = (np.asarray(w) for w in
                  (gate.query_kernel, gate.query_bias, gate.key_kernel))
    for b in range(3):
        for h in range(2):
            query = x[b] @ wq[:, h] + bq[h]
            keys = experts[b] @ wk[:, h]
            scores = keys @ query / np.sqrt(3)
            expected = np.exp(scores) / np.exp(scores).sum()
            np.testing.assert_allclose(out[b, h], expected, rtol=1e-4)


def test_attention_gate_depends_on_expert_outputs():
    gate = ExpertAttentionGate(num_heads=1, key_dim=4)
    x = np.random.randn(1, 5).astype("float32")
    a = np.asarray(gate([x, np.random.randn(1, 3, 6).astype("float32")]))
    b = np.asarray(gate([x, np.random.randn(1, 3, 6).astype("float32")]))
    assert not np.allclose(a, b)
