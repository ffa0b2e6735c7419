"""Weighting strategies under MirroredStrategy with two CPU replicas.

The schema includes string features, which stock Keras cannot distribute
(keras-team/keras#21172); `MultiTaskModel` builds from one replica's batch.
"""

import json
import subprocess
import sys

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
features = mtzoo.features.adapt(synthetic.impression_features(), frame)
assert any(f.input_dtype() == "string" for f in features)
tasks = synthetic.impression_tasks()
strategy = tf.distribute.MirroredStrategy(
    [d.name for d in tf.config.list_logical_devices("CPU")])
out = {"replicas": strategy.num_replicas_in_sync}
for name in sys.argv[1:]:
    with strategy.scope():
        model = mtzoo.models.mmoe(features, tasks, num_experts=2)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), weighting=name)
    data = mtzoo.data.from_dataframe(frame, features, tasks, batch_size=256)
    history = model.fit(data, validation_data=data, epochs=2, verbose=0)
    out[name] = history.history
print(json.dumps(out))
"""


@pytest.mark.large
def test_every_strategy_trains_on_two_replicas():
    strategies = ["fixed", "uncertainty", "gradnorm", "dwa", "pcgrad"]
    result = subprocess.run([sys.executable, "-c", SCRIPT, *strategies],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2
    for name in strategies:
        losses = out[name]["loss"]
        assert len(losses) == 2 and all(v == v for v in losses)  # not NaN
        assert "click_weight" in out[name]
    # Logged losses are the undivided per-example means: with fixed unit
    # weights the total is the sum of the task losses, in training and in
    # validation, as on one device.
    fixed = out["fixed"]
    tasks = ["click", "watch_time", "interest"]
    for prefix in ("", "val_"):
        for epoch in range(2):
            parts = sum(fixed[f"{prefix}{t}_loss"][epoch] for t in tasks)
            assert fixed[f"{prefix}loss"][epoch] == pytest.approx(
                parts, rel=0.05)
