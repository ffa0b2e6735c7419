import keras
import numpy as np
import pandas as pd
import pytest

import mtzoo
from mtzoo import features as F
from mtzoo import tasks as T


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "x": rng.normal(size=64),
        "city": rng.choice(["a", "b", "c"], size=64),
    })
    frame["click"] = (frame.x > 0).astype(float)
    frame["rating"] = 2 * frame.x + 1
    features = F.adapt([F.NumericFeature("x"), F.CategoricalFeature("city")],
                       frame)
    tasks = [T.binary("click"), T.regression("rating", weight=0.5)]
    return frame, features, tasks


def _model(features, tasks, seed=0):
    keras.utils.set_random_seed(seed)
    model = mtzoo.models.shared_bottom(features, tasks, bottom_units=[8],
                                       tower_units=[4])
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    return model


def test_masked_label_value_cannot_change_loss_or_update(small):
    frame, features, tasks = small
    results = []
    for masked_value in (0.0, 1.0):
        changed = frame.copy()
        changed.loc[3, "click"] = np.nan  # row 3 has no click label...
        x = mtzoo.data.model_inputs(changed, features)
        y, w = mtzoo.data.label_arrays(changed, tasks)
        y["click"][3] = masked_value  # ...whatever value sits behind it
        model = _model(features, tasks)
        before = model.evaluate(x, y, sample_weight=w, return_dict=True,
                                verbose=0)
        model.train_on_batch(x, y, sample_weight=w)
        results.append((before, [v.numpy() for v in model.weights]))
    (before_a, weights_a), (before_b, weights_b) = results
    assert before_a["click_loss"] == pytest.approx(before_b["click_loss"],
                                                   rel=1e-7)
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_array_equal(a, b)


def test_total_loss_is_weighted_sum_of_task_losses(small):
    frame, features, tasks = small
    model = _model(features, tasks)
    x = mtzoo.data.model_inputs(frame, features)
    y, w = mtzoo.data.label_arrays(frame, tasks)
    logs = model.evaluate(x, y, sample_weight=w, return_dict=True, verbose=0,
                          batch_size=64)
    assert logs["loss"] == pytest.approx(
        logs["click_loss"] + 0.5 * logs["rating_loss"], rel=1e-5)
    assert {"click_auc", "click_accuracy", "rating_rmse",
            "rating_mae"} <= set(logs)


def test_compile_overrides_by_task_name(small):
    frame, features, tasks = small
    model = _model(features, tasks)
    model.compile(optimizer="adam", loss={"rating": "mae"},
                  loss_weights={"click": 2.0},
                  metrics={"rating": ["mse"]})
    assert model.task_loss_weights == {"click": 2.0, "rating": 0.5}
    x = mtzoo.data.model_inputs(frame, features)
    y, w = mtzoo.data.label_arrays(frame, tasks)
    logs = model.evaluate(x, y, sample_weight=w, return_dict=True, verbose=0,
                          batch_size=64)
    predictions = model.predict(x, verbose=0)
    mae = np.mean(np.abs(predictions["rating"] - y["rating"]))
    assert logs["rating_loss"] == pytest.approx(mae, rel=1e-4)
    assert "rating_mse" in logs and "rating_rmse" not in logs
    assert logs["loss"] == pytest.approx(
        2.0 * logs["click_loss"] + 0.5 * logs["rating_loss"], rel=1e-5)


def test_compile_rejects_unknown_task_names(small):
    _, features, tasks = small
    model = _model(features, tasks)
    with pytest.raises(ValueError, match=r"`loss_weights` names unknown "
                                         r"tasks \['ctr'\]"):
        model.compile(loss_weights={"ctr": 1.0})


def test_missing_labels_for_a_task_are_reported(small):
    frame, features, tasks = small
    model = _model(features, tasks)
    x = mtzoo.data.model_inputs(frame, features)
    y, _ = mtzoo.data.label_arrays(frame, tasks)
    del y["rating"]
    with pytest.raises(ValueError, match=r"missing for tasks \['rating'\]"):
        model.train_on_batch(x, y)


def test_compile_survives_saving(small, tmp_path):
    frame, features, tasks = small
    model = _model(features, tasks)
    model.compile(optimizer="adam", loss_weights={"click": 3.0})
    x = mtzoo.data.model_inputs(frame, features)
    y, w = mtzoo.data.label_arrays(frame, tasks)
    model.fit(x, y, sample_weight=w, epochs=1, verbose=0)
    path = mtzoo.models.save_model(model, tmp_path / "m.keras")
    reloaded = mtzoo.models.load_model(path)
    assert isinstance(reloaded, mtzoo.models.MultiTaskModel)
    assert reloaded.tasks == model.tasks
    assert reloaded.task_loss_weights == {"click": 3.0, "rating": 0.5}
    a = model.evaluate(x, y, sample_weight=w, return_dict=True, verbose=0)
    b = reloaded.evaluate(x, y, sample_weight=w, return_dict=True, verbose=0)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-6)
    reloaded.fit(x, y, sample_weight=w, epochs=1, verbose=0)


def test_a_lambda_layer_file_is_refused(tmp_path):
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2)(inputs))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="(?i)lambda|unsafe|safe_mode"):
        mtzoo.models.load_model(tmp_path / "lambda.keras")


def test_save_model_is_atomic(small, tmp_path, monkeypatch):
    _, features, tasks = small
    model = _model(features, tasks)
    path = tmp_path / "m.keras"
    mtzoo.models.save_model(model, path)
    original = path.read_bytes()

    def failing_save(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        mtzoo.models.save_model(model, path)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]


@pytest.mark.parametrize("steps_per_execution", [1, 4])
def test_fit_traces_the_train_step_once(small, monkeypatch,
                                        steps_per_execution):
    frame, features, tasks = small
    traces = []
    train_step = mtzoo.models.MultiTaskModel.train_step

    def counting_train_step(self, data):
        traces.append(1)  # runs only while tracing
        return train_step(self, data)

    monkeypatch.setattr(mtzoo.models.MultiTaskModel, "train_step",
                        counting_train_step)
    model = _model(features, tasks)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  steps_per_execution=steps_per_execution)
    data = mtzoo.data.from_dataframe(frame, features, tasks, batch_size=16,
                                     shuffle=True, seed=0)
    model.fit(data, epochs=2, verbose=0)
    assert len(traces) == 1
    assert model.optimizer.iterations.numpy() == 8


@pytest.mark.xla
def test_auto_compiles_with_xla_unless_a_strategy_needs_task_gradients(
        small, monkeypatch):
    _, features, tasks = small
    model = _model(features, tasks)
    model.compile(optimizer="adam")
    assert model.jit_compile is True
    model.compile(optimizer="adam", weighting="pcgrad")
    assert model.jit_compile is False
    model.compile(optimizer="adam", jit_compile=False)
    assert model.jit_compile is False
    monkeypatch.setenv("MTZOO_JIT_COMPILE", "0")
    model.compile(optimizer="adam")
    assert model.jit_compile is False
    model.compile(optimizer="adam", jit_compile=True)
    assert model.jit_compile is True
