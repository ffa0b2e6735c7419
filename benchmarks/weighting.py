"""Task weighting strategies compared on Census-Income with MMoE.

Runs the census recipe (its defaults: early stopping on a validation split)
once per strategy and seed, and writes test AUCs, epochs, training
throughput and the final task weights to
`benchmarks/results/weighting.json`, and the README's table to
`benchmarks/results/weighting.md`.

    python benchmarks/weighting.py --data-dir ../shared/data/census-income
"""

from __future__ import annotations

import pathlib
import statistics
import sys
import tempfile

from mtzoo import environment
from mtzoo import runs as runs_lib
from mtzoo.training import weighting

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

TASKS = ("income", "marital")


def summarize(runs: dict) -> dict:
    """Means over seeds per strategy, final task weights included."""
    return {
        strategy: {
            **{key: statistics.mean(r[key] for r in results)
               for key in ("income_auc", "marital_auc", "epochs_run",
                           "train_examples_per_s")},
            "final_task_weights": {
                task: statistics.mean(r["final_task_weights"][task]
                                      for r in results) for task in TASKS},
            "seeds": [r["seed"] for r in results]}
        for strategy, results in runs.items()}


def markdown_table(summary: dict) -> str:
    """The README's table."""
    lines = ["| weighting | test AUC income | test AUC marital | epochs "
             "| final weights (income / marital) | seeds |",
             "|---|---|---|---|---|---|"]
    for strategy, entry in summary.items():
        weights = entry["final_task_weights"]
        lines.append(
            f"| `{strategy}` | {entry['income_auc']:.4f} | "
            f"{entry['marital_auc']:.4f} | {entry['epochs_run']:.0f} | "
            f"{weights['income']:.2f} / {weights['marital']:.2f} | "
            f"{len(entry['seeds'])} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = common.parser(__doc__, "weighting.json", data="census-income")
    parser.add_argument("--model", default="mmoe")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--strategies", nargs="+",
                        default=list(weighting.STRATEGIES))
    args = parser.parse_args(argv)
    runs = {}
    for strategy in args.strategies:
        runs[strategy] = []
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as tmp:
                result = runs_lib.run(runs_lib.RunConfig(
                    "census_income", model=args.model, weighting=strategy,
                    seed=seed, data_dir=args.data_dir, output_dir=tmp,
                    export=False, baselines=False))
            tasks = result["test"]["tasks"]
            runs[strategy].append({
                "seed": seed,
                "income_auc": tasks["income"]["auc"],
                "marital_auc": tasks["marital"]["auc"],
                "epochs_run": result["epochs_run"],
                "train_examples_per_s": result["train_examples_per_s"],
                "final_task_weights": result["final_task_weights"],
            })
            print(strategy, runs[strategy][-1], flush=True)
    summary = summarize(runs)
    output = {"model": args.model, "seeds": args.seeds, "runs": runs,
              "summary": summary, **environment.describe()}
    common.write_results(args.output, output, markdown_table(summary))
    return output


if __name__ == "__main__":
    main()
