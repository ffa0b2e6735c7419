import keras
import numpy as np
import tensorflow as tf

from mtzoo.layers import Dropout
from mtzoo.testing import run_layer_test


def test_shapes_serialization_and_saving():
    run_layer_test(Dropout, {"rate": 0.3, "seed": 1},
                   np.random.rand(3, 5).astype("float32"), (3, 5))


def test_drops_at_the_rate_and_rescales_only_in_training():
    layer = Dropout(0.25, seed=3)
    x = np.ones((200, 100), "float32")
    np.testing.assert_array_equal(layer(x), x)
    first = np.asarray(layer(x, training=True))
    second = np.asarray(layer(x, training=True))
    assert abs((first == 0).mean() - 0.25) < 0.01
    np.testing.assert_allclose(first[first > 0], 1 / 0.75, rtol=1e-6)
    assert (first != second).mean() > 0.2  # a fresh mask per call


def test_noise_shape_shares_the_mask_along_an_axis():
    mask = np.asarray(Dropout(0.5, noise_shape=(None, 1), seed=0)(
        np.ones((64, 4), "float32"), training=True))
    assert np.all(mask == mask[:, :1])
    assert 0 < (mask[:, 0] == 0).mean() < 1


def test_same_seed_same_masks_and_runs_under_xla():
    x = np.ones((8, 16), "float32")
    keras.utils.set_random_seed(5)
    a = Dropout(0.5, seed=7)
    keras.utils.set_random_seed(5)
    b = Dropout(0.5, seed=7)
    np.testing.assert_array_equal(a(x, training=True), b(x, training=True))
    compiled = tf.function(lambda v: a(v, training=True), jit_compile=True)
    out = np.asarray(compiled(tf.constant(x)))
    assert set(np.unique(out)) <= {0.0, 2.0}
