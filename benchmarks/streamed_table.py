"""`mtzoo train table` on a table of Parquet shards, small and large: peak
memory and training speed as the table grows.

Writes simulated impressions (`mtzoo.data.synthetic.impressions`, one
seed, and so one simulated world, per shard of `--shard-rows` rows;
20,000 users, 2,000 items) as Parquet shards, a config naming them by a glob (so the table is streamed:
split once to Parquet files per split, features adapted in one pass,
training and validation read from the split files), and trains each size
with the recipe's defaults for `--epochs` epochs in a fresh process: its
peak resident memory (the process's own high-water mark), training
examples/s (`metrics.json`), and the wall time of the whole run. With
`--in-memory`, the smallest table is also run as one file loaded whole,
for comparison.

    python benchmarks/streamed_table.py --rows 1000000 16000000
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

CONFIG = """
[data]
train = "{train}"
split = "random"
[features.user_id]
kind = "categorical"
[features.item_id]
kind = "categorical"
[features.device]
kind = "categorical"
[features.age]
kind = "numeric"
[features.price]
kind = "numeric"
[features.genres]
kind = "multi_categorical"
[tasks.click]
kind = "binary"
[tasks.watch_time]
kind = "regression"
[tasks.interest]
kind = "multiclass"
classes = [0, 1, 2, 3, 4, 5]
"""

# Runs the recipe in this process and prints its peak resident memory.
RUNNER = """
import json, sys
from mtzoo import runs
# The network alone: what scales with the rows (the baselines and an
# ensemble of them read a sample of at most 100,000 rows).
result = runs.run(runs.RunConfig(
    "table", options={"config": sys.argv[1]}, output_dir=sys.argv[2],
    epochs=int(sys.argv[3]), verbose=False, overwrite=True,
    ensemble=False))
# The high-water mark of this process's own memory (ru_maxrss would keep
# the parent's across exec).
peak = next(int(line.split()[1]) for line in open("/proc/self/status")
            if line.startswith("VmHWM:"))
print(json.dumps({"peak_rss_mb": peak / 1024,
    "train_examples_per_s": result["train_examples_per_s"],
    "train_seconds": result["train_seconds"],
    "rows": result["rows"], "epochs_run": result["epochs_run"]}))
"""


def write_shards(folder: pathlib.Path, rows: int, shard_rows: int) -> None:
    """`rows` impressions as Parquet shards of `shard_rows` rows (kept
    between runs: shards already there are reused)."""
    from mtzoo.data import synthetic

    folder.mkdir(parents=True, exist_ok=True)
    for index in range(-(-rows // shard_rows)):
        path = folder / f"part-{index:05d}.parquet"
        if path.exists():
            continue
        frame = synthetic.impressions(
            min(shard_rows, rows - index * shard_rows), num_users=20_000,
            num_items=2_000, seed=index)
        frame = frame.drop(columns=["recent_items", "item_text", "p_click",
                                    "p_conversion"])
        frame.to_parquet(str(path) + ".tmp")
        pathlib.Path(str(path) + ".tmp").rename(path)


def run_once(config: pathlib.Path, output: pathlib.Path,
             epochs: int) -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(config), str(output),
         str(epochs)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    measured["wall_seconds"] = round(time.perf_counter() - started, 1)
    return measured


def main(argv=None) -> dict:
    parser = common.parser(__doc__, "streamed_table.json", seeds=1)
    parser.add_argument("--rows", type=int, nargs="+",
                        default=[1_000_000, 16_000_000])
    parser.add_argument("--shard-rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--work-dir", default=None,
                        help="where shards are written (kept)")
    parser.add_argument("--in-memory", action="store_true")
    args = parser.parse_args(argv)
    work = pathlib.Path(args.work_dir or tempfile.mkdtemp())
    runs = []
    for rows in sorted(args.rows):
        folder = work / f"rows_{rows}"
        write_shards(folder / "shards", rows, args.shard_rows)
        config = folder / "table.toml"
        config.write_text(CONFIG.format(train="shards/*.parquet"))
        runs.append({"table_rows": rows, "mode": "streamed",
                     **run_once(config, folder / "run", args.epochs)})
        print(runs[-1], flush=True)
        if args.in_memory and rows == min(args.rows):
            import pandas as pd

            whole = folder / "whole.parquet"
            if not whole.exists():
                pd.concat(pd.read_parquet(p) for p in sorted(
                    (folder / "shards").glob("*.parquet"))).to_parquet(whole)
            memory_config = folder / "whole.toml"
            memory_config.write_text(CONFIG.format(train="whole.parquet"))
            runs.append({"table_rows": rows, "mode": "in_memory", **run_once(
                memory_config, folder / "run_memory", args.epochs)})
            print(runs[-1], flush=True)
    return common.write_runs(
        args.output, "table recipe streamed from Parquet shards", runs,
        summarize, markdown_table)


def summarize(runs: list[dict]) -> dict:
    smallest = next(r for r in runs if r["mode"] == "streamed")
    return {f"{r['mode']} {r['table_rows']:,} rows": {
        "peak_rss_mb": round(r["peak_rss_mb"]),
        "rss_vs_smallest": round(r["peak_rss_mb"]
                                 / smallest["peak_rss_mb"], 3),
        "train_examples_per_s": round(r["train_examples_per_s"]),
        "speed_vs_smallest": round(r["train_examples_per_s"]
                                   / smallest["train_examples_per_s"], 3),
        "wall_seconds": r["wall_seconds"]} for r in runs}


def markdown_table(summary: dict) -> str:
    lines = ["| table | peak RSS (MB) | vs smallest | training examples/s "
             "| vs smallest | whole run (s) |", "|---|---|---|---|---|---|"]
    for name, entry in summary.items():
        lines.append(
            f"| {name} | {entry['peak_rss_mb']:,} | "
            f"{entry['rss_vs_smallest']:.2f}x | "
            f"{entry['train_examples_per_s']:,} | "
            f"{entry['speed_vs_smallest']:.2f}x | {entry['wall_seconds']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
