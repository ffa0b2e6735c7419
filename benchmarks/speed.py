"""Training and serving speed of every census architecture, from raw features.

For each architecture, a fresh process loads Census-Income from its raw
files, trains for a few epochs exactly as the recipes do (rows encoded once
into ids and floats, then training on those), evaluates test AUC, exports
the SavedModel (raw values in) and serves from it. It records:

- training examples/s over epochs 2 and later (the first traces the graph),
- inference examples/s at batch 4096 through the SavedModel's
  `serving_default` (raw values in), and through the trained model on
  encoded ids (what the peers' figures measure: their models take ids),
- SavedModel latency of one-row requests: p50 and p99 over repeated calls,
  through `serving_default` (one tensor per feature) and p50 through
  `serve_examples` (one serialized `tf.train.Example`), and the number of
  ops each signature's graph runs,
- the process's peak resident memory (loading, training, export, serving).

Writes `benchmarks/results/speed.json` and `speed.md`.

    python benchmarks/speed.py --data-dir ../shared/data/census-income
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import tempfile
import time

import keras

from mtzoo import export as export_lib
from mtzoo.data.datasets.census_income import PLAIN_NUMBERS

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
CENSUS_MODELS = ["single_task", "shared_bottom", "omoe", "mmoe", "ple",
                 "attention_gated"]
TASKS = ("income", "marital")


def percentile_ms(seconds: list[float], q: float) -> float:
    ordered = sorted(seconds)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return 1000 * ordered[index]


def serving_inputs(signature, frame, features) -> dict:
    """Raw feature tensors of the dtypes the signature declares.

    Built before timing, as a server holds tensors decoded from the request
    before the model runs (the peers' measurements do the same).
    """
    import tensorflow as tf

    from mtzoo import data as data_lib

    specs = signature.structured_input_signature[1]
    arrays = data_lib.feature_arrays(frame, features)
    return {name: tf.cast(tf.convert_to_tensor(arrays[name]), spec.dtype)
            for name, spec in specs.items()}


def measure_serving(version_dir, frame, features, *, batch_size: int,
                    repeats: int, latency_calls: int) -> dict:
    """Throughput at `batch_size`, one-row latency through both signatures
    and their op counts, of a SavedModel."""
    import tensorflow as tf

    serve = tf.saved_model.load(str(version_dir)).signatures[
        "serving_default"]
    batches = [serving_inputs(serve, frame.iloc[i:i + batch_size], features)
               for i in range(0, len(frame), batch_size)]
    serve(**batches[0])  # warm-up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in batches:
            serve(**batch)
        rates.append(len(frame) / (time.perf_counter() - start))
    # One conversion of the sample, split into one-row tensors.
    sample = {name: value.numpy() for name, value in serving_inputs(
        serve, frame.iloc[:latency_calls], features).items()}
    rows = [{name: tf.constant(value[i:i + 1])
             for name, value in sample.items()}
            for i in range(min(latency_calls, len(frame)))]
    seconds = one_row_seconds(serve, rows, latency_calls)
    result = {"inference_examples_per_s": statistics.median(rates),
              "latency_ms_p50": percentile_ms(seconds, 50),
              "latency_ms_p99": percentile_ms(seconds, 99),
              "serving_ops": export_lib.op_count(version_dir)}
    result.update(_example_latency(version_dir, frame, features,
                                   latency_calls))
    return result


def encoded_inference_rate(model, frame, features, *, batch_size: int,
                           repeats: int) -> float:
    """Median examples/s of the trained model on encoded batches, compiled
    as its `predict` is (with XLA when training was)."""
    import tensorflow as tf

    from mtzoo import data as data_lib

    encoded = data_lib.encoded_arrays(frame, features)
    batches = [{k: tf.constant(v[i:i + batch_size])
                for k, v in encoded.items()}
               for i in range(0, len(frame), batch_size)]
    forward = tf.function(lambda x: model(x, training=False),
                          jit_compile=bool(model.jit_compile))
    for batch in batches[:1] + batches[-1:]:  # both batch shapes
        forward(batch)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in batches:
            forward(batch)
        rates.append(len(frame) / (time.perf_counter() - start))
    return statistics.median(rates)


def one_row_seconds(serve, rows: list[dict], calls: int) -> list[float]:
    """Wall time of `calls` one-row requests, cycling through `rows`, after
    20 warm-up calls."""
    for row in rows[:20]:
        serve(**row)
    seconds = []
    for i in range(calls):
        start = time.perf_counter()
        serve(**rows[i % len(rows)])
        seconds.append(time.perf_counter() - start)
    return seconds


def _example_latency(version_dir, frame, features, calls: int) -> dict:
    """One-row latency through `serve_examples` (one serialized
    `tf.train.Example` per request, TF Serving's usual input)."""
    import tensorflow as tf

    from mtzoo import data as data_lib

    serve = tf.saved_model.load(str(version_dir)).signatures[
        export_lib.EXAMPLES_SIGNATURE]
    # One conversion of the sample, one serialized example per request.
    examples = export_lib.tf_examples(
        data_lib.feature_arrays(frame.iloc[:calls], features), features)
    rows = [{export_lib.EXAMPLES_INPUT: tf.constant(examples[i:i + 1])}
            for i in range(min(calls, len(frame)))]
    seconds = one_row_seconds(serve, rows, calls)
    return {"latency_ms_p50_examples": percentile_ms(seconds, 50),
            "latency_ms_p99_examples": percentile_ms(seconds, 99),
            "serving_ops_examples": export_lib.op_count(
                version_dir, export_lib.EXAMPLES_SIGNATURE)}


def run_child(model_name: str, seed: int, data_dir, *, epochs: int,
              batch_size: int, steps_per_execution: int,
              max_rows: int | None = None) -> dict:
    """Loads, trains, evaluates, exports and serves one architecture."""
    from mtzoo import data as data_lib
    from mtzoo import environment
    from mtzoo import evaluation
    from mtzoo import models

    keras.utils.set_random_seed(seed)
    peaks = {"import": common.peak_rss_mb()}
    started = time.perf_counter()
    bundle = data_lib.census_income(data_dir, max_rows=max_rows,
                                     **PLAIN_NUMBERS)
    load_seconds = time.perf_counter() - started
    peaks["load"] = common.peak_rss_mb()
    model = models.build(model_name, bundle.features, bundle.tasks)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  steps_per_execution=steps_per_execution)
    started = time.perf_counter()
    train = data_lib.from_dataframe(bundle.train, bundle.features,
                                    bundle.tasks, batch_size=batch_size,
                                    shuffle=True, seed=seed)
    encode_seconds = time.perf_counter() - started
    peaks["encode"] = common.peak_rss_mb()
    timer = common.EpochTimer(len(bundle.train))
    model.fit(train, epochs=epochs, callbacks=[timer], verbose=0)
    peaks["train"] = common.peak_rss_mb()
    timed = timer.seconds[1:]
    train_rate = len(bundle.train) * len(timed) / sum(timed)

    predictions = model.predict(
        data_lib.from_dataframe(bundle.test, bundle.features,
                                batch_size=4096), verbose=0)
    labels, weights = data_lib.label_arrays(bundle.test, bundle.tasks)
    test = evaluation.evaluate(bundle.tasks, labels, predictions, weights)
    encoded_rate = encoded_inference_rate(model, bundle.test, bundle.features,
                                          batch_size=4096, repeats=3)
    peaks["evaluate"] = common.peak_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        version_dir = export_lib.export_saved_model(
            model, tmp, model_name=model_name)
        peaks["export"] = common.peak_rss_mb()
        serving = measure_serving(version_dir, bundle.test, bundle.features,
                                  batch_size=4096, repeats=3,
                                  latency_calls=500)
        peaks["serve"] = common.peak_rss_mb()
    return {
        "model": model_name, "seed": seed, "epochs": epochs,
        "train_rows": len(bundle.train), "test_rows": len(bundle.test),
        "batch_size": batch_size,
        "steps_per_execution": steps_per_execution,
        "parameters": model.count_params(),
        "load_seconds": round(load_seconds, 1),
        "encode_seconds": round(encode_seconds, 1),
        "train_examples_per_s": train_rate,
        **{f"{t}_auc": test["tasks"][t]["auc"] for t in TASKS},
        **serving,
        "inference_examples_per_s_encoded": encoded_rate,
        "peak_rss_mb": common.peak_rss_mb(),
        # The process's peak so far at the end of each phase.
        "peak_rss_mb_by_phase": peaks,
        **environment.describe(),
    }


def run_in_subprocess(model_name: str, seed: int, args) -> dict:
    """One measurement in a fresh process, so memory peaks do not add up."""
    with tempfile.TemporaryDirectory() as tmp:
        output = pathlib.Path(tmp) / "result.json"
        common.run_script(
            __file__, ["--child", model_name, "--seed", str(seed),
                       "--epochs", str(args.epochs),
                       "--batch-size", str(args.batch_size),
                       "--steps-per-execution",
                       str(args.steps_per_execution),
                       "--output", str(output)],
            args, f"{model_name} seed {seed}")
        return json.loads(output.read_text())


COLUMNS = [("train_examples_per_s", "train examples/s (epochs 2+)", "{:,.0f}"),
           ("inference_examples_per_s", "inference examples/s @4096 "
            "(SavedModel, raw values)", "{:,.0f}"),
           ("inference_examples_per_s_encoded", "inference examples/s @4096 "
            "(model on ids)", "{:,.0f}"),
           ("latency_ms_p50", "1-row latency p50 (ms)", "{:.2f}"),
           ("latency_ms_p99", "1-row latency p99 (ms)", "{:.2f}"),
           ("latency_ms_p50_examples", "1-row tf.Example latency p50 (ms)",
            "{:.2f}"),
           ("serving_ops", "serving graph ops", "{:,.0f}"),
           ("serving_ops_examples", "tf.Example serving graph ops",
            "{:,.0f}"),
           ("peak_rss_mb", "peak RSS (MB)", "{:,.0f}"),
           ("income_auc", "test AUC income", "{:.4f}"),
           ("marital_auc", "test AUC marital", "{:.4f}")]


def summarize(runs: list[dict]) -> dict:
    """Median of each measurement per architecture, over seeds."""
    summary = {}
    for model in dict.fromkeys(r["model"] for r in runs):
        mine = [r for r in runs if r["model"] == model]
        summary[model] = {key: statistics.median(r[key] for r in mine)
                          for key, _, _ in COLUMNS}
        summary[model]["seeds"] = [r["seed"] for r in mine]
    return summary


def markdown_table(summary: dict) -> str:
    lines = ["| architecture | " + " | ".join(c[1] for c in COLUMNS) + " |",
             "|---|" + "---|" * len(COLUMNS)]
    for model, row in summary.items():
        cells = [fmt.format(row[key]) for key, _, fmt in COLUMNS]
        lines.append(f"| `{model}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None,
                        help="census folder (else $MTZOO_DATA_DIR or the "
                             "cache)")
    parser.add_argument("--models", nargs="+", default=CENSUS_MODELS)
    parser.add_argument("--seeds", type=int, default=1,
                        help="runs per architecture (medians are reported)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--steps-per-execution", type=int, default=16)
    parser.add_argument("--max-rows", type=int, default=None,
                        help="read at most this many rows per split (for "
                             "quick checks; published figures use all)")
    parser.add_argument("--output", default=str(RESULTS / "speed.json"))
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first is not timed")
    if args.child:
        result = run_child(args.child, args.seed, args.data_dir,
                           epochs=args.epochs, batch_size=args.batch_size,
                           steps_per_execution=args.steps_per_execution,
                           max_rows=args.max_rows)
        pathlib.Path(args.output).write_text(json.dumps(result, indent=2))
        return result

    from mtzoo import environment
    from mtzoo.atomic import atomic_path

    runs = []
    for model in args.models:
        for seed in range(args.seeds):
            runs.append(run_in_subprocess(model, seed, args))
            print(f"{model} seed {seed}: "
                  f"{runs[-1]['train_examples_per_s']:,.0f} train ex/s, "
                  f"{runs[-1]['inference_examples_per_s']:,.0f} inference "
                  f"ex/s, p50 {runs[-1]['latency_ms_p50']:.2f} ms, "
                  f"{runs[-1]['peak_rss_mb']:,.0f} MB", flush=True)
    summary = summarize(runs)
    content = {"benchmark": "census speed from raw features",
               "settings": {k: v for k, v in vars(args).items()
                            if k not in ("output", "child", "seed")},
               "summary": summary, "runs": runs, **environment.describe()}
    output = pathlib.Path(args.output)
    with atomic_path(output) as temporary:
        pathlib.Path(temporary).write_text(json.dumps(content, indent=2))
    with atomic_path(output.with_suffix(".md")) as temporary:
        pathlib.Path(temporary).write_text(markdown_table(summary))
    print(markdown_table(summary))
    return content


if __name__ == "__main__":
    main()
