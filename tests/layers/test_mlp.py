import numpy as np
import pytest

from mtzoo.layers import MLP
from mtzoo.testing import run_layer_test


def test_shapes_serialization_and_saving():
    run_layer_test(MLP, {"units": [8, 4], "dropout": 0.1,
                         "batch_norm": True},
                   np.random.rand(3, 5).astype("float32"), (3, 4))


def test_values_with_known_weights():
    layer = MLP([2], kernel_initializer="ones")
    out = layer(np.array([[1.0, -2.0, 4.0]], dtype="float32"))
    np.testing.assert_allclose(out, [[3.0, 3.0]])
    out = layer(np.array([[-1.0, -2.0, 0.0]], dtype="float32"))
    np.testing.assert_allclose(out, [[0.0, 0.0]])  # relu


def test_empty_units_is_identity():
    x = np.random.rand(2, 3).astype("float32")
    np.testing.assert_allclose(MLP([])(x), x)


@pytest.mark.parametrize("units", [[0], [4, -1], "64"])
def test_invalid_units(units):
    with pytest.raises(ValueError, match="units"):
        MLP(units)


def test_invalid_dropout():
    with pytest.raises(ValueError, match="dropout=1.5"):
        MLP([4], dropout=1.5)


def test_layers_of_equal_shape_start_different():
    layer = MLP([4, 4, 4])
    layer.build((None, 4))
    k1 = np.asarray(layer._dense[1].kernel)
    k2 = np.asarray(layer._dense[2].kernel)
    assert not np.allclose(k1, k2)
