"""One-query latency of the exported `top_k` signature (MovieLens 100K).

Trains the movielens recipe's two-tower model with retrieval briefly (the
latency does not depend on how well it is trained), exports it with the
whole catalogue, loads the SavedModel with TensorFlow alone and times
single-user requests (raw user features in, the 100 best movie ids out):
p50 and p99 over repeated calls after a warm-up, for `top_k` and for
`query_embedding`. Then the same model is exported again with a catalogue
of `--large-catalogue` items (1,000,000 by default: the real movies'
genres and years drawn at random under new ids, which the candidate tower
scores through its unknown-id row and their other features) and `top_k`
is timed over all of them.

Writes `benchmarks/results/retrieval_serving.json` and `.md`.

    python benchmarks/retrieval_serving.py --data-dir ../shared/data/movielens-100k
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def one_row_ms(signature, rows: list[dict], calls: int) -> dict:
    for row in rows[:20]:
        signature(**row)
    seconds = []
    for i in range(calls):
        start = time.perf_counter()
        signature(**rows[i % len(rows)])
        seconds.append(time.perf_counter() - start)
    return {"p50_ms": 1000 * float(np.percentile(seconds, 50)),
            "p99_ms": 1000 * float(np.percentile(seconds, 99))}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--large-catalogue", type=int, default=1_000_000,
                        metavar="ITEMS", help="0 skips it")
    parser.add_argument("--output", default=str(
        RESULTS / "retrieval_serving.json"))
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    from mtzoo import data as data_lib
    from mtzoo import environment
    from mtzoo import export as export_lib
    from mtzoo import models
    from mtzoo import retrieval
    from mtzoo import tasks as tasks_lib

    keras.utils.set_random_seed(0)
    bundle = data_lib.movielens(args.data_dir)
    tasks = [tasks_lib.retrieval(
        "movie", candidate_features=["movie_id", "genres", "release_year"]),
        *bundle.tasks]
    model = models.two_tower(bundle.features, tasks)
    model.compile(optimizer="adam")
    catalogue = retrieval.catalogue(bundle.train, bundle.features, tasks)
    retrieval.set_sampling_probabilities(model, catalogue)
    model.fit(data_lib.from_dataframe(bundle.train, bundle.features, tasks,
                                      batch_size=1024), epochs=1, verbose=0)
    query_features = [f for f in bundle.features
                      if f.name not in tasks[0].candidate_features]
    raw = data_lib.feature_arrays(bundle.test.iloc[:200], query_features)
    with tempfile.TemporaryDirectory() as tmp:
        version = export_lib.export_saved_model(
            model, tmp, model_name="movies", catalogues={"movie": catalogue})
        loaded = tf.saved_model.load(str(version))
        results = {}
        for name in ("top_k", "query_embedding"):
            signature = loaded.signatures[name]
            specs = signature.structured_input_signature[1]
            rows = [{k: tf.constant(raw[k][i:i + 1], specs[k].dtype)
                     for k in specs} for i in range(200)]
            results[name] = one_row_ms(signature, rows, args.calls)
        results["top_k"]["k"] = int(loaded.signatures["top_k"](
            **rows[0])["ids"].shape[-1])
        if args.large_catalogue:
            items = large_catalogue(bundle.train, args.large_catalogue)
            large = retrieval.catalogue(items, bundle.features, tasks)
            version = export_lib.export_saved_model(
                model, tmp, model_name="million",
                catalogues={"movie": large})
            signature = tf.saved_model.load(str(version)).signatures["top_k"]
            specs = signature.structured_input_signature[1]
            rows = [{k: tf.constant(raw[k][i:i + 1], specs[k].dtype)
                     for k in specs} for i in range(200)]
            results[f"top_k over {len(large):,} items"] = one_row_ms(
                signature, rows, args.calls)
    content = {"benchmark": "top_k one-query latency (MovieLens 100K)",
               "candidates": len(catalogue), "calls": args.calls,
               "signatures": results, **environment.describe()}
    common.write_results(args.output, content, markdown_table(content))
    return content


def large_catalogue(train, size: int):
    """`size` items under new ids, each with a real movie's genres and
    release year drawn at random."""
    import pandas as pd

    rng = np.random.default_rng(0)
    movies = train.drop_duplicates("movie_id")
    drawn = movies.iloc[rng.integers(len(movies), size=size)]
    return pd.DataFrame({"movie_id": np.arange(10_000_000,
                                               10_000_000 + size),
                         "genres": drawn["genres"].to_numpy(),
                         "release_year": drawn["release_year"].to_numpy()})


def markdown_table(content: dict) -> str:
    lines = ["| signature | one query p50 (ms) | p99 (ms) |", "|---|---|---|"]
    for name, values in content["signatures"].items():
        lines.append(f"| `{name}` | {values['p50_ms']:.2f} | "
                     f"{values['p99_ms']:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
