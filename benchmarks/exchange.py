"""What a training step exchanges between workers, and what a large id
vocabulary costs one machine.

For simulated impressions (MMoE, batch 512) with the user id hashed into
`--vocabularies` bins (20,000 up to 10,000,000 rows of its embedding
table), each size in a fresh process:

- the gradients of one step, measured: dense bytes (every variable whose
  gradient is a full tensor) and sparse bytes (embedding rows the batch
  touched, as `tf.IndexedSlices`: values and indices);
- training examples/s (the second of 2 epochs on 100,000 rows) and peak
  resident memory, with Keras' Adam (every row of every table updated each
  step) and with `mtzoo.training.LazyAdam` (the recipes' optimizer: a
  table of 1,000,000 rows or more updates only the rows the batch used);
- the exported SavedModel (LazyAdam runs): its size on disk, and, loaded
  in a fresh process, raw-value inference examples/s at batch 4096,
  one-row latency p50 through `serving_default` and that process's peak
  resident memory;
- from those, what `MultiWorkerMirroredStrategy` would send per worker and
  step on N workers (ring all-reduce of the dense gradients, 2(N-1)/N of
  their bytes; all-gather of the sparse ones, (N-1) times a worker's) and
  the time it takes at `--gbits` Gbit/s beside the step's compute time:
  the scaling efficiency `compute / (compute + exchange)` for 8 and 64
  workers, assuming each worker keeps its own batch of 512.

    python benchmarks/exchange.py
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

BATCH = 512
ROWS = 100_000

# One vocabulary size in this process: gradient bytes, speed, memory.
MEASURE = """
import json, statistics, sys, dataclasses
import keras, numpy as np, tensorflow as tf
import mtzoo
from mtzoo.data import synthetic
from mtzoo.training.callbacks import EpochTimer

bins, batch, rows = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
optimizer = sys.argv[4]
keras.utils.set_random_seed(0)
frame = synthetic.impressions(rows, num_users=20_000, num_items=2_000)
specs = synthetic.impression_features()
specs = [dataclasses.replace(s, hash_bins=bins, vocabulary=None)
         if s.name == "user_id" else s for s in specs]
features = mtzoo.features.adapt(specs, frame)
tasks = mtzoo.tasks.adapt(synthetic.impression_tasks(), frame)
model = mtzoo.models.build("mmoe", features, tasks)
model.compile(optimizer=mtzoo.training.LazyAdam(1e-3)
              if optimizer == "lazy_adam" else keras.optimizers.Adam(1e-3))
data = mtzoo.data.from_dataframe(frame, features, tasks, batch_size=batch,
                                 shuffle=True, seed=0)
x, y, w = next(iter(data))
with tf.GradientTape() as tape:
    outputs = model(x, training=True)
    loss = tf.add_n([tf.reduce_mean(keras.losses.binary_crossentropy(
        y["click"], outputs["click"]))])
grads = tape.gradient(loss, model.trainable_variables)
dense = sparse = 0
for g, v in zip(grads, model.trainable_variables):
    if g is None:
        continue
    if isinstance(g, tf.IndexedSlices):
        sparse += g.values.shape.num_elements() * 4 + g.indices.shape[0] * 8
    else:
        dense += v.shape.num_elements() * 4
timer = EpochTimer(rows)
model.fit(data, epochs=2, callbacks=[timer], verbose=0)
peak = next(int(line.split()[1]) for line in open("/proc/self/status")
            if line.startswith("VmHWM:"))
served = {}
if len(sys.argv) > 5:  # export for SERVE
    import pathlib
    version = mtzoo.export.export_saved_model(model, sys.argv[5],
                                              model_name="impressions")
    served["saved_model_mb"] = sum(
        f.stat().st_size for f in pathlib.Path(version).rglob("*")
        if f.is_file()) / 2**20
    arrays = mtzoo.data.feature_arrays(frame.iloc[:4096], features)
    np.savez(pathlib.Path(sys.argv[5]) / "rows.npz", **{
        k: v.astype(str) if v.dtype == object else v
        for k, v in arrays.items()})
    served["version"] = str(version)
print(json.dumps({"hash_bins": bins, "optimizer": optimizer, **served,
                  "dense_gradient_bytes": dense,
                  "sparse_gradient_bytes": sparse,
                  "parameters": int(sum(v.shape.num_elements()
                                        for v in model.trainable_variables)),
                  "train_examples_per_s": timer.examples_per_second,
                  "peak_rss_mb": peak / 1024}))
"""


# The exported SavedModel, loaded in this process: speed and memory.
SERVE = """
import json, statistics, sys, time
import numpy as np, tensorflow as tf
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
specs = serve.structured_input_signature[1]
with np.load(sys.argv[2], allow_pickle=False) as arrays:
    rows = {k: tf.constant(arrays[k], specs[k].dtype) for k in specs}
serve(**rows)
seconds = []
for _ in range(10):
    start = time.perf_counter()
    serve(**rows)
    seconds.append(time.perf_counter() - start)
one = [{k: v[i:i + 1] for k, v in rows.items()} for i in range(100)]
for row in one[:20]:
    serve(**row)
latency = []
for i in range(300):
    start = time.perf_counter()
    serve(**one[i % 100])
    latency.append(time.perf_counter() - start)
peak = next(int(line.split()[1]) for line in open("/proc/self/status")
            if line.startswith("VmHWM:"))
print(json.dumps({
    "served_examples_per_s": 4096 / statistics.median(seconds),
    "served_latency_ms_p50": 1000 * statistics.median(latency),
    "served_peak_rss_mb": peak / 1024}))
"""


def _child(code: str, *args) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)],
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(bins: int, optimizer: str) -> dict:
    """One vocabulary size and optimizer; LazyAdam's model is also
    exported and served."""
    if optimizer != "lazy_adam":
        return _child(MEASURE, bins, BATCH, ROWS, optimizer)
    with tempfile.TemporaryDirectory() as folder:
        run = _child(MEASURE, bins, BATCH, ROWS, optimizer, folder)
        version = run.pop("version")
        run.update(_child(SERVE, version,
                          pathlib.Path(folder) / "rows.npz"))
    return run


def projected(run: dict, workers: int, gbits: float) -> dict:
    """Bytes a worker sends per step on `workers` workers and the scaling
    efficiency at `gbits` Gbit/s."""
    dense = 2 * (workers - 1) / workers * run["dense_gradient_bytes"]
    sparse = (workers - 1) * run["sparse_gradient_bytes"]
    seconds = (dense + sparse) * 8 / (gbits * 1e9)
    compute = BATCH / run["train_examples_per_s"]
    return {"bytes_per_step": round(dense + sparse),
            "exchange_ms": round(seconds * 1e3, 3),
            "compute_ms": round(compute * 1e3, 3),
            "efficiency": round(compute / (compute + seconds), 3)}


def main(argv=None) -> dict:
    parser = common.parser(__doc__, "exchange.json")
    parser.add_argument("--vocabularies", type=int, nargs="+",
                        default=[20_000, 1_000_000, 10_000_000])
    parser.add_argument("--gbits", type=float, default=10.0)
    args = parser.parse_args(argv)
    runs = []
    for bins in args.vocabularies:
        for optimizer in ("adam", "lazy_adam"):
            run = measure(bins, optimizer)
            run["workers"] = {str(n): projected(run, n, args.gbits)
                              for n in (8, 64)}
            runs.append(run)
            print(run, flush=True)
    return common.write_runs(
        args.output, f"gradient exchange per step and large vocabularies "
        f"(batch {BATCH}, {args.gbits:g} Gbit/s)", runs, summarize,
        markdown_table)


def summarize(runs: list[dict]) -> dict:
    return {f"{r['hash_bins']:,}, {r['optimizer']}": {
        "parameters": r["parameters"],
        "dense_kb": round(r["dense_gradient_bytes"] / 1024, 1),
        "sparse_kb": round(r["sparse_gradient_bytes"] / 1024, 1),
        "train_examples_per_s": round(r["train_examples_per_s"]),
        "peak_rss_mb": round(r["peak_rss_mb"]),
        "efficiency_8": r["workers"]["8"]["efficiency"],
        "efficiency_64": r["workers"]["64"]["efficiency"],
        **({"saved_model_mb": round(r["saved_model_mb"]),
            "served_examples_per_s": round(r["served_examples_per_s"]),
            "served_latency_ms_p50": round(r["served_latency_ms_p50"], 2),
            "served_peak_rss_mb": round(r["served_peak_rss_mb"])}
           if "saved_model_mb" in r else {})} for r in runs}


def markdown_table(summary: dict) -> str:
    lines = ["| user-id bins, optimizer | parameters | dense gradient (KB) "
             "| sparse gradient (KB) | examples/s (1 worker) | peak RSS (MB) | "
             "efficiency, 8 workers | 64 workers |",
             "|---|---|---|---|---|---|---|---|"]
    for name, e in summary.items():
        lines.append(
            f"| {name} | {e['parameters']:,} | {e['dense_kb']:,} | "
            f"{e['sparse_kb']:,} | {e['train_examples_per_s']:,} | "
            f"{e['peak_rss_mb']:,} | {e['efficiency_8']:.2f} | "
            f"{e['efficiency_64']:.2f} |")
    served = {name: e for name, e in summary.items()
              if "saved_model_mb" in e}
    if served:
        lines += ["", "| user-id bins, served | SavedModel (MB) | "
                  "examples/s @4096 (raw values) | one row p50 (ms) | "
                  "serving peak RSS (MB) |", "|---|---|---|---|---|"]
        for name, e in served.items():
            lines.append(
                f"| {name.rsplit(', ', 1)[0]} | {e['saved_model_mb']:,} | "
                f"{e['served_examples_per_s']:,} | "
                f"{e['served_latency_ms_p50']:.2f} | "
                f"{e['served_peak_rss_mb']:,} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
