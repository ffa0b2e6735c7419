"""Training checkpoints: what they keep, resuming, atomic writes."""

import json

import keras
import numpy as np
import pytest

import mtzoo
from mtzoo.training.checkpoint import CheckpointMismatchError
from mtzoo.training.checkpoint import TrainingCheckpoint


def _dataset(frame, features, seed=0):
    return mtzoo.data.from_dataframe(
        frame, features, mtzoo.data.synthetic.impression_tasks(),
        batch_size=512, shuffle=True, seed=seed)


def _model(features, weighting):
    model = mtzoo.models.mmoe(features,
                              mtzoo.data.synthetic.impression_tasks(),
                              num_experts=2, expert_units=[16],
                              tower_units=[8])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  weighting=weighting)
    return model


def _train(model, data, directory, *, epochs, initial_epoch=0, stop=None,
           settings=None, restore=False):
    stop = stop or keras.callbacks.EarlyStopping(
        monitor="loss", patience=50, restore_best_weights=True)
    checkpoint = TrainingCheckpoint(directory, settings=settings or {},
                                    early_stopping=stop)
    if restore:
        initial_epoch = checkpoint.restore(model)
    model.fit(data, epochs=epochs, initial_epoch=initial_epoch,
              callbacks=[stop, checkpoint], verbose=0)
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
    for a, b in zip(model.weighting.state_variables(),
                    fresh.weighting.state_variables()):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert fresh.weighting.get_state() == model.weighting.get_state()
    assert restored.history == saved.history
    assert len(restored.history["loss"]) == 3

    restored.set_model(fresh)
    restored.on_train_begin()  # after early stopping reset its counters
    assert fresh_stop.best == stop.best
    assert fresh_stop.wait == stop.wait
    for a, b in zip(fresh_stop.best_weights, stop.best_weights):
        np.testing.assert_array_equal(a, b)


def test_resumed_training_matches_uninterrupted(impressions,
                                                impression_features,
                                                tmp_path):
    train, test = impressions
    keras.utils.set_random_seed(0)
    whole = _model(impression_features, "fixed")
    _train(whole, _dataset(train, impression_features), tmp_path / "a",
           epochs=4)

    keras.utils.set_random_seed(0)
    first = _model(impression_features, "fixed")
    _train(first, _dataset(train, impression_features), tmp_path / "b",
           epochs=2)
    second = _model(impression_features, "fixed")
    # A fresh process would build the model from another random state; the
    # checkpoint replaces all of it.
    checkpoint, _ = _train(
        second, _dataset(train, impression_features, seed=2),
        tmp_path / "b", epochs=4, restore=True)
    assert int(second.optimizer.iterations) == int(whole.optimizer.iterations)
    assert checkpoint.history["loss"][:2] == pytest.approx(
        json.loads((tmp_path / "a").joinpath("epoch-0004", "state.json")
                   .read_text())["history"]["loss"][:2], rel=1e-5)
    assert len(checkpoint.history["loss"]) == 4
    # The last two epochs saw the rows in another order: close, not equal.
    tasks = mtzoo.data.synthetic.impression_tasks()
    evaluated = [m.evaluate(mtzoo.data.from_dataframe(
        test, impression_features, tasks, batch_size=1024), verbose=0,
        return_dict=True)["loss"] for m in (whole, second)]
    assert evaluated[1] == pytest.approx(evaluated[0], rel=0.05)


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
