"""Weighting strategies under MirroredStrategy with two CPU replicas.

String inputs cannot be used here: Keras >= 3.7 fails to distribute string
tensors across replicas (tensorflow/tensorflow#80951,
keras-team/keras#21172), so this schema has integer ids, numbers and
vectors only.
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
features = [f for f in synthetic.impression_features()
            if f.input_dtype() != "string"]
features = mtzoo.features.adapt(features, frame)
tasks = synthetic.impression_tasks()
strategy = tf.distribute.MirroredStrategy(
    [d.name for d in tf.config.list_logical_devices("CPU")])
out = {"replicas": strategy.num_replicas_in_sync}
for name in sys.argv[1:]:
    with strategy.scope():
        model = mtzoo.models.mmoe(features, tasks, num_experts=2)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), weighting=name)
    history = model.fit(mtzoo.data.from_dataframe(
        frame, features, tasks, batch_size=256), epochs=2, verbose=0)
    out[name] = {k: v for k, v in history.history.items()
                 if k == "loss" or k.endswith("_weight")}
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
