"""The training loop: mixed precision, custom loops, compile forms, public
API only, a quiet happy path."""

import pathlib
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

import mtzoo
from mtzoo import tasks as T
from mtzoo.data import synthetic

STRATEGIES = ["fixed", "uncertainty", "gradnorm", "dwa", "pcgrad"]
PACKAGE = pathlib.Path(mtzoo.__file__).parent


def _tasks_for(architecture):
    return synthetic.tasks_for(architecture)


def _largest_step(architecture, features, frame, policy, weighting):
    """The largest weight change of one SGD step on a fixed batch."""
    keras.mixed_precision.set_global_policy(policy)
    try:
        tasks = _tasks_for(architecture)
        keras.utils.set_random_seed(0)
        model = mtzoo.models.build(architecture, features, tasks)
        # Eagerly: tracing one step's graph took most of the test.
        model.compile(optimizer=keras.optimizers.SGD(0.1),
                      weighting=weighting, run_eagerly=True)
        batch = next(iter(mtzoo.data.from_dataframe(
            frame, features, tasks, batch_size=256)))
        before = [np.asarray(v) for v in model.trainable_weights]
        model.train_on_batch(*batch)
        after = [np.asarray(v) for v in model.trainable_weights]
        outputs = model(batch[0])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    change = max(float(np.abs(a - b).max()) for a, b in zip(after, before))
    return change, {keras.backend.standardize_dtype(v.dtype)
                    for v in outputs.values()}


@pytest.mark.large
@pytest.mark.parametrize("architecture", mtzoo.models.available())
def test_mixed_precision_trains_every_architecture(
        architecture, impressions, impression_features):
    frame = impressions[0].iloc[:256]
    reference, _ = _largest_step(architecture, impression_features, frame,
                                 "float32", "fixed")
    for policy in ("mixed_float16", "mixed_bfloat16"):
        change, dtypes = _largest_step(architecture, impression_features,
                                       frame, policy, "fixed")
        # Without loss scaling the float16 step was ~2^15 times too small.
        assert 0.5 < change / reference < 2.0, (policy, change, reference)
        assert dtypes == {"float32"}


@pytest.mark.large
@pytest.mark.parametrize("weighting", STRATEGIES)
def test_mixed_precision_trains_with_every_weighting(
        weighting, impressions, impression_features):
    frame = impressions[0].iloc[:256]
    reference, _ = _largest_step("mmoe", impression_features, frame,
                                 "float32", weighting)
    change, _ = _largest_step("mmoe", impression_features, frame,
                              "mixed_float16", weighting)
    assert 0.5 < change / reference < 2.0, (change, reference)


def test_dwa_advances_in_a_custom_loop(impressions, impression_features):
    tasks = synthetic.impression_tasks()
    model = mtzoo.models.mmoe(impression_features, tasks, num_experts=2)
    batches = list(mtzoo.data.from_dataframe(
        impressions[0].iloc[:1024], impression_features, tasks,
        batch_size=256))
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  weighting={"name": "dwa",
                             "steps_per_period": len(batches)})
    weights, losses = [], []
    for _ in range(3):
        weights.append([])
        losses.append([])
        for batch in batches:
            logs = model.train_on_batch(*batch, return_dict=True)
            weights[-1].append([logs[f"{t.name}_weight"] for t in tasks])
            losses[-1].append([logs[f"{t.name}_loss"] for t in tasks])
    # Weights hold still within an epoch and change only between epochs.
    for epoch in weights:
        assert all(step == epoch[0] for step in epoch)
    weights = [epoch[0] for epoch in weights]
    # Epochs 1 and 2 use weight 1; epoch 3 follows the first two's losses.
    assert weights[0] == weights[1] == [1.0] * len(tasks)
    assert weights[2] != weights[1]
    means = np.mean(losses, axis=1)  # [epoch, task]
    ratios = means[1] / means[0]
    expected = len(tasks) * np.exp(ratios / 2) / np.exp(ratios / 2).sum()
    np.testing.assert_allclose(weights[2], expected, rtol=1e-5)


def _single_task_model(features):
    tasks = [T.binary("click")]
    return mtzoo.models.shared_bottom(features, tasks), tasks


def test_compile_takes_keras_non_dict_forms(impressions, impression_features):
    model, tasks = _single_task_model(impression_features)
    model.compile(loss="mse", loss_weights=2.0, metrics=["mae"])
    assert model.task_loss_weights == {"click": 2.0}
    logs = model.evaluate(mtzoo.data.from_dataframe(  # one batch
        impressions[1], impression_features, tasks, batch_size=4096),
        verbose=0, return_dict=True)
    assert set(logs) == {"loss", "click_loss", "click_mae"}
    labels = impressions[1]["click"].to_numpy("float32")
    predicted = model.predict(mtzoo.data.from_dataframe(
        impressions[1], impression_features, batch_size=512),
        verbose=0)["click"][:, 0]
    assert logs["click_loss"] == pytest.approx(
        np.mean((labels - predicted) ** 2), rel=1e-4)  # mse, not log loss
    assert logs["loss"] == pytest.approx(2 * logs["click_loss"], rel=1e-5)

    multi = mtzoo.models.mmoe(impression_features,
                              synthetic.impression_tasks())
    multi.compile(loss_weights=[1.0, 0.5, 0.25],
                  metrics=[["auc"], ["mae"], ["accuracy"]])
    assert multi.task_loss_weights == {"click": 1.0, "watch_time": 0.5,
                                       "interest": 0.25}
    with pytest.raises(ValueError, match="`loss` is ambiguous for a model "
                                         "with tasks"):
        multi.compile(loss="mse")
    with pytest.raises(ValueError, match="one list of metrics per task"):
        multi.compile(metrics=["auc", "mae", "accuracy"])


def test_compile_config_round_trips_through_a_file(
        impressions, impression_features, tmp_path):
    model, _ = _single_task_model(impression_features)
    model.compile(optimizer=keras.optimizers.Adam(0.004), loss="mse",
                  metrics=["mae"], weighting={"name": "dwa",
                                              "temperature": 3.0})
    path = mtzoo.models.save_model(model, tmp_path / "m.keras")
    reloaded = mtzoo.models.load_model(path)
    assert reloaded.get_compile_config() == model.get_compile_config()
    assert reloaded.weighting.temperature == 3.0
    assert float(reloaded.optimizer.learning_rate) == pytest.approx(0.004)


def test_the_package_uses_no_private_keras_or_tensorflow_api():
    # `get_compile_config` is Keras's public hook; its private attribute is
    # `._compile_config`.
    private = re.compile(
        r"keras\.src|\._compile_config|_loss_tracker|_in_multi_worker_mode"
        r"|_maybe_symbolic_build|_distribute_strategy|\._compile_(loss|metrics)"
        r"|\._tracker|\.extended\._|tf\.__internal__|tensorflow\.python"
        r"|_flatten_layers")
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if private.search(line):
                found.append(f"{path.relative_to(PACKAGE)}:{number}: "
                             f"{line.strip()}")
    assert not found, "\n".join(found)


HAPPY_PATH = r"""
import keras
import mtzoo
from mtzoo.data import synthetic

frame = synthetic.impressions(3000, num_users=60, num_items=40, seed=0)
train, test = frame.iloc[:2400], frame.iloc[2400:]
features = mtzoo.features.adapt(synthetic.impression_features(), train)
tasks = mtzoo.tasks.adapt(synthetic.impression_tasks(), train)
model = mtzoo.models.mmoe(features, tasks, num_experts=2)
model.compile(optimizer="adam")
model.fit(mtzoo.data.from_dataframe(train, features, tasks, batch_size=256,
                                    shuffle=True, seed=0),
          validation_data=mtzoo.data.from_dataframe(test, features, tasks),
          epochs=2, verbose=0)
for start in range(0, 600, 100):  # several frames in a row
    model.predict(mtzoo.data.from_dataframe(
        test.iloc[start:start + 100], features, batch_size=64), verbose=0)
print("done")
"""


@pytest.mark.large
def test_the_happy_path_prints_no_warning():
    result = subprocess.run(
        [sys.executable, "-W", "default", "-c", HAPPY_PATH],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("done")
    noise = [line for line in result.stderr.splitlines()
             if re.search(r"Warning|WARNING:tensorflow|retracing", line)]
    assert not noise, "\n".join(noise)
