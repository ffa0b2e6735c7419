"""MovieLens 100K retrieval and rating: mtzoo beside TensorFlow Recommenders.

TFRS's multitask tutorial model (user and movie embeddings of 32, a rating
MLP of 256 and 64 units, in-batch softmax retrieval, Adagrad 0.1, batch
8192, 3 epochs) in its own environment (tensorflow-recommenders 0.7.7 with
tf_keras and `TF_USE_LEGACY_KERAS=1`, created on first use), and mtzoo's
`two_tower` with the same sizes, optimizer and objective (TFRS sums its
retrieval loss over the batch where mtzoo averages, so mtzoo's retrieval
weight is multiplied by the batch size), on the same time split of
MovieLens 100K (the latest 20% of ratings are the test set), in the
tutorial's three loss-weight settings. mtzoo's tasks are what its recipe
builds (the rating standardized by `mtzoo.tasks.adapt`, accidental hits
removed from the in-batch negatives) with the tutorial's uncorrected
in-batch softmax (`sampling_correction=False`); `mtzoo_log_q` adds the
retrieval task's default log Q correction. Hit rate at k is the share of
test ratings whose movie is among the k best of all 1,682 movies for that
user, computed the same way for every library.

Writes `benchmarks/results/peers_movielens.json` and `.md`.

    python benchmarks/peers/movielens.py --data-dir ../shared/data/movielens-100k
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE.parent / "results"
sys.path.insert(0, str(HERE))

import movielens_measure as measure  # noqa: E402
from run import ensure_venv_for  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import common  # noqa: E402

TFRS = {"packages": ["tensorflow==2.21.0", "tf_keras==2.21.0",
                     "tensorflow-recommenders==0.7.7", "numpy"],
        "environment": {"TF_USE_LEGACY_KERAS": "1"}}
#: (rating weight, retrieval weight), as in the tutorial.
SETTINGS = {"retrieval only": (0.0, 1.0), "rating only": (1.0, 0.0),
            "both": (1.0, 1.0)}
#: The measures each setting trains (the others read untrained layers).
TRAINED = {"retrieval only": ("hit_rate_at_100", "hit_rate_at_10"),
           "rating only": ("rating_rmse",),
           "both": ("hit_rate_at_100", "hit_rate_at_10", "rating_rmse")}
#: mtzoo's variants: whether the retrieval task corrects in-batch
#: negatives by their sampling probability.
MTZOO = {"mtzoo": False, "mtzoo_log_q": True}


def prepare(data_dir, folder: pathlib.Path) -> None:
    from mtzoo import data as data_lib

    bundle = data_lib.movielens(data_dir)
    # Sorted as strings: both sides find a movie's row by binary search.
    movies = np.unique(np.concatenate([bundle.train["movie_id"],
                                       bundle.test["movie_id"]]).astype(str))
    arrays = {"movies": movies}
    for side, frame in (("train", bundle.train), ("test", bundle.test)):
        arrays[f"{side}_user_id"] = frame["user_id"].to_numpy().astype(str)
        arrays[f"{side}_movie_id"] = frame["movie_id"].to_numpy().astype(str)
        arrays[f"{side}_rating"] = frame["rating"].to_numpy(np.float32)
    np.savez(folder / "split.npz", **arrays)


def run_mtzoo(folder, seed: int, rating_weight: float,
              retrieval_weight: float, sampling_correction: bool) -> dict:
    import keras
    import pandas as pd

    from mtzoo import data as data_lib
    from mtzoo import environment
    from mtzoo import features as features_lib
    from mtzoo import models
    from mtzoo import retrieval
    from mtzoo import tasks as tasks_lib

    keras.utils.set_random_seed(seed)
    split = measure.load(folder)
    train, test = (pd.DataFrame(split[s]) for s in ("train", "test"))
    features = features_lib.adapt(
        [features_lib.CategoricalFeature("user_id", embedding_dim=32),
         features_lib.CategoricalFeature("movie_id", embedding_dim=32)],
        train)
    # TFRS's retrieval loss is a sum over the batch, mtzoo's task losses are
    # means: the batch size in the weight makes the objective the same.
    tasks = tasks_lib.adapt([
        tasks_lib.retrieval("movie", candidate_features=["movie_id"],
                            embedding_dim=32,
                            sampling_correction=sampling_correction,
                            weight=retrieval_weight * measure.BATCH_SIZE),
        tasks_lib.regression("rating", weight=rating_weight)], train)
    model = models.two_tower(features, tasks, tower_units=(),
                             head_units=(256, 64))
    model.compile(optimizer=keras.optimizers.Adagrad(0.1))
    retrieval.set_sampling_probabilities(
        model, retrieval.catalogue(train, features, tasks))
    seconds = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    model.fit(data_lib.from_dataframe(train, features, tasks,
                                      batch_size=measure.BATCH_SIZE,
                                      shuffle=True, seed=seed),
              epochs=measure.EPOCHS, callbacks=[Timer()], verbose=0)
    everything = retrieval.catalogue(
        pd.DataFrame({"movie_id": split["movies"]}), features, tasks)
    queries = retrieval.query_vectors(model, test)
    candidates = retrieval.candidate_vectors(model, everything)
    positives = np.searchsorted(split["movies"], test["movie_id"])
    predicted = model.predict(data_lib.from_dataframe(
        test, features, batch_size=4096), verbose=0)["rating"]
    versions = environment.describe()["versions"]
    return {
        "library": f"mtzoo {versions['mtzoo']}"
                   + (", log Q correction" if sampling_correction else "")
                   + f" (Keras {versions['keras']}, "
                     f"TensorFlow {versions['tensorflow']})",
        "seed": seed,
        "train_examples_per_s": measure.epochs_rate(len(train), seconds),
        "rating_rmse": measure.rmse(test["rating"].to_numpy(), predicted),
        **measure.hit_rates(queries, candidates, positives),
    }


def run_isolated(function_args: list[str]) -> dict:
    """One mtzoo run in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        output = pathlib.Path(tmp) / "result.json"
        done = subprocess.run([sys.executable, __file__, "--child", *map(
            str, function_args), str(output)], capture_output=True,
            text=True)
        if done.returncode != 0:
            raise RuntimeError(f"mtzoo run failed:\n{done.stderr[-3000:]}")
        return json.loads(output.read_text())


def run_tfrs(python, folder, seed, rating_weight, retrieval_weight) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        output = pathlib.Path(tmp) / "result.json"
        done = subprocess.run(
            [str(python), str(HERE / "tfrs_movielens.py"), str(folder),
             str(seed), str(rating_weight), str(retrieval_weight),
             str(output)], capture_output=True, text=True, cwd=HERE,
            env={**os.environ, **TFRS["environment"],
                 "PYTHONPATH": str(HERE)})
        if done.returncode != 0:
            raise RuntimeError(f"TFRS run failed:\n{done.stderr[-3000:]}")
        return json.loads(output.read_text())


MEASURES = ("hit_rate_at_100", "hit_rate_at_10", "rating_rmse",
            "train_examples_per_s")


def summarize(runs: list[dict]) -> dict:
    """Medians over seeds, by setting and library."""
    summary = {}
    for run in runs:
        entry = summary.setdefault(run["setting"], {}).setdefault(
            run["name"], {"library": run["library"], "runs": []})
        entry["runs"].append(run)
    for setting in summary.values():
        for entry in setting.values():
            mine = entry.pop("runs")
            entry.update({key: statistics.median(r[key] for r in mine)
                          for key in MEASURES})
            entry["seeds"] = [r["seed"] for r in mine]
    return summary


def markdown_table(summary: dict) -> str:
    lines = ["| weights (rating, retrieval) | library | top-100 hit rate | "
             "top-10 hit rate | rating RMSE | train examples/s |",
             "|---|---|---|---|---|---|"]
    for setting, entries in summary.items():
        weights = SETTINGS[setting]
        for entry in entries.values():
            lines.append(
                f"| {setting} {weights} | {entry['library']} | "
                f"{entry['hit_rate_at_100']:.4f} | "
                f"{entry['hit_rate_at_10']:.4f} | "
                f"{entry['rating_rmse']:.4f} | "
                f"{entry['train_examples_per_s']:,.0f} |")
        if {"mtzoo", "tfrs"} <= set(entries):
            ours, theirs = entries["mtzoo"], entries["tfrs"]
            ratios = [f"{ours[key] / theirs[key]:.2f}x"
                      if key in (*TRAINED[setting], "train_examples_per_s")
                      else "untrained"
                      for key in MEASURES]
            lines.append(f"| {setting} | mtzoo / TFRS | "
                         + " | ".join(ratios) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--libraries", nargs="+",
                        default=[*MTZOO, "tfrs"], choices=[*MTZOO, "tfrs"])
    parser.add_argument("--venv-dir", default=str(
        pathlib.Path.home() / ".cache" / "mtzoo" / "peer-venvs"))
    parser.add_argument("--output", default=str(
        RESULTS / "peers_movielens.json"))
    parser.add_argument("--child", nargs=6, default=None,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        folder, seed, rating, retrieval_weight, variant, output = args.child
        result = run_mtzoo(folder, int(seed), float(rating),
                           float(retrieval_weight), MTZOO[variant])
        pathlib.Path(output).write_text(json.dumps(result))
        return result

    from mtzoo import environment

    python = (ensure_venv_for("tfrs", TFRS, pathlib.Path(args.venv_dir))
              if "tfrs" in args.libraries else None)
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        prepare(args.data_dir, pathlib.Path(folder))
        for setting, (rating, retrieval_weight) in SETTINGS.items():
            for seed in range(args.seeds):
                for name in args.libraries:
                    result = (run_isolated([folder, seed, rating,
                                            retrieval_weight, name])
                              if name in MTZOO else
                              run_tfrs(python, folder, seed, rating,
                                       retrieval_weight))
                    runs.append({"name": name, "setting": setting, **result})
                    print(f"{setting} {name} seed {seed}: top-100 "
                          f"{result['hit_rate_at_100']:.4f}, RMSE "
                          f"{result['rating_rmse']:.4f}, "
                          f"{result['train_examples_per_s']:,.0f} ex/s",
                          flush=True)
    summary = summarize(runs)
    content = {"benchmark": "MovieLens 100K retrieval and rating beside TFRS",
               "settings": {"seeds": args.seeds,
                            "batch_size": measure.BATCH_SIZE,
                            "epochs": measure.EPOCHS,
                            "libraries": args.libraries},
               "summary": summary, "runs": runs, **environment.describe()}
    common.write_results(args.output, content, markdown_table(summary))
    return content


if __name__ == "__main__":
    main()
