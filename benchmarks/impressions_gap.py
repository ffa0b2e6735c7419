"""How far the synthetic impressions recipe is from the best possible AUC.

`mtzoo.data.synthetic.impressions` returns the true click and conversion
probabilities, so the AUC they reach on the test rows (the oracle) is the
ceiling of any model. This script runs the `synthetic` recipe (each run in
its own process, test = the last 20% of the rows) in a few settings and
reports, per setting, the mean test AUC of click and of conversion (the
product click x convert, `p_conversion`) and the gap to the oracle on the
same rows:

* the recipe's defaults (200,000 impressions; MMoE with a DLRM dot
  interaction of 32 and dropout 0.3: the click probability is a user-item
  dot product, which an MLP over concatenated embeddings approximates
  poorly);
* 100,000 and 50,000 impressions (how much data limits it);
* the earlier model defaults (no dot interaction, no dropout), on 200,000
  and 50,000 impressions;
* `--cross-layers 1` (a DCN-v2 cross layer on the shared input);
* AITM, whose funnel tasks include conversion (the default tasks do not),
  with its defaults and the earlier ones.

    python benchmarks/impressions_gap.py
"""

from __future__ import annotations

import pathlib
import statistics
import sys

from sklearn import metrics

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

EARLIER = {"hyperparameters": {"dot_interaction": 0, "dropout": 0.0}}
#: Setting name -> `mtzoo.runs.RunConfig` settings of the synthetic recipe.
SETTINGS = {
    "mmoe (recipe defaults: 200,000 rows)": {},
    "mmoe, 100,000 rows": {"options": {"rows": 100_000}},
    "mmoe, 50,000 rows": {"options": {"rows": 50_000}},
    "mmoe, earlier defaults": EARLIER,
    "mmoe, 50,000 rows, earlier defaults": {"options": {"rows": 50_000},
                                            **EARLIER},
    "mmoe, 1 cross layer": {"hyperparameters": {"cross_layers": 1}},
    # The default tasks have no conversion; the funnel models learn it.
    "aitm (click, conversion)": {"model": "aitm"},
    "aitm, earlier defaults": {"model": "aitm", **EARLIER},
}
TASKS = {"click": "p_click", "conversion": "p_conversion"}


def oracle(rows: int, seed: int) -> dict:
    """AUC of the true probabilities on the recipe's test rows."""
    from mtzoo.data import synthetic

    frame = synthetic.impressions(rows, seed=seed)
    test = frame.iloc[int(0.8 * len(frame)):]
    return {task: float(metrics.roc_auc_score(test[task], test[truth]))
            for task, truth in TASKS.items()}


def run_once(settings: dict, seed: int) -> dict:
    from mtzoo import recipes
    from mtzoo import runs

    config = runs.resolve(runs.RunConfig("synthetic", seed=seed, **settings),
                          recipes.get("synthetic"))
    rows = config.option("rows")
    result = common.run_isolated(config)
    tested = result["test"]["tasks"]
    best = oracle(rows, seed)
    return {"seed": seed, "rows": rows,
            **{f"{t}_auc": tested[t]["auc"] for t in TASKS if t in tested},
            **{f"{t}_oracle_auc": best[t] for t in TASKS if t in tested},
            "epochs_run": result["epochs_run"],
            "train_seconds": result["train_seconds"]}


def summarize(runs: dict) -> dict:
    summary = {}
    for name, setting_runs in runs.items():
        entry = {"seeds": len(setting_runs)}
        for task in TASKS:
            if f"{task}_auc" not in setting_runs[0]:
                continue
            auc = statistics.mean(r[f"{task}_auc"] for r in setting_runs)
            best = statistics.mean(r[f"{task}_oracle_auc"]
                                   for r in setting_runs)
            entry[task] = {"auc": auc, "oracle_auc": best,
                           "gap": best - auc}
        summary[name] = entry
    return summary


def markdown_table(summary: dict) -> str:
    lines = ["| setting | click AUC | oracle | gap | conversion AUC | oracle "
             "| gap | seeds |", "|---|---|---|---|---|---|---|---|"]
    for name, entry in summary.items():
        cells = []
        for task in TASKS:
            cells += ([f"{entry[task]['auc']:.4f}",
                       f"{entry[task]['oracle_auc']:.4f}",
                       f"{entry[task]['gap']:.4f}"] if task in entry
                      else ["", "", ""])
        lines.append(f"| {name} | " + " | ".join(cells)
                     + f" | {entry['seeds']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = common.parser(__doc__, "impressions_gap.json", seeds=3)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS),
                        choices=list(SETTINGS))
    args = parser.parse_args(argv)
    runs = {name: [run_once(SETTINGS[name], seed)
                   for seed in range(args.seeds)] for name in args.settings}
    content = {"benchmark": "synthetic impressions: gap to the oracle",
               "settings": {n: SETTINGS[n] for n in args.settings},
               "runs": runs, "summary": summarize(runs)}
    common.write_results(args.output, content,
                         markdown_table(content["summary"]))
    return content["summary"]


if __name__ == "__main__":
    main()
