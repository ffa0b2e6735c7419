"""Adam that updates only the embedding rows a batch touched, for tables
too large to update whole every step, and every dense variable in one
fused operation."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from mtzoo.api_export import mtzoo_export

#: Rows from which an embedding table's sparse gradient is applied lazily.
LAZY_MIN_ROWS = 1_000_000


@mtzoo_export
class LazyAdam(keras.optimizers.Adam):
    """Adam whose update of a large embedding table touches only the rows
    of the batch.

    Keras' Adam turns a table's sparse gradient (`tf.IndexedSlices`: the
    rows the batch looked up) into a dense one and updates every row's
    moments and value each step; on a table of millions of ids that costs
    more than the rest of the step (a 1,000,000-row table of width 8 cut
    training from 118,000 to 19,000 examples/s, `benchmarks/exchange.py`).
    Here a variable of at least `min_rows` rows with a sparse gradient has
    the moments and values of its touched rows updated (repeated ids
    summed first), as Adam would update them, and the others left as they
    are: their moments do not decay while unused (the lazy Adam of
    TensorFlow Addons and of large-scale recommenders). Every other
    variable is updated as by `keras.optimizers.Adam`: a dense gradient
    by TensorFlow's fused Adam update (`tf.raw_ops.ResourceApplyAdam`,
    the same arithmetic in one operation rather than about twenty, so a
    model's step traces and compiles sooner: `benchmarks/run_overhead.py`),
    a sparse one (a smaller table's) by Keras' own update, which squares
    each looked-up row before summing repeated ids.

    Args:
        min_rows: int. Rows from which a table is updated lazily. Defaults
            to `LAZY_MIN_ROWS`.
        **kwargs: `keras.optimizers.Adam`'s arguments (`amsgrad` is not
            supported lazily: such tables are then updated densely).
    """

    def __init__(self, *args, min_rows: int = LAZY_MIN_ROWS, **kwargs):
        super().__init__(*args, **kwargs)
        self.min_rows = int(min_rows)

    def _is_lazy(self, gradient, variable) -> bool:
        return (isinstance(gradient, tf.IndexedSlices) and not self.amsgrad
                and len(variable.shape) >= 1
                and variable.shape[0] is not None
                and variable.shape[0] >= self.min_rows)

    def update_step(self, gradient, variable, learning_rate):
        if self._is_lazy(gradient, variable):
            return self._lazy_update(gradient, variable, learning_rate)
        if isinstance(gradient, tf.IndexedSlices) or self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        dtype = variable.dtype
        step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = (ops.cast(beta, dtype)
                          for beta in (self.beta_1, self.beta_2))
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=ops.power(beta_1, step),
            beta2_power=ops.power(beta_2, step),
            lr=ops.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=ops.cast(self.epsilon, dtype),
            grad=ops.cast(gradient, dtype))

    def _lazy_update(self, gradient, variable, learning_rate):
        rows, positions = tf.unique(gradient.indices)
        values = tf.math.unsorted_segment_sum(
            ops.cast(gradient.values, variable.dtype), positions,
            tf.shape(rows)[0])
        lr = ops.cast(learning_rate, variable.dtype)
        step = ops.cast(self.iterations + 1, variable.dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, variable.dtype), step)
        beta_2_power = ops.power(ops.cast(self.beta_2, variable.dtype), step)
        alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        m_rows = ops.take(m, rows, axis=0)
        v_rows = ops.take(v, rows, axis=0)
        m_rows = m_rows + (values - m_rows) * (1 - self.beta_1)
        v_rows = v_rows + (ops.square(values) - v_rows) * (1 - self.beta_2)
        self.assign(m, tf.IndexedSlices(m_rows, rows))
        self.assign(v, tf.IndexedSlices(v_rows, rows))
        self.assign_sub(variable, tf.IndexedSlices(
            m_rows * alpha / (ops.sqrt(v_rows) + self.epsilon), rows))

    def get_config(self):
        return {**super().get_config(), "min_rows": self.min_rows}
