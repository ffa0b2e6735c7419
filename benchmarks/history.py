"""What a user's history adds: MovieLens ranking with and without it.

The MovieLens recipe (MMoE, its defaults, time split: 85% of the test
ratings come from users unseen in training) trained without history and
with `--history 50` (the user's newest 50 movies rated strictly before
each rating, and the ratings given them), per pooling of the movies;
test liked AUC and rating RMSE, mean over seeds, and training examples/s.
Each run in its own process.

Writes `benchmarks/results/history.json` and `history.md`.

    python benchmarks/history.py --data-dir ../shared/data/movielens-100k
"""

from __future__ import annotations

import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

#: (label, history length, pooling of the movies).
SETTINGS = (("no history", 0, None), ("history, mean", 50, "mean"),
            ("history, target attention", 50, "target_attention"),
            ("history, transformer", 50, "transformer"))


def run(data_dir, length: int, pooling, seed: int) -> dict:
    from mtzoo import runs

    options = {"history": length}
    if pooling:
        options["history_pooling"] = pooling
    result = common.run_isolated(runs.RunConfig(
        "movielens", data_dir=data_dir, seed=seed, verbose=False,
        options=options))
    tasks = result["test"]["tasks"]
    return {"liked_auc": tasks["liked"]["auc"],
            "rating_rmse": tasks["rating"]["rmse"],
            "epochs_run": result["epochs_run"],
            "train_examples_per_s": result["train_examples_per_s"]}


def summarize(runs: list[dict]) -> dict:
    summary = {}
    baseline = None
    for label, _, _ in SETTINGS:
        mine = [r for r in runs if r["setting"] == label]
        entry = {key: statistics.mean(r[key] for r in mine) for key in (
            "liked_auc", "rating_rmse", "train_examples_per_s")}
        entry["seeds"] = len(mine)
        baseline = baseline or entry
        entry["liked_auc_lift"] = entry["liked_auc"] - baseline["liked_auc"]
        summary[label] = entry
    return summary


def markdown_table(summary: dict) -> str:
    lines = ["| MovieLens 100K, MMoE | liked AUC | lift | rating RMSE | "
             "train examples/s | seeds |", "|---|---|---|---|---|---|"]
    for label, entry in summary.items():
        lines.append(
            f"| {label} | {entry['liked_auc']:.4f} | "
            f"{entry['liked_auc_lift']:+.4f} | {entry['rating_rmse']:.4f} | "
            f"{entry['train_examples_per_s']:,.0f} | {entry['seeds']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = common.parser(__doc__, "history.json", data="movielens-100k",
                           seeds=2)
    args = parser.parse_args(argv)
    runs = []
    for seed in range(args.seeds):
        for label, length, pooling in SETTINGS:
            runs.append({"setting": label, "seed": seed,
                         **run(args.data_dir, length, pooling, seed)})
            print(runs[-1], flush=True)
    content = {"benchmark": "MovieLens ranking with and without history",
               "runs": runs, "summary": summarize(runs)}
    common.write_results(args.output, content,
                         markdown_table(content["summary"]))
    return content["summary"]


if __name__ == "__main__":
    main()
