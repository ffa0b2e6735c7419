"""Training checkpoints that survive a killed job."""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import tempfile

import keras
import numpy as np

_EPOCH_DIR = re.compile(r"^epoch-(\d+)$")


class CheckpointMismatchError(ValueError):
    """Raised when resuming a checkpoint written with other settings."""


class TrainingCheckpoint(keras.callbacks.Callback):
    """Saves the whole training state after every epoch, atomically.

    Each save is a folder `epoch-NNNN` written under a temporary name and
    renamed into place, so a kill at any moment leaves the previous complete
    checkpoint; older folders are removed after the rename. A folder holds:

    - `model.weights.h5`: the model's weights, the optimizer's state
      (Adam moments, step count) and the task weighting strategy's state,
      as `model.save_weights` writes them;
    - `random.npz`: the state of the model's random generators (dropout),
      so a resumed run draws what the uninterrupted one would have;
    - `best.npz`: early stopping's best weights, when it has some;
    - `state.json`: the finished epochs' logs, early stopping's counters
      and `settings` (what the run was started with; resuming with
      different settings is refused).

    Together with a data pipeline whose order depends only on the seed and
    the epoch (`from_dataframe(..., repeat=True, first_epoch=k)`), a run
    resumed from a checkpoint ends with the weights of an uninterrupted
    run.

    Resume by calling `restore()` before `fit` and passing its result as
    `initial_epoch` (or the final epoch when `finished`: the run had stopped
    early, and `fit` then only restores the best weights); the rest of the
    state is put back when training begins. `history` holds the logs of
    every epoch, restored ones included. Place this callback after
    `early_stopping` in the callback list, as early stopping resets its
    counters when training begins.

    Args:
        directory: folder of the checkpoints.
        settings: JSON-serializable description of the run (model,
            hyperparameters, seed...), compared on resume.
        early_stopping: the `keras.callbacks.EarlyStopping` of the run,
            if any.
        write: whether this process writes checkpoints (False on the
            non-chief workers of multi-worker training, which only read).
        averaged_weights: whether a `keras.callbacks.SwapEMAWeights(
            swap_on_epoch=True)` callback runs before this one, so the model
            holds the moving average of its weights at the end of an epoch
            (and the optimizer the weights being trained). `restore` then
            exchanges the two again, as they are when the next epoch of an
            uninterrupted run begins.
    """

    def __init__(self, directory, *, settings: dict | None = None,
                 early_stopping: keras.callbacks.EarlyStopping | None = None,
                 write: bool = True, averaged_weights: bool = False):
        super().__init__()
        self.directory = pathlib.Path(directory)
        self.settings = json.loads(json.dumps(settings or {}, default=str))
        self.early_stopping = early_stopping
        self.write = write
        self.averaged_weights = averaged_weights
        self.history: dict[str, list[float]] = {}
        #: Whether the restored run had already stopped early.
        self.finished = False
        self._pending = None  # state read by restore(), applied at begin

    # Reading.

    def latest(self) -> pathlib.Path | None:
        """The newest complete checkpoint folder, or None."""
        if not self.directory.is_dir():
            return None
        found = [(int(m.group(1)), p) for p in self.directory.iterdir()
                 if (m := _EPOCH_DIR.match(p.name)) and p.is_dir()]
        return max(found)[1] if found else None

    def restore(self, model) -> int:
        """Loads the newest checkpoint into `model` (compiled, built).

        Returns:
            The number of finished epochs (0 when there is no checkpoint),
            to pass to `fit` as `initial_epoch`.

        Raises:
            CheckpointMismatchError: the checkpoint was written with other
                settings.
        """
        folder = self.latest()
        if folder is None:
            return 0
        state = json.loads((folder / "state.json").read_text())
        differing = sorted(
            k for k in set(state["settings"]) | set(self.settings)
            if state["settings"].get(k) != self.settings.get(k))
        if differing:
            shown = "; ".join(
                f"{k}: checkpoint {state['settings'].get(k)!r}, now "
                f"{self.settings.get(k)!r}" for k in differing)
            raise CheckpointMismatchError(
                f"The checkpoint in '{folder}' was written by a run with "
                f"other settings ({shown}). Resume with the same settings, "
                f"or remove '{self.directory}' to start over.")
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(folder / "model.weights.h5")
        if self.averaged_weights:
            # A swap callback that believes the model holds the training
            # weights exchanges them with the optimizer's average on
            # `on_test_begin`; used once here, then dropped.
            swap = keras.callbacks.SwapEMAWeights()
            swap.set_model(model)
            swap.on_test_begin()
        generators = _random_state(model)
        with np.load(folder / "random.npz", allow_pickle=False) as f:
            if len(f.files) != len(generators):
                raise CheckpointMismatchError(
                    f"The checkpoint in '{folder}' holds {len(f.files)} "
                    f"random generator states; the model has "
                    f"{len(generators)}.")
            for i, variable in enumerate(generators):
                variable.assign(f[f"s{i}"])
        best = None
        if (folder / "best.npz").exists():
            with np.load(folder / "best.npz", allow_pickle=False) as f:
                best = [f[f"w{i}"] for i in range(len(f.files))]
        self._pending = (state, best)
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.finished = bool(state["stopped"])
        return int(state["epoch"])

    def on_train_begin(self, logs=None):
        if self._pending is None or self.early_stopping is None:
            return
        state, best = self._pending
        stop = self.early_stopping
        saved = state["early_stopping"]
        stop.wait = saved["wait"]
        stop.best = saved["best"] if saved["best"] is not None else stop.best
        stop.best_epoch = saved["best_epoch"]
        stop.best_weights = best
        self._pending = None

    # Writing.

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if self.write:
            self.save(epoch + 1)

    def save(self, epochs_done: int) -> pathlib.Path:
        """Writes the state after `epochs_done` epochs; returns the folder."""
        self.directory.mkdir(parents=True, exist_ok=True)
        staging = pathlib.Path(tempfile.mkdtemp(
            dir=self.directory, prefix=".writing-"))
        try:
            self.model.save_weights(staging / "model.weights.h5")
            np.savez(staging / "random.npz",
                     **{f"s{i}": np.asarray(v) for i, v in
                        enumerate(_random_state(self.model))})
            stop = self.early_stopping
            if stop is not None and stop.best_weights is not None:
                np.savez(staging / "best.npz",
                         **{f"w{i}": w for i, w in
                            enumerate(stop.best_weights)})
            state = {
                "epoch": epochs_done,
                "stopped": bool(self.model.stop_training),
                "settings": self.settings,
                "history": self.history,
                "early_stopping": None if stop is None else {
                    "wait": int(stop.wait),
                    "best": (None if stop.best is None
                             or not np.isfinite(stop.best)
                             else float(stop.best)),
                    "best_epoch": int(stop.best_epoch),
                },
            }
            (staging / "state.json").write_text(json.dumps(state))
            target = self.directory / f"epoch-{epochs_done:04d}"
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        for old in self.directory.iterdir():
            match = _EPOCH_DIR.match(old.name)
            if match and int(match.group(1)) < epochs_done:
                shutil.rmtree(old, ignore_errors=True)
        return target

    def remove(self) -> None:
        """Deletes the checkpoints (after a run finished and was saved)."""
        if self.write:
            shutil.rmtree(self.directory, ignore_errors=True)


def _random_state(model) -> list:
    """The model's random generator states (dropout masks and the like):
    variables that are neither weights nor metric state."""
    weights = {id(v) for v in model.weights}
    metric_state = {id(v) for m in model.metrics for v in m.variables}
    return [v for v in model.non_trainable_variables
            if id(v) not in weights and id(v) not in metric_state]
