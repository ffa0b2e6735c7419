"""Training checkpoints: what they keep, resuming, atomic writes."""

import json

import keras
import numpy as np
import pytest

import mtzoo
from mtzoo.training.checkpoint import CheckpointMismatchError
from mtzoo.training.checkpoint import TrainingCheckpoint


def _dataset(frame, features, seed=0, first_epoch=0):
    return mtzoo.data.from_dataframe(
        frame, features, mtzoo.data.synthetic.impression_tasks(),
        batch_size=512, shuffle=True, seed=seed, first_epoch=first_epoch)


def _model(features, weighting, averaging=False):
    model = mtzoo.models.mmoe(features,
                              mtzoo.data.synthetic.impression_tasks(),
                              num_experts=2, expert_units=[16],
                              tower_units=[8])
    model.compile(optimizer=keras.optimizers.Adam(
        1e-3, use_ema=averaging, ema_momentum=0.9), weighting=weighting)
    return model


class _Killed(Exception):
    pass


class _KillAfter(keras.callbacks.Callback):
    """Ends the process's training abruptly after `epochs` epochs."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise _Killed


def _train(model, data, directory, *, epochs, initial_epoch=0, stop=None,
           settings=None, restore=False, averaging=False, kill_after=None):
    stop = stop or keras.callbacks.EarlyStopping(
        monitor="loss", patience=50, restore_best_weights=True)
    checkpoint = TrainingCheckpoint(directory, settings=settings or {},
                                    early_stopping=stop,
                                    averaged_weights=averaging)
    if restore:
        initial_epoch = checkpoint.restore(model)
    swap = ([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)]
            if averaging else [])
    kill = [_KillAfter(kill_after)] if kill_after else []
    try:
        model.fit(data, epochs=epochs, initial_epoch=initial_epoch,
                  callbacks=swap + [stop, checkpoint] + kill, verbose=0)
    except _Killed:
        pass
    return checkpoint, stop


@pytest.mark.parametrize("weighting", ["uncertainty", "gradnorm", "dwa"])
def test_restore_brings_back_every_piece_of_state(
        weighting, impressions, impression_features, tmp_path):
    train, _ = impressions
    data = _dataset(train, impression_features)
    model = _model(impression_features, weighting)
    saved, stop = _train(model, data, tmp_path, epochs=3)
    assert [p.name for p in tmp_path.iterdir()] == ["epoch-0003"]

    fresh = _model(impression_features, weighting)
    fresh_stop = keras.callbacks.EarlyStopping(
        monitor="loss", patience=50, restore_best_weights=True)
    restored = TrainingCheckpoint(tmp_path, early_stopping=fresh_stop)
    assert restored.restore(fresh) == 3
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(fresh.optimizer.iterations) == int(model.optimizer.iterations)
    for a, b in zip(model.optimizer.variables, fresh.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # The strategy's learned state (and GradNorm's optimizer) came back
    # with the weights file, and differs from a fresh strategy's.
    learned = _strategy_state(model)
    assert learned and len(learned) == len(_strategy_state(fresh))
    assert any(not np.array_equal(a, b) for a, b in zip(
        learned, _strategy_state(_model(impression_features, weighting))))
    for a, b in zip(learned, _strategy_state(fresh)):
        np.testing.assert_array_equal(a, b)
    assert restored.history == saved.history
    assert len(restored.history["loss"]) == 3

    restored.set_model(fresh)
    restored.on_train_begin()  # after early stopping reset its counters
    assert fresh_stop.best == stop.best
    assert fresh_stop.wait == stop.wait
    for a, b in zip(fresh_stop.best_weights, stop.best_weights):
        np.testing.assert_array_equal(a, b)


def _strategy_state(model):
    strategy = model.weighting
    own = list(strategy.weights)
    optimizer = getattr(strategy, "optimizer", None)
    own += list(optimizer.variables) if optimizer is not None else []
    return [np.asarray(v) for v in own]


# DWA's state is restored beside the model's; fixed weighting without
# averaging is what both cases do without their extra state.
@pytest.mark.parametrize("weighting,averaging", [
    ("dwa", False), ("fixed", True)])
def test_resumed_training_ends_with_the_uninterrupted_weights(
        weighting, averaging, impressions, impression_features, tmp_path):
    train, test = impressions
    keras.utils.set_random_seed(0)
    whole = _model(impression_features, weighting, averaging)
    whole_checkpoint, _ = _train(whole, _dataset(train, impression_features),
                                 tmp_path / "a", epochs=4,
                                 averaging=averaging)

    keras.utils.set_random_seed(0)
    first = _model(impression_features, weighting, averaging)
    _train(first, _dataset(train, impression_features), tmp_path / "b",
           epochs=4, averaging=averaging, kill_after=2)
    keras.utils.set_random_seed(7)
    # A fresh process builds the model from another random state; the
    # checkpoint replaces all of it, and the data resumes at epoch 2.
    second = _model(impression_features, weighting, averaging)
    checkpoint, _ = _train(
        second, _dataset(train, impression_features, first_epoch=2),
        tmp_path / "b", epochs=4, restore=True, averaging=averaging)
    assert int(second.optimizer.iterations) == int(whole.optimizer.iterations)
    assert len(checkpoint.history["loss"]) == 4
    assert checkpoint.history["loss"] == pytest.approx(
        whole_checkpoint.history["loss"], rel=1e-5)
    for a, b in zip(whole.get_weights(), second.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    if weighting == "dwa":  # the epoch-3 weights came from restored losses
        assert checkpoint.history["click_weight"][3] != 1.0
        assert checkpoint.history["click_weight"] == pytest.approx(
            whole_checkpoint.history["click_weight"], rel=1e-5)


def test_resuming_with_other_settings_is_refused(impressions,
                                                 impression_features,
                                                 tmp_path):
    train, _ = impressions
    model = _model(impression_features, "fixed")
    _train(model, _dataset(train, impression_features), tmp_path,
           epochs=1, settings={"seed": 0, "model": "mmoe"})
    other = TrainingCheckpoint(tmp_path, settings={"seed": 1,
                                                   "model": "mmoe"})
    with pytest.raises(CheckpointMismatchError, match="seed: checkpoint 0, "
                                                      "now 1"):
        other.restore(_model(impression_features, "fixed"))


def test_a_failed_write_keeps_the_previous_checkpoint(
        impressions, impression_features, tmp_path, monkeypatch):
    train, _ = impressions
    model = _model(impression_features, "fixed")
    checkpoint, _ = _train(model, _dataset(train, impression_features),
                           tmp_path, epochs=1)
    before = json.loads((tmp_path / "epoch-0001" / "state.json").read_text())

    def fail_midway(*args, **kwargs):
        raise OSError("disk full")

    # The weights are written; the next file fails.
    monkeypatch.setattr(np, "savez", fail_midway)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save(2)
    assert [p.name for p in tmp_path.iterdir()] == ["epoch-0001"]
    after = json.loads((tmp_path / "epoch-0001" / "state.json").read_text())
    assert after == before
    fresh = _model(impression_features, "fixed")
    assert TrainingCheckpoint(tmp_path).restore(fresh) == 1
