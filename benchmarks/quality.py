"""Test quality of every architecture on Census-Income over several seeds.

Runs the census recipe with its defaults (early stopping on a validation
split taken from the training data; the test set only for the report) for
each architecture and seed, each run in its own process, and writes
`benchmarks/results/quality.json` (every run, then mean and standard
deviation per architecture) and `benchmarks/results/quality.md` (the table
the README shows). Beside the architectures, LightGBM per task (one model per
label, early-stopped on the same validation split, `benchmarks/
gradient_boosting.py`) is the anchor a user would otherwise pick. Runs already
in the JSON are kept and skipped, so an interrupted benchmark continues where
it stopped.

    python benchmarks/quality.py --data-dir ../shared/data/census-income
"""

from __future__ import annotations

import json
import pathlib
import statistics
import sys

from mtzoo import environment
from mtzoo import recipes
from mtzoo import runs as runs_lib

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling modules below, however run
import common  # noqa: E402
import gradient_boosting  # noqa: E402

TASKS = ("income", "marital")


def _run_once(model: str, seed: int, data_dir, settings: dict) -> dict:
    result = common.run_isolated(runs_lib.RunConfig(
        "census_income", model=model, seed=seed, data_dir=data_dir,
        **settings))
    tasks = result["test"]["tasks"]
    return {
        "model": model, "seed": seed,
        **{f"{t}_auc": tasks[t]["auc"] for t in TASKS},
        "epochs_run": result["epochs_run"],
        "best_epoch": result["best_epoch"],
        "train_seconds": result["train_seconds"],
        "train_examples_per_s": result["train_examples_per_s"],
        "hyperparameters": result["hyperparameters"],
    }


def _lightgbm_once(seed: int, data_dir, settings: dict) -> dict:
    """LightGBM per task on the recipe's split for `seed`."""
    from mtzoo import data
    from mtzoo.recipes import definitions

    bundle = data.census_income(data_dir, max_rows=settings.get(
        "options", {}).get("max_rows"))
    split = bundle.split_validation(definitions.VALIDATION_FRACTION,
                                    seed=seed)
    scores = gradient_boosting.per_task(split.train, split.validation,
                                        bundle.test, bundle.features,
                                        bundle.tasks, seed)
    return {
        "model": "lightgbm", "seed": seed,
        **{f"{t}_auc": scores[t]["auc"] for t in TASKS},
        "trees": {t: scores[t]["trees"] for t in TASKS},
        "train_seconds": sum(s["seconds"] for s in scores.values()),
        "hyperparameters": gradient_boosting.PARAMS,
    }


def summarize(runs: list[dict]) -> dict:
    """Mean and standard deviation of each metric per architecture."""
    summary = {}
    for model in dict.fromkeys(r["model"] for r in runs):
        mine = [r for r in runs if r["model"] == model]
        entry = {"seeds": [r["seed"] for r in mine]}
        for key in [f"{t}_auc" for t in TASKS] + ["epochs_run",
                                                  "train_seconds"]:
            values = [r[key] for r in mine if key in r]
            if not values:
                continue
            entry[key] = {"mean": statistics.mean(values),
                          "std": (statistics.stdev(values)
                                  if len(values) > 1 else 0.0)}
        summary[model] = entry
    return summary


def markdown_table(summary: dict) -> str:
    """The README's table: mean +- std over seeds."""
    lines = ["| architecture | test AUC income | test AUC marital | epochs "
             "| seeds |",
             "|---|---|---|---|---|"]
    for model, entry in summary.items():
        cells = [f"{entry[f'{t}_auc']['mean']:.4f} +- "
                 f"{entry[f'{t}_auc']['std']:.4f}" for t in TASKS]
        lines.append(f"| `{model}` | {cells[0]} | {cells[1]} | "
                     f"{_epochs(entry)} | "
                     f"{len(entry['seeds'])} |")
    return "\n".join(lines) + "\n"


def _epochs(entry: dict) -> str:
    """Mean epochs of a neural model; LightGBM has none."""
    return (f"{entry['epochs_run']['mean']:.1f}" if "epochs_run" in entry
            else "")


def main(argv=None) -> dict:
    parser = common.parser(__doc__, "quality.json", data="census-income",
                           seeds=5)
    parser.add_argument("--models", nargs="+",
                        default=list(recipes.get("census_income")
                                     .architectures))
    parser.add_argument("--anchors", nargs="*", default=["lightgbm"],
                        choices=["lightgbm"],
                        help="gradient boosting beside the architectures "
                             "(needs the bench extra)")
    parser.add_argument("--max-rows", type=int, default=None,
                        help="rows per census file, for quick trials")
    for flag in ("--epochs", "--batch-size", "--steps-per-execution"):
        parser.add_argument(flag, type=int, default=None,
                            help="instead of the recipe's (quick trials)")
    args = parser.parse_args(argv)
    # Run settings besides the recipe's defaults (mtzoo.runs.RunConfig).
    settings = {k: v for k, v in (
        ("epochs", args.epochs), ("batch_size", args.batch_size),
        ("steps_per_execution", args.steps_per_execution)) if v}
    if args.max_rows:
        settings["options"] = {"max_rows": args.max_rows}
    output = pathlib.Path(args.output)
    previous = (json.loads(output.read_text())
                if output.exists() else {"runs": []})
    # Runs of other settings are not kept (files written before settings
    # existed hold `recipe_flags`, empty for the defaults).
    same = previous.get("run_settings", {}) == settings and not \
        previous.get("recipe_flags")
    runs = previous["runs"] if same else []
    for model in [*args.anchors, *args.models]:
        for seed in range(args.seeds):
            if any(r["model"] == model and r["seed"] == seed for r in runs):
                continue
            run_once = _lightgbm_once if model == "lightgbm" else (
                lambda *a: _run_once(model, *a))
            runs.append(run_once(seed, args.data_dir, settings))
            print(json.dumps({k: runs[-1].get(k) for k in (
                "model", "seed", "income_auc", "marital_auc",
                "epochs_run")}), flush=True)
            content = {"benchmark": "census_income quality",
                       "run_settings": settings,
                       "runs": runs, "summary": summarize(runs),
                       **environment.describe()}
            common.write_results(output, content,
                                 markdown_table(content["summary"]))
    summary = summarize(runs)
    print(markdown_table(summary))
    return summary


if __name__ == "__main__":
    main()
