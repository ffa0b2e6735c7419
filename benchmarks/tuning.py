"""The search behind the census recipe's defaults, on the validation split.

Trains MMoE on Census-Income's training file minus a 10% validation split
(the recipe's split for seed 0) and scores each trial by validation AUC;
the test file is never read here (`benchmarks/quality.py` touches it once,
for the final table). Each trial changes one thing from a base setting and
runs with `--seeds` initializations; every trial lands in
`benchmarks/results/tuning.json` as it finishes (a re-run skips the trials
already there), and `tuning.md` is the README's table: each change, its
validation AUCs and how far it moved them from its base.

Stage "features" starts from the first round's defaults (standardized
numbers only) and adds the numeric encodings; stage "model" starts from
the best of those and varies embedding width, feature crosses, the wide
path, expert and tower sizes, dropout, weight decay, learning rate and its
schedule, and batch size; stage "combined" puts the winners together and
tries DLRM's dot interaction, a longer early-stopping patience and an
exponential moving average of the weights on them.

    python benchmarks/tuning.py --data-dir ../shared/data/census-income

`--search N` runs instead the search `mtzoo train census_income --tune N`
runs (`mtzoo.runs.tuning`: Optuna over the architecture and its
hyperparameters, the recipe's defaults as the first trial) and the
ensemble it ends with (`mtzoo.runs.ensembles`: per task, the trials'
models and the baselines combined on the validation split), on the same
validation split, and writes `tuning_search.json`: every trial's settings
and validation score, and each task's best single model, ensemble and
members. The test file is not read.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import statistics
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
TASKS = ("income", "marital")
VALIDATION_SEED = 0

FIRST_ROUND = {"data": {"piecewise_linear_bins": 0,
                        "value_embeddings": False}}
NUMERIC_ENCODED = {"data": {"piecewise_linear_bins": 16,
                            "value_embeddings": True}}

# (name, stage, base, change): a trial is its base updated by its change.
TRIALS = [
    ("first round defaults", "features", None, FIRST_ROUND),
    ("+ embeddings of exact values", "features", "first round defaults",
     {"data": {"value_embeddings": True}}),
    ("+ piecewise-linear, 16 bins", "features", "first round defaults",
     {"data": {"piecewise_linear_bins": 16}}),
    ("+ both (numeric encodings)", "features", "first round defaults",
     NUMERIC_ENCODED),
    ("piecewise-linear, 8 bins", "features", "+ both (numeric encodings)",
     {"data": {"piecewise_linear_bins": 8}}),
    ("piecewise-linear, 32 bins", "features", "+ both (numeric encodings)",
     {"data": {"piecewise_linear_bins": 32}}),
    ("embeddings of 4", "model", "+ both (numeric encodings)",
     {"data": {"embedding_dim": 4}}),
    ("embeddings of 16", "model", "+ both (numeric encodings)",
     {"data": {"embedding_dim": 16}}),
    ("1 cross layer", "model", "+ both (numeric encodings)",
     {"model": {"cross_layers": 1}}),
    ("2 cross layers", "model", "+ both (numeric encodings)",
     {"model": {"cross_layers": 2}}),
    ("wide path", "model", "+ both (numeric encodings)",
     {"model": {"wide": True}}),
    ("16 experts", "model", "+ both (numeric encodings)",
     {"model": {"num_experts": 16}}),
    ("experts of 128", "model", "+ both (numeric encodings)",
     {"model": {"expert_units": [128]}}),
    ("towers of 64", "model", "+ both (numeric encodings)",
     {"model": {"tower_units": [64]}}),
    ("dropout 0.1", "model", "+ both (numeric encodings)",
     {"model": {"dropout": 0.1}}),
    ("AdamW, weight decay 0.01", "model", "+ both (numeric encodings)",
     {"fit": {"weight_decay": 0.01}}),
    ("AdamW, weight decay 0.1", "model", "+ both (numeric encodings)",
     {"fit": {"weight_decay": 0.1}}),
    ("learning rate 3e-4", "model", "+ both (numeric encodings)",
     {"fit": {"learning_rate": 3e-4}}),
    ("learning rate 3e-3", "model", "+ both (numeric encodings)",
     {"fit": {"learning_rate": 3e-3}}),
    ("learning rate / 3 on plateau", "model", "+ both (numeric encodings)",
     {"fit": {"reduce_on_plateau": True}}),
    ("batch 512", "model", "+ both (numeric encodings)",
     {"fit": {"batch_size": 512}}),
    ("batch 2048", "model", "+ both (numeric encodings)",
     {"fit": {"batch_size": 2048}}),
    ("1 cross layer + dropout 0.1", "combined", "1 cross layer",
     {"model": {"dropout": 0.1}}),
    ("2 cross layers + dropout 0.1", "combined", "2 cross layers",
     {"model": {"dropout": 0.1}}),
    ("3 cross layers", "combined", "2 cross layers",
     {"model": {"cross_layers": 3}}),
    ("1 cross layer + dropout 0.1, no piecewise-linear bins", "combined",
     "1 cross layer + dropout 0.1", {"data": {"piecewise_linear_bins": 0}}),
    ("+ dot interaction 8", "combined", "1 cross layer + dropout 0.1",
     {"model": {"dot_interaction": 8}}),
    ("+ dot interaction 16", "combined", "1 cross layer + dropout 0.1",
     {"model": {"dot_interaction": 16}}),
    ("+ patience 4", "combined", "1 cross layer + dropout 0.1",
     {"fit": {"patience": 4}}),
    ("+ weight averaging (EMA 0.99)", "combined",
     "1 cross layer + dropout 0.1", {"fit": {"ema_momentum": 0.99}}),
    ("EMA 0.995", "combined", "+ weight averaging (EMA 0.99)",
     {"fit": {"ema_momentum": 0.995}}),
    ("EMA 0.999", "combined", "+ weight averaging (EMA 0.99)",
     {"fit": {"ema_momentum": 0.999}}),
    ("EMA 0.99 + patience 4", "combined", "+ weight averaging (EMA 0.99)",
     {"fit": {"patience": 4}}),
    ("EMA 0.99 + 2 cross layers", "combined",
     "+ weight averaging (EMA 0.99)", {"model": {"cross_layers": 2}}),
    ("EMA 0.995 + exact values of every number", "combined", "EMA 0.995",
     {"data": {"value_embeddings": ["age", "wage_per_hour", "capital_gains",
                                    "capital_losses", "stock_dividends",
                                    "num_emp", "weeks_worked"]}}),
    ("EMA 0.995 + learning rate 2e-3", "combined", "EMA 0.995",
     {"fit": {"learning_rate": 2e-3}}),
    ("EMA 0.995 + batch 512", "combined", "EMA 0.995",
     {"fit": {"batch_size": 512}}),
    ("EMA 0.995 + embeddings of 16", "combined", "EMA 0.995",
     {"data": {"embedding_dim": 16}}),
    ("EMA 0.995 + dropout 0.2", "combined", "EMA 0.995",
     {"model": {"dropout": 0.2}}),
]
DEFAULT_FIT = {"learning_rate": 1e-3, "batch_size": 1024, "weight_decay": 0.0,
               "reduce_on_plateau": False, "epochs": 30, "patience": 2}


def settings(name: str, trials=TRIALS) -> dict:
    """A trial's full setting: its base's, updated by its change."""
    by_name = {t[0]: t for t in trials}
    _, _, base, change = by_name[name]
    merged = {"data": {}, "model": {}, "fit": dict(DEFAULT_FIT)}
    if base is not None:
        merged = settings(base, trials)
    return {part: {**merged[part], **change.get(part, {})}
            for part in ("data", "model", "fit")}


def _train_once(bundle_for, setting: dict, seed: int) -> dict:
    import keras
    import numpy as np
    from sklearn import metrics

    from mtzoo import data
    from mtzoo import models
    from mtzoo.training.averaging import WeightAveraging

    bundle, split = bundle_for(setting["data"])
    fit = setting["fit"]
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = models.mmoe(bundle.features, bundle.tasks, **setting["model"])
    # As in a recipe run: the momentum capped to the data's size, and the
    # average swapped in before early stopping judges and keeps weights.
    averaging = WeightAveraging.for_run(
        fit.get("ema_momentum", 0.0),
        data.batches_per_epoch(len(split.train), fit["batch_size"]))
    optimizer = (keras.optimizers.AdamW(
        fit["learning_rate"], weight_decay=fit["weight_decay"],
        **averaging.optimizer_options) if fit["weight_decay"] else
        keras.optimizers.Adam(fit["learning_rate"],
                              **averaging.optimizer_options))
    model.compile(optimizer=optimizer, jit_compile="auto",
                  steps_per_execution=16)
    callbacks = averaging.callbacks
    callbacks.append(keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=fit["patience"],
        restore_best_weights=True))
    if fit["reduce_on_plateau"]:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=1 / 3, patience=1))
    train = data.from_dataframe(split.train, bundle.features, bundle.tasks,
                                batch_size=fit["batch_size"], shuffle=True,
                                seed=seed)
    validation = data.from_dataframe(split.validation, bundle.features,
                                     bundle.tasks, batch_size=4096)
    start = time.perf_counter()
    history = model.fit(train, validation_data=validation,
                        epochs=fit["epochs"], callbacks=callbacks, verbose=0)
    seconds = time.perf_counter() - start
    predicted = model.predict(
        data.from_dataframe(split.validation, bundle.features,
                            batch_size=4096), verbose=0)
    return {
        **{f"{t}_auc": float(metrics.roc_auc_score(
            split.validation[t], np.asarray(predicted[t]).ravel()))
           for t in TASKS},
        "epochs_run": len(history.history["loss"]),
        "train_seconds": round(seconds, 1), "seed": seed}


def _bundles(data_dir):
    """The census bundle and validation split per data setting (loaded
    once each; features are adapted on the training file, as in the
    recipe)."""
    from mtzoo import data
    from mtzoo.recipes import definitions

    cache = {}

    def bundle_for(options: dict):
        key = json.dumps(options, sort_keys=True)
        if key not in cache:
            bundle = data.census_income(data_dir, **options)
            cache[key] = (bundle, bundle.split_validation(
                definitions.VALIDATION_FRACTION, seed=VALIDATION_SEED))
        return cache[key]

    return bundle_for


def summarize(trials: list[dict]) -> list[dict]:
    """Mean validation AUCs per trial and their change from its base."""
    means = {}
    for trial in trials:
        means[trial["name"]] = {
            f"{t}_auc": statistics.mean(r[f"{t}_auc"] for r in trial["runs"])
            for t in TASKS}
        means[trial["name"]]["epochs_run"] = statistics.mean(
            r["epochs_run"] for r in trial["runs"])
    rows = []
    for trial in trials:
        row = {"name": trial["name"], "stage": trial["stage"],
               "base": trial["base"], **means[trial["name"]],
               "seeds": len(trial["runs"])}
        for t in TASKS:
            row[f"{t}_change"] = (row[f"{t}_auc"]
                                  - means[trial["base"]][f"{t}_auc"]
                                  if trial["base"] in means else None)
        rows.append(row)
    return rows


def markdown_table(summary: list[dict]) -> str:
    """The README's table: validation AUCs and the change from the base."""
    def change(value):
        return "" if value is None else f"{value:+.4f}"

    lines = ["| stage | trial | change from | val AUC income | change | "
             "val AUC marital | change | epochs |",
             "|---|---|---|---|---|---|---|---|"]
    for row in summary:
        lines.append(
            f"| {row['stage']} | {row['name']} | {row['base'] or ''} | "
            f"{row['income_auc']:.4f} | {change(row['income_change'])} | "
            f"{row['marital_auc']:.4f} | {change(row['marital_change'])} | "
            f"{row['epochs_run']:.1f} |")
    return "\n".join(lines) + "\n"


def search(data_dir, trials: int, output: pathlib.Path) -> dict:
    """The recipe's search and ensemble on the validation split."""
    import tempfile

    from mtzoo import baselines
    from mtzoo.recipes import definitions
    from mtzoo.runs import ensembles
    from mtzoo.runs import steps
    from mtzoo.runs import tuning
    from mtzoo.runs.config import RunConfig
    from mtzoo.runs.config import resolve

    recipe = definitions.get("census_income")
    config = resolve(RunConfig("census_income", data_dir=data_dir,
                               seed=VALIDATION_SEED, export=False), recipe)
    splits = steps.prepare(recipe, config)
    started = time.perf_counter()
    fitted, kept = steps.baselines(splits, config)
    with tempfile.TemporaryDirectory() as folder:
        found = tuning.search(recipe, config, trials, pathlib.Path(folder),
                              targets=baselines.validation_targets(fitted),
                              splits=splits)
    search_seconds = time.perf_counter() - started
    members = found.pop("members")
    best = f"trial_{found['best_trial']}"
    final = next(m for m in members if m.name == best)
    final.name = "final"
    others = [m for m in members if m is not final] + \
        ensembles.baseline_members(splits, config.seed,
                                   final.settings["piecewise_linear_bins"],
                                   fitted=kept)
    _, ensemble = ensembles.ensemble(final, others, splits)
    content = {"benchmark": "census_income --tune search and ensemble "
                            "(validation split)",
               "validation_seed": VALIDATION_SEED, "trials": found["trials"],
               "best_trial": found["best_trial"],
               "search_seconds": round(search_seconds, 1),
               "baselines_validation": baselines.validation_targets(fitted),
               "ensemble": ensemble}
    common.write_results(output, content, search_table(content))
    return content


def search_table(content: dict) -> str:
    """The docs' table of a search: per task, the better baseline, the
    best single model and the ensemble on validation, and its members."""
    ensemble = content["ensemble"]
    lines = ["| task | better baseline | best model | ensemble | members |",
             "|---|---|---|---|---|"]
    for task, scores in ensemble["validation"].items():
        members = ", ".join(f"{name} {weight:g}" for name, weight in
                            ensemble["weights"][task].items())
        lines.append(
            f"| {task} | {content['baselines_validation'].get(task, 0):.4f}"
            f" | {scores['best_single']:.4f} | {scores['ensemble']:.4f} | "
            f"{members} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> list[dict]:
    from mtzoo import environment

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seeds", type=int, default=2,
                        help="initializations per trial (seeds 0 .. N-1)")
    parser.add_argument("--trials", nargs="*", default=None,
                        help="names of the trials to run (default: all)")
    parser.add_argument("--output", default=None)
    parser.add_argument("--search", type=int, default=0, metavar="N",
                        help="run the recipe's --tune search of N trials "
                             "and its ensemble instead of the trials here")
    args = parser.parse_args(argv)
    if args.search:
        return search(args.data_dir, args.search, pathlib.Path(
            args.output or RESULTS / "tuning_search.json"))
    args.output = args.output or str(RESULTS / "tuning.json")
    output = pathlib.Path(args.output)
    done = (json.loads(output.read_text())["trials"]
            if output.exists() else [])
    done = {t["name"]: t for t in done}
    bundle_for = _bundles(args.data_dir)
    wanted = args.trials or [t[0] for t in TRIALS]
    trials = []
    for name, stage, base, _ in TRIALS:
        if name not in wanted:
            if name in done:
                trials.append(done[name])
            continue
        setting = settings(name)
        previous = done.get(name)
        if previous and previous["setting"] == setting and len(
                previous["runs"]) >= args.seeds:
            trials.append(previous)
            continue
        runs = [_train_once(bundle_for, setting, seed)
                for seed in range(args.seeds)]
        trials.append({"name": name, "stage": stage, "base": base,
                       "setting": setting, "runs": runs})
        print(json.dumps({"trial": name, "runs": runs}), flush=True)
        content = {"benchmark": "census_income tuning (validation split)",
                   "validation_seed": VALIDATION_SEED, "trials": trials,
                   "summary": summarize(trials), **environment.describe()}
        common.write_results(output, content,
                             markdown_table(content["summary"]))
    return summarize(trials)


if __name__ == "__main__":
    main()
