"""MultiWorkerMirroredStrategy with two worker processes on localhost."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import pytest


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


CENSUS = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / \
    "data" / "census-income"
RECIPES = {
    # Both schemas have string features (ids, device, genres; census's 28
    # string columns): the workers receive them as encoded ids.
    "synthetic": (["--rows", "6000"], "click"),
    "census_income": (["--data-dir", str(CENSUS), "--max-rows", "4000"],
                      "income"),
}


@pytest.mark.large
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_two_workers_train_in_step_and_the_chief_exports(recipe, tmp_path):
    if recipe == "census_income" and not CENSUS.is_dir():
        pytest.skip(f"real data not available: {CENSUS}")
    flags, task = RECIPES[recipe]
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "mtzoo.cli", "train", recipe,
             "--strategy", "multi_worker", *flags, "--epochs", "2",
             "--batch-size", "256", "--seed", "0", "--no-baselines",
             "--output-dir", str(tmp_path)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-4000:]
        outputs.append(out)

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["strategy"] == "multi_worker"
    steps = metrics["optimizer_steps"]
    assert steps > 0
    assert f"worker finished 2 epochs, {steps} optimizer steps" in outputs[1]

    # The chief's export loads and predicts in a fresh process, matching the
    # Keras model's predictions stored with it.
    version = tmp_path / metrics["saved_model"]
    result = subprocess.run(
        [sys.executable, "-m", "mtzoo.cli", "export", "verify",
         str(version)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "-> OK" in result.stdout
    assert f"{task}: float32" in result.stdout
