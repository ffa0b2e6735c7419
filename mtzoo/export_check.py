"""Checks an exported SavedModel as a model server would load it: in a
fresh process, with TensorFlow alone.

Apart from `mtzoo.export` so that `mtzoo export verify` starts without
importing TensorFlow or Keras itself.

```python
report = mtzoo.export.verify("exports/census_mmoe")  # the newest version
print(mtzoo.export.format_report(report))
```
"""

from __future__ import annotations

import json
import math
import pathlib
import subprocess
import sys

SIGNATURE = "serving_default"
WARMUP_FILE = "tf_serving_warmup_requests"
EXPECTED_FILE = "mtzoo_expected_outputs.json"


def versions(model_dir) -> list[int]:
    """Existing numeric version folders of a model, ascending."""
    model_dir = pathlib.Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir()
                  if p.is_dir() and p.name.isdigit())


_VERIFY_SCRIPT = r"""
import json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
# As a model server does, without Keras: TensorFlow loads Keras at import
# (and through it scikit-learn, SciPy and pandas) unless told to use the
# legacy package, which is then only looked for. Seconds of every check.
legacy = os.environ.get("TF_USE_LEGACY_KERAS")
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import tensorflow as tf
if legacy is None:
    del os.environ["TF_USE_LEGACY_KERAS"]
else:
    os.environ["TF_USE_LEGACY_KERAS"] = legacy
from tensorflow_serving.apis import prediction_log_pb2

path, warmup_file, expected_file, default_signature = sys.argv[1:5]
assert "mtzoo" not in sys.modules
try:
    loaded = tf.saved_model.load(path)
except (RuntimeError, tf.errors.NotFoundError) as error:
    if "Op type not registered" not in str(error):
        raise
    # A pretrained text encoder's tokenizer: its ops are registered by
    # tensorflow-text (which loads Keras).
    import tensorflow_text  # noqa: F401
    loaded = tf.saved_model.load(path)
serve = loaded.signatures[default_signature]
signatures = {}
expected = json.load(open(expected_file))
worst = 0.0
requests = 0
for record in tf.data.TFRecordDataset(warmup_file):
    log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
    request = log.predict_log.request
    name = request.model_spec.signature_name or default_signature
    inputs = {k: tf.constant(tf.make_ndarray(v))
              for k, v in request.inputs.items()}
    outputs = loaded.signatures[name](**inputs)
    signatures[name] = signatures.get(name, 0) + 1
    for output, values in expected.items():
        got = outputs[output].numpy()
        worst = max(worst, float(np.max(np.abs(got - np.asarray(values)))))
    requests += 1
print(json.dumps({
    "requests": requests,
    "keras_loaded": "keras" in sys.modules,
    "signatures": signatures,
    "max_abs_difference": worst,
    "inputs": {k: [v.dtype.name, v.shape.as_list()]
               for k, v in serve.structured_input_signature[1].items()},
    "outputs": {k: [v.dtype.name, v.shape.as_list()]
                for k, v in serve.structured_outputs.items()},
}))
"""


def resolve_version_dir(path) -> pathlib.Path:
    """A version folder, or a model folder's newest version."""
    path = pathlib.Path(path)
    if (path / "saved_model.pb").is_file():
        return path
    found = versions(path)
    if found:
        return path / str(found[-1])
    raise FileNotFoundError(
        f"'{path}' holds neither a saved_model.pb nor numbered version "
        f"folders.")


def verify(path, tolerance: float = 1e-5) -> dict:
    """Checks an export in a fresh process without mtzoo.

    Loads the SavedModel with `tf.saved_model.load`, replays the warm-up
    requests through the signature each names (`serving_default`, and
    `serve_examples` for mtzoo models) and compares the outputs with the
    Keras model's predictions recorded at export.

    Returns:
        A report: number of requests, the max abs difference, `ok`, and the
        signature's inputs and outputs (dtype, shape).
    """
    version_dir = resolve_version_dir(path)
    extra = version_dir / "assets.extra"
    if not (extra / WARMUP_FILE).is_file() or not (
            extra / EXPECTED_FILE).is_file():
        raise FileNotFoundError(
            f"'{version_dir}' has no warm-up requests with expected "
            f"outputs; export it with `warmup_inputs=`.")
    result = subprocess.run(
        [sys.executable, "-c", _VERIFY_SCRIPT, str(version_dir),
         str(extra / WARMUP_FILE), str(extra / EXPECTED_FILE), SIGNATURE],
        capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(
            f"Loading '{version_dir}' in a fresh process failed:\n"
            f"{result.stderr[-3000:]}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    report["path"] = str(version_dir)
    report["tolerance"] = tolerance
    report["ok"] = (report["requests"] > 0
                    and math.isfinite(report["max_abs_difference"])
                    and report["max_abs_difference"] <= tolerance)
    return report


def format_report(report: dict) -> str:
    """The `verify` report as text, signature included."""
    lines = [f"SavedModel: {report['path']}",
             f"signature '{SIGNATURE}' inputs:"]
    lines += [f"  {name}: {dtype} {shape}"
              for name, (dtype, shape) in sorted(report["inputs"].items())]
    lines.append("outputs:")
    lines += [f"  {name}: {dtype} {shape}"
              for name, (dtype, shape) in sorted(report["outputs"].items())]
    replayed = ", ".join(f"{name}: {count}" for name, count in
                         sorted(report.get("signatures", {}).items()))
    lines.append(
        f"warm-up requests replayed: {report['requests']} ({replayed}); "
        f"max abs "
        f"difference to the Keras model: {report['max_abs_difference']:.3g} "
        f"(tolerance {report['tolerance']:g}) -> "
        f"{'OK' if report['ok'] else 'FAILED'}")
    return "\n".join(lines)
