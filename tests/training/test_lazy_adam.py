"""LazyAdam: a large table's untouched rows stay as they are."""

import keras
import numpy as np
import tensorflow as tf

from mtzoo.training import LazyAdam


def _step(optimizer, variable, rows, values, dense=False):
    gradient = tf.IndexedSlices(tf.constant(values, tf.float32),
                                tf.constant(rows, tf.int64),
                                tf.constant(variable.shape))
    if dense:  # Adam on the summed gradient (Keras' Adam squares the
        gradient = tf.convert_to_tensor(gradient)  # rows before summing)
    optimizer.apply([gradient], [variable])


def test_only_touched_rows_of_a_large_table_move_as_adam_moves_them():
    start = np.random.default_rng(0).normal(size=(6, 2)).astype("float32")
    lazy_table = keras.Variable(start)
    dense_table = keras.Variable(start)
    lazy = LazyAdam(0.1, min_rows=5)
    dense = keras.optimizers.Adam(0.1)
    # Row 1 twice: its gradients add up.
    first = ([1, 3, 1], [[1.0, 2.0], [0.5, -1.0], [1.0, 0.0]])
    _step(lazy, lazy_table, *first)
    _step(dense, dense_table, *first, dense=True)
    np.testing.assert_allclose(lazy_table.numpy(), dense_table.numpy(),
                               rtol=1e-6)  # the first step is Adam's
    second = ([3], [[0.2, 0.2]])
    before = lazy_table.numpy()
    _step(lazy, lazy_table, *second)
    _step(dense, dense_table, *second, dense=True)
    after = lazy_table.numpy()
    # Row 1 was not looked up: Adam moves it on its momentum, lazily not.
    np.testing.assert_array_equal(after[[0, 1, 2, 4, 5]],
                                  before[[0, 1, 2, 4, 5]])
    assert not np.allclose(dense_table.numpy()[1], before[1])
    np.testing.assert_allclose(after[3], dense_table.numpy()[3], rtol=1e-6)


def test_small_tables_and_dense_variables_are_updated_as_by_adam():
    start = np.ones((4, 2), "float32")
    lazy_table, dense_table = keras.Variable(start), keras.Variable(start)
    lazy, dense = LazyAdam(0.1), keras.optimizers.Adam(0.1)
    for rows in ([0], [2], [2]):
        _step(lazy, lazy_table, rows, [[1.0, -1.0]])
        _step(dense, dense_table, rows, [[1.0, -1.0]], dense=True)
    np.testing.assert_allclose(lazy_table.numpy(), dense_table.numpy(),
                               rtol=1e-6)
    restored = LazyAdam.from_config(LazyAdam(0.1, min_rows=7).get_config())
    assert restored.min_rows == 7


def test_dense_variables_take_the_update_keras_adam_makes():
    # The fused update, with what `apply` adds around it (weight decay,
    # weight averaging), against Keras' Adam over several steps.
    rng = np.random.default_rng(1)
    start = rng.normal(size=(3, 4)).astype("float32")
    gradients = rng.normal(size=(4, 3, 4)).astype("float32")
    options = {"weight_decay": 0.01, "use_ema": True, "ema_momentum": 0.9}
    fused, reference = keras.Variable(start), keras.Variable(start)
    lazy, adam = LazyAdam(0.05, **options), keras.optimizers.Adam(
        0.05, **options)
    for gradient in gradients:
        lazy.apply([tf.constant(gradient)], [fused])
        adam.apply([tf.constant(gradient)], [reference])
    np.testing.assert_allclose(fused.numpy(), reference.numpy(), rtol=1e-5,
                               atol=1e-7)
    assert not np.allclose(fused.numpy(), start)
    lazy.finalize_variable_values([fused])
    adam.finalize_variable_values([reference])
    np.testing.assert_allclose(fused.numpy(), reference.numpy(), rtol=1e-5,
                               atol=1e-7)


def test_a_model_trains_with_lazy_tables_under_xla():
    # The lazy update (tf.unique, gathers and scatters) compiles with XLA;
    # which rows move is checked against Adam above.
    import mtzoo
    from mtzoo.data import synthetic

    frame = synthetic.impressions(1_500, num_users=300, num_items=50)
    features = mtzoo.features.adapt(synthetic.impression_features(), frame)
    tasks = mtzoo.tasks.adapt(synthetic.impression_tasks(), frame)
    model = mtzoo.models.build("mmoe", features, tasks)
    model.compile(optimizer=LazyAdam(1e-2, min_rows=100), jit_compile=True)
    (table,) = [v for v in model.trainable_variables
                if len(v.shape) == 2 and v.shape[0] >= 100]
    before = table.numpy()
    model.fit(mtzoo.data.from_dataframe(frame.iloc[:64], features, tasks,
                                        batch_size=64), epochs=1, verbose=0)
    assert model.jit_compile
    moved = np.abs(table.numpy() - before).sum(axis=1) > 0
    assert 0 < moved.sum() < 64 * 3  # one batch of 64 rows looked up
    assert moved.mean() < 0.5
