import keras
import numpy as np
import pytest

import mtzoo
from mtzoo.data import synthetic
from mtzoo.training import NonFiniteLossError
from mtzoo.training import StopOnNonFiniteLoss


def test_training_stops_naming_the_task_whose_loss_is_nan(
        impressions, impression_features):
    tasks = synthetic.impression_tasks()
    model = mtzoo.models.shared_bottom(impression_features, tasks)

    def broken(y_true, y_pred):
        return keras.ops.log(y_pred - 1e9)  # log of a negative: NaN

    model.compile(loss={"watch_time": broken})
    data = mtzoo.data.from_dataframe(impressions[0].iloc[:512],
                                     impression_features, tasks,
                                     batch_size=128)
    with pytest.raises(NonFiniteLossError,
                       match=r"task 'watch_time' \(nan\).*learning rate"):
        model.fit(data, epochs=1, verbose=0,
                  callbacks=[StopOnNonFiniteLoss()])


def test_finite_training_is_left_alone(impressions, impression_features):
    tasks = synthetic.impression_tasks()
    model = mtzoo.models.shared_bottom(impression_features, tasks)
    model.compile()
    history = model.fit(mtzoo.data.from_dataframe(
        impressions[0].iloc[:256], impression_features, tasks,
        batch_size=128), epochs=1, verbose=0,
        callbacks=[StopOnNonFiniteLoss()])
    assert np.isfinite(history.history["loss"][0])
