import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import mtzoo
from mtzoo.data import synthetic


@pytest.fixture(scope="module")
def esmm_export(tmp_path_factory, impressions, impression_features):
    train, test = impressions
    model = mtzoo.models.esmm(impression_features, synthetic.esmm_tasks())
    export_dir = tmp_path_factory.mktemp("exports")
    warmup = mtzoo.data.feature_arrays(test.iloc[:6], impression_features)
    path = mtzoo.export.export_saved_model(
        model, export_dir, model_name="esmm_demo", warmup_inputs=warmup)
    return model, path


def test_layout_and_version_numbers(esmm_export, impression_features):
    model, path = esmm_export
    assert path.name == "1" and path.parent.name == "esmm_demo"
    assert (path / "saved_model.pb").is_file()
    assert (path / "assets.extra" / "tf_serving_warmup_requests").is_file()
    second = mtzoo.export.export_saved_model(model, path.parent.parent,
                                             model_name="esmm_demo")
    assert second.name == "2"
    assert mtzoo.export.versions(path.parent) == [1, 2]
    with pytest.raises(FileExistsError, match="immutable"):
        mtzoo.export.export_saved_model(model, path.parent.parent,
                                        model_name="esmm_demo", version=1)
    # A model that takes other inputs is not a new version of this one.
    other = mtzoo.models.esmm(impression_features[1:], synthetic.esmm_tasks())
    with pytest.raises(ValueError, match=rf"version 2 has another signature "
                       rf"\(inputs that differ: \['{impression_features[0].name}'\]"):
        mtzoo.export.export_saved_model(other, path.parent.parent,
                                        model_name="esmm_demo")
    assert mtzoo.export.versions(path.parent) == [1, 2]


def test_verify_in_a_fresh_process(esmm_export, tmp_path):
    _, path = esmm_export
    # The command does not import TensorFlow itself: the check's process
    # is the one that loads it (the two-worker test runs the command on an
    # export; here, on a folder without one, up to the check).
    code = ("import sys\nfrom mtzoo import cli\n"
            f"code = cli.main(['export', 'verify', {str(tmp_path)!r}])\n"
            "print(code, sorted(m for m in ('tensorflow', 'keras') "
            "if m in sys.modules))")
    command = subprocess.run([sys.executable, "-c", code],
                             capture_output=True, text=True, timeout=300)
    assert "holds neither a saved_model.pb" in command.stderr
    assert command.stdout.strip().splitlines()[-1] == "2 []"
    report = mtzoo.export.verify(path)
    # The rows through both signatures: one tensor per feature, and
    # serialized tf.Examples.
    assert report["ok"] and report["requests"] == 2
    assert report["signatures"] == {"serving_default": 1,
                                    "serve_examples": 1}
    assert report["max_abs_difference"] <= 1e-5
    assert not report["keras_loaded"]  # as a model server: TensorFlow alone
    assert set(report["outputs"]) == {"ctr", "cvr", "ctcvr"}
    assert "click" not in report["inputs"]  # labels are never inputs
    assert report["inputs"]["user_id"] == ["string", [None]]
    assert report["inputs"]["recent_items"] == ["int64", [None, None]]


def test_warmup_requests_hold_the_raw_features(esmm_export,
                                               impression_features):
    _, path = esmm_export
    request, examples = mtzoo.export.read_warmup(
        path / "assets.extra" / "tf_serving_warmup_requests")
    assert set(request) == {f.name for f in impression_features}
    assert request["user_id"].shape == (6,)
    assert set(examples) == {"examples"} and examples["examples"].shape == (6,)
    parsed = tf.train.Example.FromString(examples["examples"][0])
    assert set(parsed.features.feature) == {f.name
                                            for f in impression_features}
    assert parsed.features.feature["user_id"].bytes_list.value[0] == \
        request["user_id"][0]


def test_served_with_unseen_and_empty_values(esmm_export):
    # Loaded as a model server loads it (`verify` checks the same export
    # in a fresh process without mtzoo).
    _, path = esmm_export
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    out = serve(
        user_id=tf.constant(["never-seen-user", "", "u1"]),
        item_id=tf.constant([999999, -1, 3], dtype=tf.int64),
        device=tf.constant(["fridge", "", "ios"]),
        age=tf.constant([30.0, float("nan"), 50.0]),
        price=tf.constant([10.0, 1e9, float("nan")]),
        genres=tf.constant([["unknown-genre", ""], ["", ""],
                            ["drama", "scifi"]]),
        recent_items=tf.constant([[1, 2, 3, -1, -1, -1, -1]] * 3,
                                 dtype=tf.int64),
        item_text=tf.zeros((3, 8)))
    assert set(out) == {"ctr", "cvr", "ctcvr"}
    values = out["ctcvr"].numpy()
    assert values.shape == (3, 1) and np.isfinite(values).all()
    assert ((values >= 0) & (values <= 1)).all()


def test_saved_model_cli_lists_the_outputs(esmm_export):
    _, path = esmm_export
    cli = pathlib.Path(sys.executable).parent / "saved_model_cli"
    if not cli.exists():
        pytest.skip("saved_model_cli is not installed next to this Python")
    result = subprocess.run([str(cli), "show", "--dir", str(path), "--all"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("outputs['ctr']", "outputs['cvr']", "outputs['ctcvr']",
                 "inputs['user_id']"):
        assert name in result.stdout


def test_failed_export_leaves_no_version(tmp_path, impressions,
                                         impression_features, monkeypatch):
    model = mtzoo.models.shared_bottom(impression_features,
                                       synthetic.impression_tasks())

    def crash(*args, **kwargs):  # after the SavedModel itself is written
        raise OSError("disk full")

    monkeypatch.setattr(mtzoo.export, "_write_warmup", crash)
    with pytest.raises(OSError, match="disk full"):
        mtzoo.export.export_saved_model(
            model, tmp_path, model_name="m",
            warmup_inputs=mtzoo.data.feature_arrays(
                impressions[1].iloc[:2], impression_features))
    assert list((tmp_path / "m").iterdir()) == []


def test_rest_request_forms(impressions, impression_features):
    rows = impressions[1].iloc[:2]
    body = mtzoo.export.rest_request(rows, impression_features)
    assert body["signature_name"] == "serving_default"
    assert len(body["instances"]) == 2
    first = body["instances"][0]
    assert first["user_id"] == rows.iloc[0]["user_id"]
    assert len(first["item_text"]) == 8
    json.dumps(body)
    columnar = mtzoo.export.rest_request(rows, impression_features,
                                         form="inputs")
    assert columnar["inputs"]["item_id"] == rows["item_id"].tolist()
    with pytest.raises(ValueError, match="form"):
        mtzoo.export.rest_request(rows, impression_features, form="rows")


def _served(path, inputs):
    import tensorflow as tf

    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    return serve(**{k: tf.constant(v) for k, v in inputs.items()})


def test_request_missing_a_feature_is_refused_naming_it(esmm_export):
    _, path = esmm_export
    inputs = mtzoo.export.read_warmup(
        path / "assets.extra" / mtzoo.export.WARMUP_FILE)[0]
    del inputs["age"]
    with pytest.raises(TypeError, match="missing a required argument: "
                                        "'age'"):
        _served(path, inputs)


def test_request_with_a_wrong_dtype_is_refused(esmm_export, impressions,
                                               impression_features):
    import tensorflow as tf

    _, path = esmm_export
    inputs = mtzoo.export.read_warmup(
        path / "assets.extra" / mtzoo.export.WARMUP_FILE)[0]
    inputs["age"] = np.array(["forty"] * len(inputs["age"]), dtype=object)
    # Inputs are numbered in name order, as `mtzoo export verify` lists them.
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="input #0.* expected to be a float tensor but "
                             "is a string tensor"):
        _served(path, inputs)
    # Requests built with `rest_request` are checked before they are sent.
    rows = impressions[1].iloc[:3].copy()
    rows["age"] = rows["age"].astype(object)
    rows.iloc[1, rows.columns.get_loc("age")] = "forty"
    with pytest.raises(mtzoo.features.DataError,
                       match="Feature 'age'.*row 1.*'forty'"):
        mtzoo.export.rest_request(rows, impression_features)


def test_a_batch_of_one_gets_what_it_gets_in_a_batch_of_many(esmm_export):
    _, path = esmm_export
    many = mtzoo.export.read_warmup(
        path / "assets.extra" / mtzoo.export.WARMUP_FILE)[0]
    count = len(many["age"])
    assert count > 1
    together = _served(path, many)
    for row in range(count):
        alone = _served(path, {k: v[row:row + 1] for k, v in many.items()})
        for name, value in alone.items():
            assert value.shape[0] == 1
            np.testing.assert_allclose(value.numpy()[0],
                                       together[name].numpy()[row],
                                       atol=1e-6)


@pytest.mark.large
@pytest.mark.parametrize("name", mtzoo.models.available())
def test_every_architecture_exports_and_matches_keras(
        name, tmp_path, impressions, impression_features):
    import tensorflow as tf

    tasks = synthetic.tasks_for(name)
    model = mtzoo.models.build(name, impression_features, tasks)
    path = mtzoo.export.export_saved_model(model, tmp_path)
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    rows = impressions[1].iloc[:32]
    raw = {name: tf.constant(values) for name, values in
           mtzoo.data.feature_arrays(rows, impression_features).items()}
    served = serve(**raw)  # raw values: preprocessing runs in the graph
    # Called eagerly: tracing `predict` for 32 rows took longer than it.
    expected = model(mtzoo.data.model_inputs(rows, impression_features))
    assert set(served) == set(expected) == set(model.output_names)
    for key in expected:
        np.testing.assert_allclose(served[key].numpy(),
                                   np.asarray(expected[key]), atol=1e-5)


def test_examples_signature_treats_absent_features_as_missing(
        tmp_path, impressions, impression_features):
    tasks = synthetic.impression_tasks()
    model = mtzoo.models.mmoe(impression_features, tasks, num_experts=2)
    path = mtzoo.export.export_saved_model(model, tmp_path)
    loaded = tf.saved_model.load(str(path))
    rows = impressions[1].iloc[:4].copy()
    rows["device"] = ["never-seen", "", None, "ios"]
    raw = mtzoo.data.feature_arrays(rows, impression_features)
    examples = mtzoo.export.tf_examples(raw, impression_features)
    # The third row without its user and device at all: absent is missing.
    third = tf.train.Example.FromString(examples[2])
    del third.features.feature["user_id"]
    del third.features.feature["device"]
    examples[2] = third.SerializeToString()
    raw["user_id"][2] = ""
    by_examples = loaded.signatures["serve_examples"](
        examples=tf.constant(examples))
    by_features = loaded.signatures["serving_default"](
        **{k: tf.constant(v) for k, v in raw.items()})
    for task in tasks:
        np.testing.assert_allclose(by_examples[task.name],
                                   by_features[task.name], atol=1e-6)
