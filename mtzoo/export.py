"""Export to TF Serving: SavedModel versions, warm-up requests, REST bodies.

```python
version_dir = mtzoo.export.export_saved_model(
    model, "exports", model_name="census_mmoe",
    warmup_inputs=mtzoo.data.feature_arrays(test_frame.head(8), features))
# exports/census_mmoe/1/saved_model.pb
body = mtzoo.export.rest_request(test_frame.head(2), features)
```

The `serving_default` signature takes one tensor per raw feature, named
after the feature, with a batch dimension, and returns one tensor per model
output, named after the task (ESMM: `ctr`, `cvr`, `ctcvr`). The
`serve_examples` signature takes one string tensor, `examples`: a batch of
serialized `tf.train.Example`s holding the raw features by name (TF
Serving's usual request; an absent feature counts as missing). Labels are
never inputs. Loading needs TensorFlow only, not mtzoo.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from mtzoo.export_check import EXPECTED_FILE
from mtzoo.export_check import SIGNATURE
from mtzoo.export_check import WARMUP_FILE
# The check of an export, here too: `mtzoo.export.verify(...)`.
from mtzoo.export_check import format_report  # noqa: F401
from mtzoo.export_check import resolve_version_dir  # noqa: F401
from mtzoo.export_check import verify  # noqa: F401
from mtzoo.export_check import versions
from mtzoo.serving_archive import ServingArchive

EXAMPLES_SIGNATURE = "serve_examples"
EXAMPLES_INPUT = "examples"


def serving_signature(model: keras.Model) -> dict[str, tf.TensorSpec]:
    """The signature's input specs: one per model input, batch first."""
    inputs = model.input
    if not isinstance(inputs, dict):
        raise ValueError(
            f"Model '{model.name}' must take a dict of named inputs to be "
            f"exported with named features.")
    return {
        name: tf.TensorSpec((None,) + tuple(tensor.shape[1:]),
                            tf.as_dtype(tensor.dtype), name=name)
        for name, tensor in inputs.items()
    }


def as_serving_model(model: keras.Model) -> keras.Model:
    """The model that takes raw values: an mtzoo model (trained on encoded
    features) behind its preprocessing stage; any other model as it is."""
    if getattr(model, "features", None):
        from mtzoo.models import serving_model

        return serving_model(model)
    return model


def op_count(version_dir, signature: str = SIGNATURE) -> int:
    """Operations a signature runs: the nodes of its graph and of every
    function it calls (what TF Serving executes per request)."""
    loaded = tf.saved_model.load(str(version_dir))
    graph = loaded.signatures[signature].graph.as_graph_def()
    return len(graph.node) + sum(len(f.node_def)
                                 for f in graph.library.function)


def export_saved_model(
    model: keras.Model,
    export_dir,
    *,
    model_name: str | None = None,
    version: int | None = None,
    warmup_inputs: dict | None = None,
    catalogues: dict | None = None,
    top_k: int = 100,
) -> pathlib.Path:
    """Exports `model` as `<export_dir>/<model_name>/<version>/`.

    The version folder appears whole or not at all: everything is written
    to a hidden sibling folder first (TF Serving ignores non-numeric
    folders) and renamed at the end.

    Args:
        model: an mtzoo model (exported behind its features'
            preprocessing, so the signature takes raw values), or any
            Keras model taking a dict of named inputs.
        export_dir: the TF Serving model base folder's parent.
        model_name: folder name of the model. Defaults to `model.name`.
        version: int. Defaults to one more than the newest existing one.
        warmup_inputs: dict of raw feature arrays (a few rows). When given,
            they are written as TF Serving warm-up requests in
            `assets.extra/tf_serving_warmup_requests`, and the Keras model's
            predictions on them in `assets.extra/mtzoo_expected_outputs.json`
            for `verify`.
        catalogues: for a model with retrieval tasks, dict task name ->
            `mtzoo.retrieval.Catalogue`: adds the signatures
            `query_embedding`, `candidate_embedding`, `top_k` (raw query
            features in, the `top_k` best candidate ids and scores out,
            searched by brute force over the catalogue embedded now) and
            `top_k_excluding` (the same, never returning the ids of its
            `exclude` input). To
            refresh the candidates without retraining, export the same
            model again with a new catalogue (a new version).
        top_k: int. Candidates `top_k` returns. Defaults to 100.

    Returns:
        The version folder.
    """
    model_name = model_name or model.name
    model_dir = pathlib.Path(export_dir) / model_name
    existing = versions(model_dir)
    if version is None:
        version = (existing[-1] + 1) if existing else 1
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"`version` must be a positive integer. Received: "
                         f"version={version!r}")
    target = model_dir / str(version)
    serving = as_serving_model(model)
    signature = _signature_record(serving, model)
    if existing:
        _check_same_signature(model_dir, existing[-1], signature)
    if target.exists():
        raise FileExistsError(
            f"Version {version} of '{model_name}' already exists at "
            f"'{target}'; versions are immutable, pick another.")
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(dir=model_dir,
                                            prefix=f".{version}-"))
    try:
        archive = ServingArchive()
        archive.track(serving)
        names = _class_names(model)
        archive.add_endpoint(
            SIGNATURE, lambda features: _with_class_names(
                serving(features, training=False), names),
            [serving_signature(serving)])
        specs = getattr(model, "features", None)
        if specs:
            archive.add_endpoint(
                EXAMPLES_SIGNATURE, _example_endpoint(serving, specs, names),
                [tf.TensorSpec([None], tf.string, name=EXAMPLES_INPUT)])
        if catalogues:
            from mtzoo.retrieval import export as retrieval_export

            retrieval_export.add_endpoints(
                archive, model, catalogues, serving_signature(serving),
                k=top_k)
        archive.write_out(staging / "model")
        written = staging / "model"
        extra = written / "assets.extra"
        extra.mkdir(exist_ok=True)
        (extra / SIGNATURE_FILE).write_text(json.dumps(signature))
        if warmup_inputs is not None:
            _write_warmup(extra / WARMUP_FILE, model_name, warmup_inputs,
                          specs)
            # Called eagerly: a traced predict step costs more than these
            # few rows.
            expected = serving(_as_tensors(warmup_inputs))
            (extra / EXPECTED_FILE).write_text(json.dumps(
                {k: np.asarray(v).tolist() for k, v in expected.items()}))
        os.replace(written, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


#: The output beside a task's class probabilities naming its classes.
CLASSES_SUFFIX = "_classes"


def _class_names(model) -> dict:
    """Task name -> its class names, for tasks whose classes have names."""
    return {t.name: t.class_names for t in getattr(model, "tasks", ())
            if t.class_names}


def _with_class_names(outputs: dict, class_names: dict) -> dict:
    """`outputs` plus `<task>_classes`: each row's class names, in the
    order of the task's probabilities."""
    outputs = dict(outputs)
    for task, names in class_names.items():
        rows = tf.shape(outputs[task])[0]
        outputs[task + CLASSES_SUFFIX] = tf.broadcast_to(
            tf.constant(list(names)), tf.stack([rows, len(names)]))
    return outputs


#: A version's inputs and outputs, to compare the next export with.
SIGNATURE_FILE = "mtzoo_signature.json"


def _signature_record(serving, model) -> dict:
    """The `serving_default` inputs (name, dtype, shape) and outputs."""
    return {"inputs": {name: [spec.dtype.name, list(spec.shape[1:])]
                       for name, spec in sorted(
                           serving_signature(serving).items())},
            "outputs": sorted(serving.output) + sorted(
                task + CLASSES_SUFFIX for task in _class_names(model))}


def _check_same_signature(model_dir: pathlib.Path, newest: int,
                          signature: dict) -> None:
    """Refuses a new version whose signature differs from the newest
    one's: TF Serving would switch live traffic to it."""
    record = model_dir / str(newest) / "assets.extra" / SIGNATURE_FILE
    if not record.is_file():
        return
    previous = json.loads(record.read_text())
    if previous == signature:
        return
    changed = sorted(set(previous["inputs"]) ^ set(signature["inputs"]) | {
        n for n in set(previous["inputs"]) & set(signature["inputs"])
        if previous["inputs"][n] != signature["inputs"][n]})
    raise ValueError(
        f"'{model_dir.name}' version {newest} has another signature "
        f"(inputs that differ: {changed or 'none'}; outputs "
        f"{previous['outputs']} vs {signature['outputs']}): TF Serving "
        f"would switch its traffic to a model that takes other inputs. "
        f"Export under another model name, or remove '{model_dir}' first.")


def _as_tensors(inputs: dict) -> dict:
    return {k: tf.constant(v.astype(str).astype(object)
                           if np.asarray(v).dtype == object else v)
            for k, v in inputs.items()}


def _example_endpoint(serving, features, class_names: dict):
    """Serialized `tf.train.Example`s in, the serving model's outputs out."""
    parse_spec = {f.name: f.example_spec() for f in features}

    def serve_examples(examples):
        parsed = tf.io.parse_example(examples, parse_spec)
        return _with_class_names(serving(
            {f.name: f.from_example(parsed[f.name]) for f in features},
            training=False), class_names)

    return serve_examples


def tf_examples(arrays: dict, features) -> np.ndarray:
    """Serialized `tf.train.Example`s of raw rows, for `serve_examples`.

    Args:
        arrays: raw feature arrays, as `mtzoo.data.feature_arrays` returns.
        features: the feature specs.

    Returns:
        A 1-D object array of bytes, one serialized example per row.
    """
    rows = len(next(iter(arrays.values())))
    return np.array([tf.train.Example(features=tf.train.Features(feature={
        spec.name: spec.example_feature(arrays[spec.name][i])
        for spec in features})).SerializeToString()
        for i in range(rows)], dtype=object)


def _write_warmup(path, model_name: str, inputs: dict, features=None):
    """Writes `PredictionLog` records TF Serving replays when loading: the
    rows through `serving_default`, and through `serve_examples` too when
    the model has one."""
    from tensorflow_serving.apis import model_pb2
    from tensorflow_serving.apis import predict_pb2
    from tensorflow_serving.apis import prediction_log_pb2

    requests = [(SIGNATURE, _as_tensors(inputs))]
    if features:
        requests.append((EXAMPLES_SIGNATURE, {EXAMPLES_INPUT: tf.constant(
            tf_examples(inputs, features))}))
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature, tensors in requests:
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name,
                                               signature_name=signature))
            for name, value in tensors.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def read_warmup(path) -> list[dict[str, np.ndarray]]:
    """The inputs of each warm-up request in a warm-up file."""
    from tensorflow_serving.apis import prediction_log_pb2

    requests = []
    for record in tf.data.TFRecordDataset(str(path)):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        requests.append({
            name: tf.make_ndarray(proto)
            for name, proto in log.predict_log.request.inputs.items()})
    return requests


def rest_request(frame, features, form: str = "instances") -> dict:
    """A TF Serving REST `:predict` body for DataFrame rows.

    Args:
        frame: the rows.
        features: the feature specs (raw columns are converted as for
            training: padding of lists, missing values, ...).
        form: `"instances"` (row format: a list of `{feature: value}`) or
            `"inputs"` (columnar format: `{feature: [values]}`).

    Returns:
        A JSON-serializable dict, e.g. `{"signature_name": "serving_default",
        "instances": [...]}`. Missing numbers are NaN, which TF Serving's
        JSON parser accepts.
    """
    from mtzoo.data import frames

    if form not in ("instances", "inputs"):
        raise ValueError(f"`form` must be 'instances' or 'inputs'. "
                         f"Received: form={form!r}")
    arrays = frames.feature_arrays(frame, features)
    columns = {name: _json_values(array) for name, array in arrays.items()}
    if form == "inputs":
        return {"signature_name": SIGNATURE, "inputs": columns}
    rows = [{name: values[i] for name, values in columns.items()}
            for i in range(len(frame))]
    return {"signature_name": SIGNATURE, "instances": rows}


def _json_values(array: np.ndarray) -> list:
    if array.dtype == object:
        return [[str(v) for v in row] if isinstance(row, np.ndarray)
                else str(row) for row in array]
    return array.tolist()
