"""Every architecture: builds on a mixed schema, learns, saves safely."""

import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import mtzoo
from mtzoo.data import synthetic

ARCHITECTURES = ["single_task", "shared_bottom", "omoe", "mmoe", "ple",
                 "attention_gated", "aitm", "esmm", "two_tower"]
GATED = {"omoe": 1, "mmoe": 3, "ple": 2 * 3 + 1, "attention_gated": 3}


def _tasks(name):
    return synthetic.tasks_for(name)


def _outputs(name):
    if name == "esmm":
        return {"ctr", "cvr", "ctcvr"}
    return {t.name for t in _tasks(name)}


def _small_hparams(name):
    hparams = mtzoo.models.hyperparameters(name)
    small = {}
    if "num_experts" in hparams:
        small["num_experts"] = 4
    if "expert_units" in hparams:
        small["expert_units"] = [32]
    return small


@pytest.fixture(scope="module")
def trained(impressions, impression_features):
    """Each architecture trained briefly, with its losses before and after."""
    train, test = impressions
    results = {}

    def train_one(name):
        if name in results:
            return results[name]
        keras.utils.set_random_seed(0)
        tasks = _tasks(name)
        model = mtzoo.models.build(name, impression_features, tasks,
                                   **_small_hparams(name))
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        train_data = mtzoo.data.from_dataframe(
            train, impression_features, tasks, batch_size=128, shuffle=True,
            seed=0)
        test_data = mtzoo.data.from_dataframe(test, impression_features,
                                              tasks, batch_size=1024)
        before = model.evaluate(test_data, return_dict=True, verbose=0)
        model.fit(train_data, epochs=6, verbose=0)
        after = model.evaluate(test_data, return_dict=True, verbose=0)
        results[name] = (model, tasks, before, after)
        return results[name]

    return train_one


def test_registry_lists_every_architecture():
    assert mtzoo.models.available() == ARCHITECTURES


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_learns_on_a_mixed_schema(name, trained):
    model, tasks, before, after = trained(name)
    assert set(model.output_names) == _outputs(name)
    assert after["loss"] < 0.85 * before["loss"], (before, after)
    for task in tasks:
        assert after[f"{task.name}_loss"] < before[f"{task.name}_loss"]
    for task in tasks:
        if task.kind == "binary":
            assert after[f"{task.name}_auc"] > 0.62, after
        elif task.kind == "multiclass":
            assert after[f"{task.name}_accuracy"] > 0.6, after


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_keras_file_round_trip_in_safe_mode(name, trained, impressions,
                                            impression_features, tmp_path):
    model, tasks, _, _ = trained(name)
    x = mtzoo.data.model_inputs(impressions[1].iloc[:100],
                                impression_features)
    path = mtzoo.models.save_model(model, tmp_path / f"{name}.keras")
    reloaded = mtzoo.models.load_model(path)
    assert type(reloaded) is mtzoo.models.MultiTaskModel
    expected, actual = model(x), reloaded(x)
    assert set(actual) == _outputs(name)
    for key in expected:
        np.testing.assert_array_equal(np.asarray(expected[key]),
                                      np.asarray(actual[key]))


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_config_round_trip(name, impression_features):
    model = mtzoo.models.build(name, impression_features, _tasks(name),
                               **_small_hparams(name))
    clone = mtzoo.models.MultiTaskModel.from_config(model.get_config())
    assert clone.count_params() == model.count_params()
    assert set(clone.output_names) == set(model.output_names)
    assert clone.tasks == model.tasks


@pytest.mark.parametrize("name", sorted(GATED))
def test_gate_weights_are_exposed(name, trained, impressions,
                                  impression_features):
    model, _, _, _ = trained(name)
    x = mtzoo.data.model_inputs(impressions[1].iloc[:10], impression_features)
    weights = mtzoo.models.gate_weights(model, x)
    assert len(weights) == GATED[name]
    for gate, values in weights.items():
        assert values.shape[0] == 10
        np.testing.assert_allclose(values.sum(axis=-1), 1.0, rtol=1e-5)
    if name == "attention_gated":
        assert weights["gate_click"].shape == (10, 2, 4)  # heads, experts
    if name == "mmoe":
        assert set(weights) == {"gate_click", "gate_watch_time",
                                "gate_interest"}
        # In slices of 4 rows, and from a dataset: the same weights.
        sliced = mtzoo.models.gate_weights(model, x, batch_size=4)
        streamed = mtzoo.models.gate_weights(
            model, tf.data.Dataset.from_tensor_slices(x).batch(3))
        for other in (sliced, streamed):
            for gate, values in weights.items():
                np.testing.assert_allclose(other[gate], values, rtol=1e-5,
                                           atol=1e-6)


def test_a_run_calls_a_few_batches_eagerly_and_predicts_more(
        trained, impressions, impression_features, monkeypatch):
    from mtzoo.runs import steps

    model, _, _, _ = trained("mmoe")
    frame = impressions[1].iloc[:10]  # 3 batches of 4 rows
    expected = model.predict(mtzoo.data.from_dataframe(
        frame, impression_features, batch_size=4), verbose=0)
    predicted = []
    original = model.predict
    monkeypatch.setattr(model, "predict", lambda *args, **kwargs: (
        predicted.append(True), original(*args, **kwargs))[1])
    outputs = []
    for eager_batches, traced in ((3, False), (2, True)):
        monkeypatch.setattr(steps, "EAGER_BATCHES", {
            "xla": eager_batches, "traced": eager_batches})
        outputs.append(steps.predict(model, frame, impression_features,
                                     batch_size=4))
        assert predicted == [True] * traced
    for output in outputs:
        assert set(output) == set(expected)
        for task, values in expected.items():
            np.testing.assert_allclose(output[task], values, rtol=1e-5,
                                       atol=1e-6)


def test_ungated_model_has_no_gates(impression_features):
    model = mtzoo.models.shared_bottom(impression_features,
                                       synthetic.impression_tasks())
    with pytest.raises(ValueError, match="has no gates"):
        mtzoo.models.gate_model(model)


def test_esmm_ctcvr_is_the_product_of_ctr_and_cvr(trained, impressions,
                                                  impression_features):
    model, _, _, _ = trained("esmm")
    x = mtzoo.data.model_inputs(impressions[1].iloc[:50], impression_features)
    out = model.predict(x, verbose=0)
    np.testing.assert_allclose(out["ctcvr"], out["ctr"] * out["cvr"],
                               rtol=1e-6)


def test_aitm_carries_the_calibration_loss(impression_features):
    tasks = synthetic.funnel_tasks()
    with_constraint = mtzoo.models.aitm(impression_features, tasks)
    without = mtzoo.models.aitm(impression_features, tasks,
                                calibration_weight=0.0)
    assert any(isinstance(layer, mtzoo.layers.CalibrationConstraint)
               for layer in with_constraint.layers)
    x = mtzoo.data.model_inputs(
        synthetic.impressions(64, seed=3), impression_features)
    with_constraint(x)
    without(x)
    assert len(with_constraint.losses) == 1
    assert len(without.losses) == 0


def _assert_reloads_exactly(model, impressions, features, path):
    """A `.keras` round trip (safe mode) predicts exactly what the model
    does on 64 test rows."""
    x = mtzoo.data.model_inputs(impressions[1].iloc[:64], features)
    reloaded = mtzoo.models.load_model(mtzoo.models.save_model(model, path))
    expected, actual = model.predict(x, verbose=0), reloaded.predict(
        x, verbose=0)
    for key in expected:
        np.testing.assert_array_equal(expected[key], actual[key])


@pytest.mark.parametrize("name", [a for a in ARCHITECTURES
                                  if a != "two_tower"])
def test_feature_cross_and_wide_path_build_and_save(name, impressions,
                                                    impression_features,
                                                    tmp_path):
    tasks = _tasks(name)
    plain = mtzoo.models.build(name, impression_features, tasks,
                               **_small_hparams(name))
    model = mtzoo.models.build(name, impression_features, tasks,
                               cross_layers=2, wide=True,
                               **_small_hparams(name))
    width = model.get_layer("feature_encoder").output.shape[-1] if (
        name != "single_task") else model.get_layer(
            f"feature_encoder_{tasks[0].name}").output.shape[-1]
    crosses = [layer for layer in model.layers
               if layer.name.startswith("feature_cross")]
    copies = len(tasks) if name == "single_task" else 1
    assert len(crosses) == 2 * copies
    # each cross layer: a width x width kernel and a bias
    assert model.count_params() - plain.count_params() >= (
        2 * copies * (width * width + width))
    assert any(layer.name.startswith("wide_logit_") for layer in model.layers)
    _assert_reloads_exactly(model, impressions, impression_features,
                            tmp_path / f"{name}.keras")


@pytest.mark.parametrize("name", ["mmoe", "single_task", "esmm"])
def test_dot_interaction_pairs_every_feature_and_saves(
        name, impressions, impression_features, tmp_path):
    tasks = _tasks(name)
    model = mtzoo.models.build(name, impression_features, tasks,
                               dot_interaction=4, cross_layers=1,
                               **_small_hparams(name))
    pairs = len(impression_features) * (len(impression_features) - 1) // 2
    products = [layer for layer in model.layers
                if layer.name.startswith("dot_interaction")
                and type(layer).__name__ == "DotInteraction"]
    assert len(products) == (len(tasks) if name == "single_task" else 1)
    assert all(layer.output.shape[-1] == pairs for layer in products)
    projections = [layer for layer in model.layers
                   if layer.name.startswith("dot_interaction_")
                   and isinstance(layer, keras.layers.Dense)]
    assert len(projections) == len(products) * len(impression_features)
    assert {layer.units for layer in projections} == {4}
    _assert_reloads_exactly(model, impressions, impression_features,
                            tmp_path / f"{name}.keras")


def test_keras_rs_layers_load_in_a_fresh_process(impressions,
                                                 impression_features,
                                                 tmp_path):
    model = mtzoo.models.build("mmoe", impression_features, _tasks("mmoe"),
                               dot_interaction=4, cross_layers=1,
                               **_small_hparams("mmoe"))
    path = mtzoo.models.save_model(model, tmp_path / "model.keras")
    x = mtzoo.data.model_inputs(impressions[1].iloc[:16], impression_features)
    np.savez(tmp_path / "expected.npz", **model.predict(x, verbose=0))
    np.savez(tmp_path / "inputs.npz", **{k: np.asarray(v)
                                          for k, v in x.items()})
    # In a process that has not imported keras-rs yet, the build that
    # imports it starts from the weights a second seeded build does.
    script = (
        "import sys, keras, numpy as np, mtzoo\n"
        "from mtzoo.data import synthetic\n"
        "assert 'keras_rs' not in sys.modules\n"
        "frame = synthetic.impressions(200, num_users=20, num_items=10)\n"
        "features = mtzoo.features.adapt(\n"
        "    synthetic.impression_features(), frame)\n"
        "tasks = mtzoo.tasks.adapt(synthetic.impression_tasks(), frame)\n"
        "builds = []\n"
        "for _ in range(2):\n"
        "    keras.utils.set_random_seed(0)\n"
        "    builds.append(mtzoo.models.mmoe(\n"
        "        features, tasks, dot_interaction=4, cross_layers=1\n"
        "    ).get_weights())\n"
        "assert 'keras_rs' in sys.modules\n"
        "assert all(np.array_equal(a, b) for a, b in zip(*builds))\n"
        "model = mtzoo.models.load_model(sys.argv[1])\n"
        "x = dict(np.load(sys.argv[2], allow_pickle=False))\n"
        "expected = np.load(sys.argv[3], allow_pickle=False)\n"
        "got = model.predict(x, verbose=0)\n"
        "assert all(np.array_equal(got[k], expected[k]) for k in got)\n")
    done = subprocess.run(
        [sys.executable, "-c", script, str(path),
         str(tmp_path / "inputs.npz"), str(tmp_path / "expected.npz")],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_dot_interaction_needs_two_features():
    features = mtzoo.features.adapt(
        [mtzoo.features.CategoricalFeature("user_id")],
        pd.DataFrame({"user_id": ["a", "b"]}))
    with pytest.raises(ValueError, match="two features to pair"):
        mtzoo.models.mmoe(features, [mtzoo.tasks.binary("click")],
                          dot_interaction=4)
