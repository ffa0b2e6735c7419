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
print(json.dumps({"hash_bins": bins, "optimizer": optimizer,
                  "dense_gradient_bytes": dense,
                  "sparse_gradient_bytes": sparse,
                  "parameters": int(sum(v.shape.num_elements()
                                        for v in model.trainable_variables)),
                  "train_examples_per_s": timer.examples_per_second,
                  "peak_rss_mb": peak / 1024}))
"""


def measure(bins: int, optimizer: str) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURE, str(bins),
                           str(BATCH), str(ROWS), optimizer],
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


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
        "efficiency_64": r["workers"]["64"]["efficiency"]} for r in runs}


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
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
