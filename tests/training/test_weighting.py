import math

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import mtzoo
from mtzoo import features as F
from mtzoo import tasks as T
from mtzoo.data import synthetic
from mtzoo.training import weighting

STRATEGIES = ["fixed", "uncertainty", "gradnorm", "dwa", "pcgrad"]


def test_pcgrad_removes_only_the_conflicting_component():
    g1, g2 = np.array([1.0, 0.0]), np.array([-1.0, 1.0])
    out = weighting.project_conflicts(np.stack([g1, g2])).numpy()
    np.testing.assert_allclose(out[0], [0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(out[1], [0.0, 1.0], atol=1e-6)
    assert abs(out[0] @ g2) < 1e-6 and abs(out[1] @ g1) < 1e-6
    agreeing = np.array([[1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(
        weighting.project_conflicts(agreeing).numpy(), agreeing)


def test_dwa_follows_its_formula_on_a_scripted_history():
    strategy = weighting.DynamicWeightAverage(temperature=2.0)
    strategy.setup([T.binary("a"), T.binary("b")])
    np.testing.assert_allclose(strategy.dynamic.numpy(), [1.0, 1.0])
    strategy.record_epoch([1.0, 1.0])
    np.testing.assert_allclose(strategy.dynamic.numpy(), [1.0, 1.0])
    strategy.record_epoch([0.5, 0.9])
    ratios = np.array([0.5, 0.9])
    expected = 2 * np.exp(ratios / 2) / np.exp(ratios / 2).sum()
    np.testing.assert_allclose(strategy.dynamic.numpy(), expected,
                               rtol=1e-6)
    assert strategy.dynamic.numpy()[1] > strategy.dynamic.numpy()[0]


def test_gradnorm_rule_favours_the_slower_task():
    strategy = weighting.GradNorm(alpha=1.5, learning_rate=0.1)
    strategy.setup([T.regression("fast"), T.regression("slow")])
    strategy.step_weights(tf.constant([1.0, 1.0]), tf.constant([1.0, 1.0]))
    for _ in range(10):
        strategy.step_weights(tf.constant([1.0, 1.0]),
                              tf.constant([0.2, 0.9]))
    weights = strategy.task_weights.numpy()
    assert weights[1] > weights[0]
    assert weights.sum() == pytest.approx(2.0, rel=1e-5)


def _two_regressions(noise, rows=4000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4)).astype("float32")
    frame = pd.DataFrame({"x": list(x)})
    frame["easy"] = x @ np.array([1.0, -1.0, 0.5, 0.0]) + noise[0] * \
        rng.normal(size=rows)
    frame["hard"] = np.sin(3 * x[:, 0]) * np.cos(3 * x[:, 1]) + noise[1] * \
        rng.normal(size=rows)
    return frame


@pytest.mark.large
def test_uncertainty_weights_approach_inverse_noise_variances():
    rng = np.random.default_rng(1)
    rows = 6000
    x = rng.normal(size=(rows, 4)).astype("float32")
    signal = x @ np.array([1.0, -1.0, 0.5, 0.25])
    frame = pd.DataFrame({"x": list(x),
                          "quiet": signal + 0.5 * rng.normal(size=rows),
                          "noisy": signal + 2.0 * rng.normal(size=rows)})
    features = [F.VectorFeature("x", dim=4)]
    tasks = [T.regression("quiet"), T.regression("noisy")]
    keras.utils.set_random_seed(0)
    model = mtzoo.models.shared_bottom(features, tasks, bottom_units=[16],
                                       tower_units=[])
    model.compile(optimizer=keras.optimizers.Adam(0.02),
                  weighting="uncertainty")
    model.fit(mtzoo.data.from_dataframe(frame, features, tasks,
                                        batch_size=128, shuffle=True,
                                        seed=0), epochs=12, verbose=0)
    variances = {n: math.exp(float(v.numpy())) for n, v in
                 model.weighting.log_variances.items()}
    # At the optimum exp(s_t) is the task's MSE, i.e. its noise variance.
    assert variances["quiet"] == pytest.approx(0.25, rel=0.35)
    assert variances["noisy"] == pytest.approx(4.0, rel=0.35)
    precision_ratio = variances["noisy"] / variances["quiet"]
    assert 8 < precision_ratio < 32  # 1/sigma^2 ratio: 16


@pytest.mark.large
def test_gradnorm_raises_the_weight_of_the_slower_task():
    frame = _two_regressions(noise=(0.1, 0.1))
    features = [F.VectorFeature("x", dim=4)]
    tasks = [T.regression("easy"), T.regression("hard")]
    keras.utils.set_random_seed(0)
    model = mtzoo.models.shared_bottom(features, tasks, bottom_units=[32],
                                       tower_units=[16])
    model.compile(optimizer=keras.optimizers.Adam(0.005),
                  weighting={"name": "gradnorm", "alpha": 1.5})
    history = model.fit(mtzoo.data.from_dataframe(
        frame, features, tasks, batch_size=128, shuffle=True, seed=0),
        epochs=4, verbose=0)
    logs = history.history
    easy_rate = logs["easy_loss"][-1] / logs["easy_loss"][0]
    hard_rate = logs["hard_loss"][-1] / logs["hard_loss"][0]
    assert hard_rate > easy_rate  # the hard task trains slower...
    assert logs["hard_weight"][-1] > logs["easy_weight"][-1]  # ...and gains
    assert logs["hard_weight"][-1] + logs["easy_weight"][-1] == \
        pytest.approx(2.0, rel=1e-5)
    assert min(logs["easy_weight"] + logs["hard_weight"]) > 0


@pytest.fixture(scope="module")
def masked_data(impressions, impression_features):
    train, _ = impressions
    train = train.iloc[:2000].copy()
    train.loc[train.index[::3], "watch_time"] = np.nan  # missing labels
    train["w"] = np.where(train["device"] == "ios", 2.0, 1.0)
    return train


#: Every strategy on MMoE's three kinds of task; the two funnel
#: architectures (ESMM's product of towers, AITM's calibrated transfer) each
#: with a strategy that reweights losses and one that reshapes gradients.
TRAINED = ([("mmoe", strategy) for strategy in STRATEGIES]
           + [("esmm", "uncertainty"), ("esmm", "gradnorm"),
              ("aitm", "dwa"), ("aitm", "pcgrad")])


@pytest.mark.large
@pytest.mark.parametrize(("name", "strategy"), TRAINED)
def test_every_strategy_trains_with_masks_and_weights(
        strategy, name, masked_data, impression_features):
    if name == "esmm":
        tasks = [T.binary("ctr", label="click", weight_column="w"),
                 T.binary("ctcvr", label="conversion")]
    elif name == "aitm":
        tasks = synthetic.funnel_tasks()
    else:
        tasks = [T.binary("click", weight_column="w"),
                 T.regression("watch_time", loss="huber"),
                 T.multiclass("interest", num_classes=6)]
    keras.utils.set_random_seed(0)
    model = mtzoo.models.build(name, impression_features, tasks)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), weighting=strategy)
    data = mtzoo.data.from_dataframe(masked_data, impression_features, tasks,
                                     batch_size=256)
    before = model.evaluate(data, verbose=0, return_dict=True)
    history = model.fit(data, epochs=3, verbose=0)
    after = model.evaluate(data, verbose=0, return_dict=True)
    logs = history.history
    # Training lowered every task's (fixed-weight) loss on the data it saw.
    for task in tasks:
        assert after[f"{task.name}_loss"] < before[f"{task.name}_loss"], task
    weights = np.array([logs[f"{t.name}_weight"] for t in tasks])
    assert weights.shape == (len(tasks), 3)
    if strategy in ("fixed", "pcgrad"):
        np.testing.assert_array_equal(weights, 1.0)
    elif strategy in ("gradnorm", "dwa"):  # renormalized to sum to T
        np.testing.assert_allclose(weights.sum(axis=0), len(tasks),
                                   rtol=1e-5)
        assert np.ptp(weights[:, -1]) > 1e-4  # and they moved apart
    else:  # uncertainty: positive, and learned away from the start
        assert (weights > 0).all() and np.ptp(weights[:, -1]) > 1e-4


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_saved_models_do_not_depend_on_the_strategy(
        strategy, impressions, impression_features, tmp_path):
    tasks = synthetic.impression_tasks()
    model = mtzoo.models.mmoe(impression_features, tasks)
    model.compile(weighting=strategy, run_eagerly=True)
    model.fit(mtzoo.data.from_dataframe(impressions[0].iloc[:512],
                                        impression_features, tasks,
                                        batch_size=256), epochs=1, verbose=0)
    path = mtzoo.models.save_model(model, tmp_path / "m.keras")
    reloaded = mtzoo.models.load_model(path)
    reference = mtzoo.models.mmoe(impression_features, tasks)
    assert len(reloaded.weights) == len(reference.weights)
    assert reloaded.weighting.strategy == strategy
    # The strategy's learned state travels in the file, beside the model.
    for a, b in zip(model.weighting.weights, reloaded.weighting.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    x = mtzoo.data.model_inputs(impressions[1].iloc[:20], impression_features)
    for key, value in model.predict(x, verbose=0).items():
        np.testing.assert_array_equal(value,
                                      reloaded.predict(x, verbose=0)[key])


def test_gradnorm_needs_shared_parameters(impression_features):
    model = mtzoo.models.single_task(impression_features,
                                     synthetic.impression_tasks())
    with pytest.raises(ValueError, match="GradNorm needs the last layer "
                                         "shared by all tasks"):
        model.compile(weighting="gradnorm")
    shared = mtzoo.models.single_task(impression_features,
                                      synthetic.impression_tasks(),
                                      share_embeddings=True)
    shared.compile(weighting="gradnorm")
    assert shared.shared_layer == "feature_encoder"


def test_each_architecture_declares_its_last_shared_layer(
        impression_features):
    tasks = synthetic.impression_tasks()
    ple = mtzoo.models.ple(impression_features, tasks, num_levels=11,
                           expert_units=[4], num_shared_experts=1,
                           num_task_experts=1)
    # Declared by the builder, not found by sorting names as text (where
    # "level_10" would come after "level_11").
    assert ple.shared_layer == "level_11_experts_shared"
    expected = {"shared_bottom": "bottom", "mmoe": "experts",
                "omoe": "experts", "attention_gated": "experts"}
    for name, layer in expected.items():
        model = mtzoo.models.build(name, impression_features, tasks)
        assert model.shared_layer == layer
        assert model.get_layer(layer).trainable_weights


def _embedding_model():
    ids = keras.Input((), dtype="int32", name="item")
    table = keras.layers.Embedding(1000, 8, name="table")(ids)
    hidden = keras.layers.Dense(8, name="bottom")(table)
    outputs = {name: keras.layers.Dense(1, name=name)(hidden)
               for name in ("a", "b")}
    return mtzoo.models.MultiTaskModel(
        {"item": ids}, outputs, tasks=[T.regression("a"), T.regression("b")],
        shared_layer="bottom")


@pytest.mark.parametrize("include_embeddings", [False, True])
def test_pcgrad_keeps_embedding_gradients_sparse(include_embeddings):
    model = _embedding_model()
    strategy = weighting.PCGrad(include_embeddings=include_embeddings,
                                seed=0)
    model.compile(optimizer="sgd", weighting=strategy)
    x = {"item": tf.constant([3, 3, 7, 11])}
    y = {"a": tf.constant([[1.0], [2.0], [0.0], [1.0]]),
         "b": tf.constant([[-1.0], [-2.0], [0.0], [-1.0]])}  # conflicting
    variables = model.trainable_weights
    with tf.GradientTape(persistent=True) as tape:
        losses = model.compute_task_losses(y, model(x))
    grads = strategy.gradients(tape, losses, None, None, variables=variables,
                               shared_variables=[], loss_scale=1.0)
    table = [g for g, v in zip(grads, variables) if "table" in v.path][0]
    if include_embeddings:
        assert not isinstance(table, tf.IndexedSlices)
        assert tuple(table.shape) == (1000, 8)
    else:
        # Only the rows the batch used, never a 1000 x 8 dense tensor.
        assert isinstance(table, tf.IndexedSlices)
        assert sorted(set(table.indices.numpy().tolist())) == [3, 7, 11]
        dense = [tape.gradient(losses[n], variables)[0] for n in "ab"]
        summed = tf.convert_to_tensor(dense[0]) + tf.convert_to_tensor(
            dense[1])
        np.testing.assert_allclose(tf.convert_to_tensor(table), summed,
                                   atol=1e-6)


def test_gradnorm_counts_sparse_gradients_by_their_summed_rows():
    gradient = tf.IndexedSlices(
        values=tf.constant([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]]),
        indices=tf.constant([4, 4, 9]), dense_shape=tf.constant([10, 2]))
    dense = tf.convert_to_tensor(gradient)
    assert float(weighting.squared_norm(gradient)) == pytest.approx(
        float(tf.reduce_sum(dense * dense)))  # 3^2 + 3^2, not 1 + 4 + 9
    assert float(weighting.squared_norm(gradient)) == pytest.approx(18.0)


def test_unknown_strategy_lists_the_known_ones(impression_features):
    model = mtzoo.models.mmoe(impression_features,
                              synthetic.impression_tasks())
    with pytest.raises(ValueError, match=r"Unknown weighting 'grad'.*"
                                         r"'pcgrad'"):
        model.compile(weighting="grad")
