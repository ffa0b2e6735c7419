"""What review text adds: the amazon_reviews recipe (MMoE, defaults) with
the text left out, as a trained bag of words, as frozen MiniLM vectors, and
with MiniLM's top layers fine-tuned.

Each setting runs the recipe once per seed in its own process (early
stopping on the latest 10% of the training period; the test set, the
latest 20% of reviews, only for the table) and records test metrics and
training time. Runs already in the JSON are kept, so an interrupted
benchmark continues where it stopped.

Writes `benchmarks/results/text_features.json` and `.md`.

    python benchmarks/text_features.py \
        --data-dir ../shared/data/amazon-musical-instruments
"""

from __future__ import annotations

import json
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

#: Setting name -> `mtzoo.runs.RunConfig` settings of the recipe.
SETTINGS = {
    "no text": {"options": {"text_encoder": "none"}},
    "bag of words": {"options": {"text_encoder": "bag"}},
    "MiniLM, frozen": {"options": {"text_encoder": "minilm"}},
    # The five frozen layers run once per text before training; capped
    # at 4 epochs as when every step ran all six (about 5 minutes each).
    "MiniLM, top layer fine-tuned, 4 epochs": {
        "options": {"text_encoder": "minilm", "fine_tune_layers": 1},
        "epochs": 4},
}
METRICS = (("rating", "rmse"), ("liked", "auc"), ("helpful", "auc"))


def run_once(setting: str, seed: int, args) -> dict:
    from mtzoo import runs

    settings = dict(SETTINGS[setting])
    options = {**settings.pop("options", {}), **args.options}
    started = time.perf_counter()
    result = common.run_isolated(runs.RunConfig(
        "amazon_reviews", model=args.model, seed=seed,
        data_dir=args.data_dir, options=options, **settings))
    # Training seconds leave out encoding the texts; the run's do not.
    run_seconds = round(time.perf_counter() - started, 1)
    tasks = result["test"]["tasks"]
    return {"setting": setting, "seed": seed,
            **{f"{task}_{metric}": tasks[task][metric]
               for task, metric in METRICS},
            "epochs_run": result["epochs_run"],
            "train_seconds": result["train_seconds"],
            "run_seconds": run_seconds}


def summarize(runs: list[dict]) -> dict:
    summary = {}
    for setting in dict.fromkeys(r["setting"] for r in runs):
        mine = [r for r in runs if r["setting"] == setting]
        summary[setting] = {"runs": len(mine)}
        for key in [f"{t}_{m}" for t, m in METRICS] + ["train_seconds"]:
            values = [r[key] for r in mine]
            summary[setting][key] = statistics.mean(values)
            summary[setting][f"{key}_std"] = (statistics.stdev(values)
                                              if len(values) > 1 else 0.0)
    return summary


def markdown_table(summary: dict) -> str:
    lines = ["| text | rating RMSE | liked AUC | helpful AUC | training "
             "(s) | runs |", "|---|---|---|---|---|---|"]
    for setting, row in summary.items():
        cells = []
        for task, metric in METRICS:
            key = f"{task}_{metric}"
            cells.append(f"{row[key]:.4f} ± {row[key + '_std']:.4f}")
        lines.append(f"| {setting} | " + " | ".join(cells)
                     + f" | {row['train_seconds']:.0f} | {row['runs']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = common.parser(__doc__, "text_features.json",
                           data="amazon-musical-instruments", seeds=3)
    parser.add_argument("--model", default="mmoe")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS),
                        choices=list(SETTINGS))
    parser.add_argument("--max-rows", type=int, default=None,
                        help="rows of the recipe's data (default: all)")
    args = parser.parse_args(argv)
    args.options = ({"max_rows": args.max_rows} if args.max_rows else {})

    from mtzoo import environment
    from mtzoo.atomic import write_text

    output = pathlib.Path(args.output)
    runs = (json.loads(output.read_text())["runs"] if output.exists()
            else [])
    for setting in args.settings:
        for seed in range(args.seeds):
            if any(r["setting"] == setting and r["seed"] == seed
                   for r in runs):
                continue
            runs.append(run_once(setting, seed, args))
            print(runs[-1], flush=True)
            content = {"benchmark": "amazon_reviews recipe, text settings",
                       "model": args.model, "runs": runs,
                       "summary": summarize(runs),
                       "recipe_options": args.options,
                       **environment.describe()}
            write_text(output, json.dumps(content, indent=2))
    content = json.loads(output.read_text())
    common.write_results(output, content, markdown_table(content["summary"]))
    return content


if __name__ == "__main__":
    main()
