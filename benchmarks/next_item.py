"""Next-item retrieval on MovieLens 100K: mtzoo against keras-rs' SASRec.

One split for both: each user's last rating is the test, the one before
it the validation, the rest training (`--split leave_one_out`); histories
of the newest 50 movies rated strictly before each rating. Both train on
the same rows: each user's windows of 50 training ratings
(`mtzoo.data.sequence_windows`), every position predicting the movie after
it, for the same epochs at batch 128. mtzoo is its recipe,
`mtzoo train movielens --next-item --history 50` (one causal transformer
block, a softmax over every movie; early stopping off so both train every
epoch); the peer is the Keras example's model
(`benchmarks/peers/sasrec_movielens.py`) at the example's width (50, two
blocks) and at mtzoo's (16, one block). Both are scored the same way:
hit rate and NDCG at 10 and recall at 100 of the test movie among every
movie of training, the user's history left out. Each run in its own
process; training examples/s is windows per second, median over epochs
after the first.

Writes `benchmarks/results/next_item.json` and `next_item.md`.

    python benchmarks/next_item.py [--seeds 3] [--epochs 60]
"""

from __future__ import annotations

import json
import pathlib
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

LENGTH = 50
PEERS = {"keras-rs SASRec (width 50, 2 blocks)": (50, 2, 1),
         "keras-rs SASRec (width 16, 1 block)": (16, 1, 1)}
MTZOO = "mtzoo --next-item"


def prepare(data_dir, path: pathlib.Path) -> None:
    """The split's windows, test histories and catalogue as arrays."""
    import numpy as np

    from mtzoo import data as data_lib

    bundle = data_lib.movielens(data_dir, history=LENGTH,
                                history_pooling="transformer",
                                split="leave_one_out")
    train = bundle.train
    windows = train[data_lib.sequence_windows(
        train, user="user_id", time="timestamp", length=LENGTH)]

    def flat(lists):
        offsets = np.cumsum([0] + [len(x) for x in lists])
        items = np.concatenate([np.asarray(x, np.int64) for x in lists])
        return items, offsets

    sequences = [list(h) + [m] for h, m in zip(windows["history"],
                                               windows["movie_id"])]
    train_items, train_offsets = flat(sequences)
    test_items, test_offsets = flat([list(h) for h in
                                     bundle.test["history"]])
    catalogue = sorted(set(train["movie_id"]) | {
        m for h in train["history"] for m in h[-LENGTH:]})
    np.savez(path, length=LENGTH, vocabulary=int(train_items.max()) + 1,
             train_items=train_items, train_offsets=train_offsets,
             test_history_items=test_items,
             test_history_offsets=test_offsets,
             test_items=bundle.test["movie_id"].to_numpy(np.int64),
             catalogue=np.asarray(catalogue, np.int64))


def run_mtzoo(data_dir, seed: int, epochs: int) -> dict:
    from mtzoo import runs

    result = common.run_isolated(runs.RunConfig(
        "movielens", data_dir=str(data_dir), seed=seed, epochs=epochs,
        patience=epochs, verbose=False,
        options={"next_item": True, "history": LENGTH,
                 "split": "leave_one_out"}))
    movie = result["test"]["tasks"]["movie"]
    return {"hr_at_10": movie["recall_at_10"],
            "ndcg_at_10": movie["ndcg_at_10"],
            "recall_at_100": movie["recall_at_100"],
            "epochs": result["epochs_run"],
            "train_rows": result["rows"]["train"],
            "train_seconds": result["train_seconds"],
            "train_examples_per_s": result["train_examples_per_s"]}


def run_peer(arrays: pathlib.Path, seed: int, epochs: int, sizes) -> dict:
    width, blocks, heads = sizes
    with tempfile.TemporaryDirectory() as folder:
        output = pathlib.Path(folder) / "result.json"
        subprocess.run(
            [sys.executable, str(common.HERE / "peers" /
                                 "sasrec_movielens.py"),
             str(arrays), str(seed), str(epochs), str(width), str(blocks),
             str(heads), str(output)], check=True)
        return json.loads(output.read_text())


def summarize(runs: list[dict]) -> dict:
    summary = {}
    for label in [MTZOO, *PEERS]:
        mine = [r for r in runs if r["library"] == label]
        summary[label] = {key: statistics.mean(r[key] for r in mine)
                          for key in ("hr_at_10", "ndcg_at_10",
                                      "recall_at_100",
                                      "train_examples_per_s")}
        summary[label]["seeds"] = len(mine)
    ours = summary[MTZOO]
    for label in PEERS:
        peer = summary[label]
        peer["mtzoo_speed_ratio"] = round(
            ours["train_examples_per_s"] / peer["train_examples_per_s"], 2)
    return summary


def markdown_table(summary: dict) -> str:
    lines = ["| model | HR@10 | NDCG@10 | recall@100 | train examples/s "
             "| mtzoo's speed / its |", "|---|---|---|---|---|---|"]
    for label, entry in summary.items():
        ratio = entry.get("mtzoo_speed_ratio")
        lines.append(
            f"| {label} | {entry['hr_at_10']:.4f} | "
            f"{entry['ndcg_at_10']:.4f} | {entry['recall_at_100']:.4f} | "
            f"{entry['train_examples_per_s']:,.0f} | "
            f"{f'{ratio:.2f}x' if ratio else ''} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = common.parser(__doc__, "next_item.json",
                           data="movielens-100k", seeds=3)
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        arrays = pathlib.Path(folder) / "movielens.npz"
        prepare(args.data_dir, arrays)
        for seed in range(args.seeds):
            runs.append({"library": MTZOO, "seed": seed,
                         **run_mtzoo(args.data_dir, seed, args.epochs)})
            for label, sizes in PEERS.items():
                runs.append({**run_peer(arrays, seed, args.epochs, sizes),
                             "library": label, "seed": seed})
            print(json.dumps(runs[-len(PEERS) - 1:], indent=1))
    common.write_runs(args.output, "next_item", runs, summarize,
                      markdown_table)


if __name__ == "__main__":
    main()
