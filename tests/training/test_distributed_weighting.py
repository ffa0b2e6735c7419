"""Weighting strategies under MirroredStrategy with two CPU replicas.

The schema includes string features: they reach the replicas as the ids
`mtzoo.data` encoded them into (stock Keras cannot distribute string
tensors, keras-team/keras#21172).
"""

import json
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = r"""
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, numpy as np
import mtzoo
from mtzoo.data import synthetic

frame = synthetic.impressions(1024, num_users=50, num_items=40, seed=0)
# A string, a number and a list: each kind of input; more only adds
# tracing time.
features = mtzoo.features.adapt(
    [f for f in synthetic.impression_features()
     if f.name in ("device", "age", "genres")], frame)
assert any(f.input_dtype() == "string" for f in features)
# A binary and a regression task: a third only adds tracing time.
tasks = mtzoo.tasks.adapt([t for t in synthetic.impression_tasks()
                           if t.name in ("click", "watch_time")], frame)
mirrored = tf.distribute.MirroredStrategy(
    [d.name for d in tf.config.list_logical_devices("CPU")])
data = mtzoo.data.from_dataframe(frame, features, tasks, batch_size=256)
out = {"replicas": mirrored.num_replicas_in_sync}
# "name" trains on one device and on two replicas; "name:two" on two alone.
for argument in sys.argv[1:]:
    name, _, only = argument.partition(":")
    runs = {}
    for label, strategy in (("one", tf.distribute.get_strategy()),
                            ("two", mirrored)):
        if only and label != only:
            continue
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = mtzoo.models.mmoe(features, tasks, num_experts=2)
            # Without XLA on both sides (one device would compile it):
            # the same kernels, and no compile time.
            model.compile(optimizer=keras.optimizers.Adam(3e-3),
                          weighting=name, jit_compile=False)
        before = model.evaluate(data, verbose=0, return_dict=True)["loss"]
        history = model.fit(data, validation_data=data, epochs=2, verbose=0)
        runs[label] = {
            "history": history.history, "before": before,
            "weights": [np.asarray(w).tolist() for w in model.get_weights()]}
    out[name] = runs
print(json.dumps(out))
"""



@pytest.fixture(scope="module")
def runs() -> dict:
    """Every strategy trained on two replicas, the loss-only ones on one
    device too, all in one subprocess (its start and TensorFlow's import
    paid once). The per-task gradient strategies' one-device training is
    `test_weighting`'s. DWA is left out: it weighs the epochs' logged
    losses, which the fixed run shows match one device's."""
    names = ("fixed", "uncertainty", "gradnorm:two", "pcgrad:two")
    result = subprocess.run([sys.executable, "-c", SCRIPT, *names],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.large
def test_weighting_strategies_on_two_replicas(runs):
    # One test, so that the subprocess runs once whatever the test worker.
    assert runs["replicas"] == 2
    _loss_only_strategies_match_one_replica(runs)
    _task_gradient_strategies_train(runs)


def _loss_only_strategies_match_one_replica(runs):
    for name in ("fixed", "uncertainty"):
        one, two = runs[name]["one"], runs[name]["two"]
        # The same batches split over two replicas give the one-device
        # update: replica losses are shares of the global mean, gradients
        # are summed.
        for a, b in zip(one["weights"], two["weights"]):
            np.testing.assert_allclose(b, a, rtol=2e-3, atol=2e-5,
                                       err_msg=name)
        for key in ("loss", "val_loss", "click_loss", "click_weight"):
            assert two["history"][key] == pytest.approx(
                one["history"][key], rel=1e-3), (name, key)
    # The logged losses are undivided means: with fixed unit weights the
    # total is the sum of the task losses, in training and in validation,
    # as on one device.
    fixed = runs["fixed"]["two"]["history"]
    tasks = ["click", "watch_time"]
    for prefix in ("", "val_"):
        for epoch in range(2):
            parts = sum(fixed[f"{prefix}{t}_loss"][epoch] for t in tasks)
            assert fixed[f"{prefix}loss"][epoch] == pytest.approx(
                parts, rel=1e-4)


def _task_gradient_strategies_train(runs):
    # Per-task gradients are formed on each replica's half batch, so these
    # differ from one device by design; they must still train.
    for name in ("gradnorm", "pcgrad"):
        run = runs[name]["two"]
        assert run["history"]["val_loss"][-1] < 0.95 * run["before"], name
        assert sum(run["history"][f"{t}_weight"][-1] for t in
                   ("click", "watch_time")) == pytest.approx(2.0, rel=1e-5)
