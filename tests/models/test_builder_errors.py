import pytest

import mtzoo
from mtzoo import features as F
from mtzoo import tasks as T
from mtzoo.data import synthetic


def test_unknown_architecture_lists_the_available_ones(impression_features):
    with pytest.raises(ValueError, match=r"Unknown architecture 'mmeo'.*"
                                         r"'mmoe'"):
        mtzoo.models.build("mmeo", impression_features,
                           synthetic.impression_tasks())


def test_unknown_hyperparameter_lists_the_valid_ones(impression_features):
    with pytest.raises(TypeError, match=r"no hyperparameters \['experts'\]"
                                        r".*num_experts"):
        mtzoo.models.build("mmoe", impression_features,
                           synthetic.impression_tasks(), experts=4)


@pytest.mark.parametrize("name, hparams, message", [
    ("mmoe", {"num_experts": 0}, "num_experts=0"),
    ("ple", {"num_levels": 0}, "num_levels=0"),
    ("ple", {"num_task_experts": {"click": 1}}, "no entry for tasks"),
    ("shared_bottom", {"dropout": 1.0}, "dropout=1.0"),
    ("attention_gated", {"num_heads": -1}, "num_heads=-1"),
    ("omoe", {"tower_units": [0]}, "tower_units"),
    ("single_task", {"l2": -0.1}, "l2=-0.1"),
    ("mmoe", {"cross_layers": -1}, "cross_layers=-1"),
    ("ple", {"dot_interaction": 1.5}, "dot_interaction=1.5"),
    ("ple", {"wide": "yes"}, "wide='yes'"),
])
def test_invalid_hyperparameters(name, hparams, message,
                                 impression_features):
    with pytest.raises(ValueError, match=message):
        mtzoo.models.build(name, impression_features,
                           synthetic.impression_tasks(), **hparams)


def test_ple_takes_expert_counts_per_task(impression_features):
    tasks = synthetic.impression_tasks()
    model = mtzoo.models.ple(
        impression_features, tasks, num_levels=1,
        num_task_experts={"click": 1, "watch_time": 2, "interest": 3})
    experts = model.get_layer("level_1_experts_interest")
    assert experts.num_experts == 3


def test_duplicate_task_names(impression_features):
    with pytest.raises(ValueError, match="unique"):
        mtzoo.models.mmoe(impression_features,
                          [T.binary("click"), T.binary("click")])


def test_feature_reading_a_label_column_is_refused(impression_features):
    leaky = impression_features + [F.NumericFeature("clicked", column="click",
                                                    mean=0.0, variance=1.0)]
    with pytest.raises(ValueError, match="'clicked' reads column 'click', "
                                         "the label column of task 'click'"):
        mtzoo.models.mmoe(leaky, synthetic.impression_tasks())


def test_aitm_needs_binary_funnel(impression_features):
    with pytest.raises(ValueError, match=r"\['watch_time'\] are not binary"):
        mtzoo.models.aitm(impression_features,
                          [T.binary("click"), T.regression("watch_time")])
    with pytest.raises(ValueError, match="at least 2 tasks"):
        mtzoo.models.aitm(impression_features, [T.binary("click")])


def test_esmm_needs_its_tasks(impression_features):
    with pytest.raises(ValueError, match="binary task named 'ctr'"):
        mtzoo.models.esmm(impression_features,
                          [T.binary("click"), T.binary("ctcvr")])
    with pytest.raises(ValueError, match=r"tasks \['rating'\] have no "
                                         r"output"):
        mtzoo.models.esmm(impression_features,
                          synthetic.esmm_tasks() + [T.regression("rating")])


def test_esmm_task_names_are_configurable(impression_features):
    tasks = [T.binary("click", label="click"),
             T.binary("purchase", label="conversion"),
             T.binary("conversion_rate", label="conversion")]
    model = mtzoo.models.esmm(impression_features, tasks, ctr_task="click",
                              ctcvr_task="purchase",
                              cvr_output="conversion_rate")
    assert set(model.output_names) == {"click", "purchase",
                                       "conversion_rate"}


def test_unadapted_features_are_refused():
    with pytest.raises(ValueError, match="'device'.*adapt"):
        mtzoo.models.mmoe([F.CategoricalFeature("device")],
                          [T.binary("click")])


def test_a_task_never_adapted_is_named_when_the_model_is_built(
        impression_features):
    import warnings

    import pandas as pd

    raw = [T.regression("watch_time"), T.binary("click")]
    with pytest.warns(UserWarning, match=r"\['watch_time'\].*tasks\.adapt"):
        mtzoo.models.build("shared_bottom", impression_features, raw)
    labels = pd.DataFrame({"watch_time": [1.0, 3.0, 8.0],
                           "click": [0.0, 1.0, 1.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mtzoo.models.build("shared_bottom", impression_features,
                           T.adapt(raw, labels))
