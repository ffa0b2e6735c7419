"""What a user's history adds: ranking with and without it.

The MovieLens 100K recipe (MMoE, its defaults, time split: 85% of the test
ratings come from users unseen in training) trained without history and
with `--history 50` (the user's newest 50 movies rated strictly before
each rating, and the ratings given them), per pooling of the movies; the
Amazon reviews recipe without history and with `--history 20`. Test liked
AUC and rating RMSE, mean over seeds, and training examples/s. Each run in
its own process.

Writes `benchmarks/results/history.json` and `history.md`.

    python benchmarks/history.py [--data-root ../shared/data]
"""

from __future__ import annotations

import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

#: (label, recipe, its data folder, history length, pooling of the items).
SETTINGS = (
    ("MovieLens, no history", "movielens", "movielens-100k", 0, None),
    ("MovieLens, history, mean", "movielens", "movielens-100k", 50, "mean"),
    ("MovieLens, history, target attention", "movielens", "movielens-100k",
     50, "target_attention"),
    ("MovieLens, history, transformer", "movielens", "movielens-100k", 50,
     "transformer"),
    ("Amazon, no history", "amazon_reviews", "amazon-musical-instruments",
     0, None),
    ("Amazon, history, mean", "amazon_reviews", "amazon-musical-instruments",
     20, "mean"))


def run(data_dir, recipe: str, length: int, pooling, seed: int) -> dict:
    from mtzoo import runs

    options = {"history": length}
    if pooling:
        options["history_pooling"] = pooling
    result = common.run_isolated(runs.RunConfig(
        recipe, data_dir=str(data_dir), seed=seed, verbose=False,
        options=options))
    tasks = result["test"]["tasks"]
    return {"liked_auc": tasks["liked"]["auc"],
            "rating_rmse": tasks["rating"]["rmse"],
            "epochs_run": result["epochs_run"],
            "train_examples_per_s": result["train_examples_per_s"]}


def summarize(runs: list[dict]) -> dict:
    summary = {}
    baselines = {}
    for label, recipe, _, length, _ in SETTINGS:
        mine = [r for r in runs if r["setting"] == label]
        entry = {key: statistics.mean(r[key] for r in mine) for key in (
            "liked_auc", "rating_rmse", "train_examples_per_s")}
        entry["seeds"] = len(mine)
        if not length:
            baselines[recipe] = entry
        entry["liked_auc_lift"] = (entry["liked_auc"]
                                   - baselines[recipe]["liked_auc"])
        summary[label] = entry
    return summary


def markdown_table(summary: dict) -> str:
    lines = ["| MMoE, recipe defaults | liked AUC | lift | rating RMSE | "
             "train examples/s | seeds |", "|---|---|---|---|---|---|"]
    for label, entry in summary.items():
        lines.append(
            f"| {label} | {entry['liked_auc']:.4f} | "
            f"{entry['liked_auc_lift']:+.4f} | {entry['rating_rmse']:.4f} | "
            f"{entry['train_examples_per_s']:,.0f} | {entry['seeds']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = common.parser(__doc__, "history.json", seeds=2)
    parser.add_argument("--data-root", default=str(common.SHARED_DATA),
                        help="folder holding each dataset's folder")
    args = parser.parse_args(argv)
    root = pathlib.Path(args.data_root)
    runs = []
    for seed in range(args.seeds):
        for label, recipe, folder, length, pooling in SETTINGS:
            runs.append({"setting": label, "seed": seed, **run(
                root / folder, recipe, length, pooling, seed)})
            print(runs[-1], flush=True)
    return common.write_runs(
        args.output, "ranking with and without history", runs,
        summarize, markdown_table)


if __name__ == "__main__":
    main()
