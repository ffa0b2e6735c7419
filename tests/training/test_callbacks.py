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


def test_relative_loss_puts_every_task_on_the_scale_of_a_constant():
    import numpy as np
    import pandas as pd

    from mtzoo import data
    from mtzoo import tasks as T
    from mtzoo.training import relative_loss

    rng = np.random.default_rng(0)
    train = pd.DataFrame({"spend": rng.normal(100, 20, 400),
                          "clicked": (rng.random(400) < 0.1).astype(float)})
    validation = train.iloc[:100]
    tasks = T.adapt([T.regression("spend"), T.binary("clicked", weight=3.0),
                     T.retrieval("next", candidate_features=("item",))],
                    train)
    references = relative_loss.constant_losses(
        tasks, *data.label_arrays(train, tasks[:2]),
        *data.label_arrays(validation, tasks[:2]))
    spend = validation["spend"]
    # Squared error of the training mean, in standardized units.
    expected = np.mean((spend - train["spend"].mean()) ** 2) / (
        tasks[0].label_scale ** 2)
    assert references["spend"] == pytest.approx(expected, rel=1e-4)
    rate = train["clicked"].mean()
    clicked = validation["clicked"]
    assert references["clicked"] == pytest.approx(-np.mean(
        clicked * np.log(rate) + (1 - clicked) * np.log(1 - rate)),
        rel=1e-4)
    assert relative_loss.uniform_losses(tasks, 256, {}) == {
        "next": pytest.approx(np.log(256))}

    callback = relative_loss.RelativeValidationLoss(
        {"spend": 1.0, "clicked": 3.0, "ignored": 0.0},
        {"spend": 2.0, "clicked": 0.5})
    logs = {"val_loss": 9.0, "val_spend_loss": 1.0,
            "val_clicked_loss": 0.25, "val_ignored_loss": 5.0}
    callback.on_epoch_end(0, logs)
    assert logs[relative_loss.MONITOR] == pytest.approx(
        (1.0 * 0.5 + 3.0 * 0.5) / 4.0)


def test_epoch_timer_times_training_without_the_validation_pass():
    import time

    from mtzoo.training.callbacks import EpochTimer

    class SlowValidation(keras.callbacks.Callback):
        def on_test_end(self, logs=None):
            time.sleep(0.3)

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((64, 2), "float32"), np.ones((64, 1), "float32")
    timer = EpochTimer(64)
    model.fit(x, y, validation_data=(x, y), epochs=2, verbose=0,
              callbacks=[timer, SlowValidation()])
    assert len(timer.seconds) == len(timer.epoch_seconds) == 2
    for trained, whole in zip(timer.seconds, timer.epoch_seconds):
        assert whole - trained >= 0.3
    assert timer.examples_per_second == pytest.approx(
        64 / timer.seconds[1])
