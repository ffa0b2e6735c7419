"""MultiWorkerMirroredStrategy with two worker processes on localhost."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import mtzoo


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start_workers(recipe, flags, output, epochs=2):
    """Starts `mtzoo train RECIPE FLAGS` as workers 0 and 1 of a
    localhost cluster (their temporary files under `output`'s parent)."""
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    processes = []
    temporary = output.parent / "tmp"
    temporary.mkdir(exist_ok=True)
    for index in range(2):
        env = dict(os.environ, TMPDIR=str(temporary), TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "mtzoo.cli", "train", recipe,
             "--strategy", "multi_worker", *flags, "--epochs", str(epochs),
             "--batch-size", "256", "--seed", "0", "--no-baselines",
             "--output-dir", str(output)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))
    return processes


def _finish_workers(processes, output):
    """Each worker's printed output, once both succeeded."""
    def finish(process):
        out, err = process.communicate(timeout=300)
        return process.returncode, out, err, time.time()

    with ThreadPoolExecutor(len(processes)) as pool:
        finished = list(pool.map(finish, processes))
    for returncode, _, err, _ in finished:
        assert returncode == 0, err[-4000:]
        # Neither the coordination service's report of a worker that left
        # early as crashed, nor TensorFlow's warning that counts distinct
        # models' predict steps as one function retracing.
        assert "unhealthy" not in err and "retracing" not in err, \
            err[-3000:]
    # The other worker waited for the chief to write the outputs.
    assert finished[1][3] >= (output / "metrics.json").stat().st_mtime
    return [out for _, out, _, _ in finished]


def _check_in_step_and_exported(output, outputs, task, epochs=2):
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["strategy"] == "multi_worker"
    steps = metrics["optimizer_steps"]
    assert steps > 0
    assert f"worker finished {epochs} epochs, {steps} optimizer steps" in \
        outputs[1]
    # The chief's export serves its warm-up rows as the Keras model
    # predicted them at export (the fresh-process check of an export is
    # `test_export`'s).
    import numpy as np
    import tensorflow as tf

    from mtzoo import export_check

    version = output / metrics["saved_model"]
    serve = tf.saved_model.load(str(version)).signatures["serving_default"]
    extra = version / "assets.extra"
    request = mtzoo.export.read_warmup(extra / export_check.WARMUP_FILE)[0]
    expected = json.loads((extra / export_check.EXPECTED_FILE).read_text())
    served = serve(**{name: tf.constant(value)
                      for name, value in request.items()})
    assert set(served) == set(expected) == {task}
    np.testing.assert_allclose(served[task].numpy(), expected[task],
                               atol=1e-5)
    return metrics


@pytest.mark.large
def test_two_workers_stream_a_table_of_parquet_shards(tmp_path,
                                                      monkeypatch):
    import numpy as np
    import pandas as pd

    shards = tmp_path / "shards"
    shards.mkdir()
    rng = np.random.default_rng(0)
    for index in range(4):
        price = rng.lognormal(2.0, 1.0, 1_500)
        pd.DataFrame({
            "price": price, "city": rng.choice(["a", "b", "c"], 1_500),
            "clicked": (rng.random(1_500) < 1 / (1 + np.exp(
                -(np.log(price) - 2.0) * 3))).astype(int),
        }).to_parquet(shards / f"part-{index}.parquet")
    (tmp_path / "events.toml").write_text(
        '[data]\ntrain = "shards/*.parquet"\n[features.price]\n'
        '[features.city]\n[tasks.clicked]\nkind = "binary"\n')
    # String features ("city") reach the workers as encoded ids. Both
    # workers split the table into the same cache (one of them
    # renames its split into place first); each then streams its own two
    # of the four training files. Both are killed after the first epoch's
    # checkpoint, as a preempted job's are, and the job resumes from it.
    env_home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(env_home))
    # The network alone: what the workers train together is the subject.
    flags = ["--config", str(tmp_path / "events.toml"), "--patience", "100",
             "--no-ensemble"]
    output = tmp_path / "run"
    workers = _start_workers("table", flags, output, epochs=4)
    checkpoint = output / "checkpoint" / "epoch-0001"
    deadline = time.monotonic() + 300
    while not checkpoint.is_dir():
        for worker in workers:
            assert worker.poll() is None, worker.communicate()[1][-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    for worker in workers:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    assert not (output / "metrics.json").exists()
    outputs = _finish_workers(_start_workers(
        "table", [*flags, "--resume"], output, epochs=4), output)
    metrics = _check_in_step_and_exported(output, outputs, "clicked",
                                          epochs=4)
    assert metrics["resumed_at_epoch"] >= 1
    assert metrics["epochs_run"] == 4
    # Each worker read its own files (128 rows a step each), every worker
    # taking the full batches of the one with fewer rows.
    from mtzoo.data.shards import ShardedSplit

    train = json.loads((output / "split.json").read_text())["train"]
    sizes = [len(ShardedSplit.of_files(train["files"][i::2]))
             for i in range(2)]
    assert len(train["files"]) == 4
    assert metrics["optimizer_steps"] == 4 * (min(sizes) // 128)
    assert metrics["optimizer_steps"] != 4 * -(-train["rows"] // 256)
    assert sum(metrics["rows"].values()) == 6_000
    assert metrics["test"]["tasks"]["clicked"]["auc"] > 0.7
    assert len(list((env_home / ".cache" / "mtzoo" / "splits").iterdir())) \
        == 1
