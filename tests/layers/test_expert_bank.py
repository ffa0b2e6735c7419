import numpy as np
import pytest

from mtzoo.layers import ExpertBank
from mtzoo.testing import run_layer_test


def test_shapes_serialization_and_saving():
    run_layer_test(ExpertBank, {"num_experts": 3, "units": [6, 4]},
                   np.random.rand(2, 5).astype("float32"), (2, 3, 4),
                   expected_num_trainable_weights=4)


def test_each_expert_is_an_independent_mlp():
    layer = ExpertBank(num_experts=3, units=[4, 2])
    x = np.random.rand(5, 6).astype("float32")
    out = np.asarray(layer(x))
    k0, b0, k1, b1 = (np.asarray(w) for w in
                      (layer.kernels[0], layer.biases[0],
                       layer.kernels[1], layer.biases[1]))
    for e in range(3):
        hidden = np.maximum(x @ k0[e] + b0[e], 0)
        expected = np.maximum(hidden @ k1[e] + b1[e], 0)
        np.testing.assert_allclose(out[:, e], expected, rtol=1e-5,
                                   atol=1e-6)


def test_inputs_first_is_the_same_experts_held_as_one_matrix():
    run_layer_test(ExpertBank, {"num_experts": 3, "units": [6, 4],
                                "first_layer": "inputs_first"},
                   np.random.rand(2, 5).astype("float32"), (2, 3, 4),
                   expected_num_trainable_weights=4)
    x = np.random.rand(7, 5).astype("float32")
    import keras

    keras.utils.set_random_seed(3)
    stacked = ExpertBank(num_experts=3, units=[6, 4])
    stacked.build((None, 5))
    keras.utils.set_random_seed(3)
    flat = ExpertBank(num_experts=3, units=[6, 4],
                      first_layer="inputs_first")
    flat.build((None, 5))
    # The same draws, laid out (in, experts * out).
    np.testing.assert_allclose(np.asarray(flat(x)), np.asarray(stacked(x)),
                               rtol=1e-5, atol=1e-6)
    assert tuple(flat.kernels[0].shape) == (5, 18)
    with pytest.raises(ValueError, match="first_layer"):
        ExpertBank(num_experts=2, units=[4], first_layer="rows")


def test_experts_start_different():
    layer = ExpertBank(num_experts=2, units=[8])
    layer.build((None, 4))
    kernel = np.asarray(layer.kernels[0])
    assert not np.allclose(kernel[0], kernel[1])
    # Glorot scale of one (4, 8) kernel, not of the stacked tensor.
    limit = np.sqrt(6 / (4 + 8))
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.5 * limit


def test_invalid_num_experts():
    with pytest.raises(ValueError, match="num_experts=0"):
        ExpertBank(num_experts=0, units=[4])
