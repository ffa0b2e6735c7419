"""Census input pipeline throughput next to MMoE training throughput.

Measures, on the Census-Income train file (199,523 rows):

* the pipeline from the raw CSV.gz (streamed, parsed, converted), on its
  first pass and from its in-memory cache;
* the same from a Parquet copy and from a TFRecord file of converted
  examples (`mtzoo.data.write_tfrecord`, GZIP);
* MMoE training (the reference configuration of the benchmark issue:
  embeddings of 8, 8 experts Dense(64), towers Dense(32), Adam 1e-3) on the
  same batches, excluding the first epoch (tracing).

Each figure is the median of `--repeats` runs, at batch size 1024. The
pipeline must not be the bottleneck: the JSON reports the ratio of
pipeline to training throughput (target >= 5).

    python benchmarks/pipeline.py --data-dir ../shared/data/census-income
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import mtzoo  # noqa: E402
from mtzoo import environment  # noqa: E402
from mtzoo import atomic  # noqa: E402
from mtzoo.data.datasets.census_income import PLAIN_NUMBERS  # noqa: E402
from mtzoo.data.datasets import census_income as census  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def examples_per_second(dataset, repeats: int) -> tuple[float, int]:
    """Median examples/s of full passes over `dataset`."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        count = sum(int(w["income"].shape[0]) for _, _, w in dataset)
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates), count


def cached_rate(dataset, repeats: int) -> float:
    """Examples/s of a cached dataset after a first, filling pass."""
    for _ in dataset:
        pass
    return examples_per_second(dataset, repeats)[0]


def stream_columns(features) -> dict:
    """Columns to read from raw census files to stream `features` and the
    two tasks: the features' columns plus the labels' sources."""
    from mtzoo.data import readers
    from mtzoo.data.pipeline import column_types

    columns = column_types(features)
    columns.update({"income_50k": readers.STRING,
                    "marital_stat": readers.STRING})
    return columns


def training_rate(bundle, dataset, epochs: int, seed: int) -> float:
    """Median examples/s of MMoE training epochs after the first."""
    keras.utils.set_random_seed(seed)
    model = mtzoo.models.mmoe(bundle.features, bundle.tasks, num_experts=8,
                              expert_units=[64], tower_units=[32])
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    timer = common.EpochTimer(len(bundle.train))
    model.fit(dataset, epochs=epochs, callbacks=[timer], verbose=0,
              shuffle=False)
    return timer.examples_per_second


def markdown_table(results: dict) -> str:
    """The README's table: each source's rate and its ratio to training."""
    train = results["mmoe_train_examples_per_s"]
    lines = ["| source | examples/s | vs. MMoE training "
             f"({train:,.0f} ex/s) |", "|---|---|---|"]
    for label, source in (("CSV.gz, first pass", "csv_gz"),
                          ("Parquet, first pass", "parquet"),
                          ("TFRecord (converted, GZIP)", "tfrecord"),
                          ("CSV.gz, cached", "csv_gz_cached"),
                          ("Parquet, cached", "parquet_cached")):
        rate = results[f"{source}_examples_per_s"]
        lines.append(f"| {label} | {rate:,.0f} | {rate / train:.1f}x |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None,
                        help="folder with census-income.data.gz")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4,
                        help="training epochs (the first is not timed)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(RESULTS / "pipeline.json"))
    args = parser.parse_args(argv)

    bundle = mtzoo.data.census_income(args.data_dir, **PLAIN_NUMBERS)
    train_file = bundle.files["train"][0]
    columns = stream_columns(bundle.features)
    batching = dict(batch_size=args.batch_size, shuffle=True,
                    seed=args.seed)

    def csv(cache=None):
        return mtzoo.data.from_csv(
            train_file, bundle.features, bundle.tasks,
            csv_format=census.CSV_FORMAT, columns=columns,
            transform=census.add_labels, cache=cache, **batching)

    results = {"rows": len(bundle.train), "batch_size": args.batch_size,
               "repeats": args.repeats, "seed": args.seed}
    results["csv_gz_examples_per_s"], count = examples_per_second(
        csv(), args.repeats)
    assert count == len(bundle.train), (count, len(bundle.train))
    results["csv_gz_cached_examples_per_s"] = cached_rate(
        csv(cache=True), args.repeats)

    with tempfile.TemporaryDirectory() as tmp:
        parquet = pathlib.Path(tmp) / "census.parquet"
        bundle.train.to_parquet(parquet)
        results["parquet_examples_per_s"], _ = examples_per_second(
            mtzoo.data.from_parquet(parquet, bundle.features, bundle.tasks,
                                    **batching), args.repeats)
        results["parquet_cached_examples_per_s"] = cached_rate(
            mtzoo.data.from_parquet(parquet, bundle.features, bundle.tasks,
                                    cache=True, **batching), args.repeats)
        records = pathlib.Path(tmp) / "census.tfrecord.gz"
        start = time.perf_counter()
        mtzoo.data.write_tfrecord(bundle.train, records, bundle.features,
                                  bundle.tasks)
        results["tfrecord_write_seconds"] = time.perf_counter() - start
        results["tfrecord_examples_per_s"], _ = examples_per_second(
            mtzoo.data.from_tfrecord(records, bundle.features, bundle.tasks,
                                     **batching), args.repeats)

    results["mmoe_train_examples_per_s"] = training_rate(
        bundle, csv(cache=True), args.epochs, args.seed)
    train = results["mmoe_train_examples_per_s"]
    for source in ("csv_gz", "csv_gz_cached", "parquet", "parquet_cached",
                   "tfrecord"):
        results[f"ratio_{source}_to_training"] = (
            results[f"{source}_examples_per_s"] / train)
    results.update(environment.describe())
    path = pathlib.Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    for target, text in ((path, json.dumps(results, indent=2)),
                         (path.with_suffix(".md"), markdown_table(results))):
        atomic.write_text(target, text)
    for key, value in results.items():
        if isinstance(value, float):
            print(f"{key:40s} {value:12,.1f}")
    print(f"written: {args.output}")
    return results


if __name__ == "__main__":
    main()
