"""A recipe killed mid-run continues with `--resume`."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import mtzoo

# Without XLA: what is saved and restored does not depend on it, and
# compiling in each of the four processes took a quarter of the test.
FLAGS = ["--no-baselines", "--rows", "6000", "--epochs", "5",
         "--patience", "100", "--weight-averaging", "0.9",
         "--no-export", "--seed", "0", "--jit-compile", "off"]


def _train(output, *extra, **popen):
    command = [sys.executable, "-m", "mtzoo.cli", "train", "synthetic",
               *FLAGS, "--output-dir", str(output), *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def _finish(process):
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    return out


@pytest.mark.large
def test_killed_run_resumes_to_the_weights_of_an_uninterrupted_run(
        tmp_path, capsys):
    killed = _train(tmp_path / "killed")
    checkpoint = tmp_path / "killed" / "checkpoint" / "epoch-0002"
    deadline = time.monotonic() + 300
    while not checkpoint.is_dir():
        assert killed.poll() is None, killed.communicate()[1][-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()

    # Refuses to silently start over; the uninterrupted run, in this
    # process (a seeded run is the same in any process).
    from mtzoo import cli

    assert cli.main(["train", "synthetic", *FLAGS, "--output-dir",
                     str(tmp_path / "killed")]) == 2
    assert "interrupted run" in capsys.readouterr().err
    assert cli.main(["train", "synthetic", *FLAGS, "--quiet",
                     "--output-dir", str(tmp_path / "whole")]) == 0

    _finish(_train(tmp_path / "killed", "--resume"))
    a = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    b = json.loads((tmp_path / "killed" / "metrics.json").read_text())
    assert b["resumed_at_epoch"] >= 2
    assert b["optimizer_steps"] == a["optimizer_steps"] > 0
    assert b["epochs_run"] == a["epochs_run"] == 5
    # Every epoch after the resume trained on the same batches from the
    # same state: losses and final weights match the uninterrupted run.
    assert b["history"]["loss"] == pytest.approx(a["history"]["loss"],
                                                 rel=1e-5)
    whole_weights = _weights(tmp_path / "whole" / "model.keras")
    resumed_weights = _weights(tmp_path / "killed" / "model.keras")
    assert len(whole_weights) == len(resumed_weights) > 10
    for x, y in zip(whole_weights, resumed_weights):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    assert not (tmp_path / "killed" / "checkpoint").exists()


def _weights(path):
    model = mtzoo.models.load_model(path)  # safe mode
    return [np.asarray(w) for w in model.get_weights()]
