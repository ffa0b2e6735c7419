"""Multi-target regression with raw labels of different scales.

The table: Census-Income's records, predicting four of its numbers from
everything else (education, occupation, industry, household, migration,
income band, ...): `age` (0-90), `weeks_worked` (0-52), `num_emp` (0-6)
and `wage_per_hour` (0-9,999, mostly 0). The labels go in as they are.

Compared on the census test file, after early stopping on a 10% validation
split of the training file: mtzoo MMoE with the default (labels
standardized by `mtzoo.tasks.adapt`, predictions in the labels' units), the
same with `standardize=False` (what raw labels did before), Ridge
(one-hot categoricals, standardized numbers, alpha picked on validation)
and LightGBM per target (`benchmarks/gradient_boosting.py`). The score is
test RMSE divided by the target's test standard deviation (1.0 = predicting
the mean), per target and averaged.

    python benchmarks/regression.py --data-dir ../shared/data/census-income
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import statistics
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling module below, however run
import gradient_boosting  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

RESULTS = HERE / "results"
TARGETS = ("age", "weeks_worked", "num_emp", "wage_per_hour")
ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0)
# Not inputs: the targets, the sampling weight and the derived labels.
LEFT_OUT = (*TARGETS, "instance_weight", "income", "marital")


def load(data_dir, max_rows=None, seed=0):
    """(train, validation, test, features, tasks) of the table."""
    from mtzoo import data
    from mtzoo import features as features_lib
    from mtzoo import tasks as tasks_lib
    from mtzoo.data.datasets import census_income

    bundle = data.census_income(data_dir, max_rows=max_rows)
    split = bundle.split_validation(0.1, seed=seed)
    specs = []
    for column in census_income.COLUMNS:
        if column in LEFT_OUT:
            continue
        if column in census_income.NUMERIC:
            specs.append(features_lib.NumericFeature(
                column, log_transform=True, piecewise_linear_bins=16,
                embed_values=True))
        else:
            specs.append(features_lib.CategoricalFeature(
                column, dtype="int64" if column in
                census_income.INTEGER_CODES else "string"))
    features = features_lib.adapt(specs, split.train)
    tasks = [tasks_lib.regression(t) for t in TARGETS]
    return split.train, split.validation, bundle.test, features, tasks


def relative_rmse(test, target: str, predicted) -> float:
    """Test RMSE over the target's test standard deviation."""
    errors = np.asarray(predicted).ravel() - test[target].to_numpy()
    return float(np.sqrt(np.mean(np.square(errors)))
                 / test[target].std(ddof=0))


def mtzoo_run(train, validation, test, features, tasks, seed,
              standardize=True) -> dict:
    import keras

    from mtzoo import data
    from mtzoo import models
    from mtzoo import tasks as tasks_lib

    tasks = [dataclasses.replace(t, standardize=standardize) for t in tasks]
    tasks = tasks_lib.adapt(tasks, train)
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = models.mmoe(features, tasks)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  steps_per_execution=16)
    start = time.perf_counter()
    history = model.fit(
        data.from_dataframe(train, features, tasks, batch_size=1024,
                            shuffle=True, seed=seed),
        validation_data=data.from_dataframe(validation, features, tasks,
                                            batch_size=4096),
        epochs=30, verbose=0, callbacks=[keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=2, restore_best_weights=True)])
    seconds = time.perf_counter() - start
    predicted = model.predict(
        data.from_dataframe(test, features, batch_size=4096), verbose=0)
    return {"scores": {t: relative_rmse(test, t, predicted[t])
                       for t in TARGETS},
            "epochs_run": len(history.history["loss"]),
            "train_seconds": round(seconds, 1)}


def ridge_run(train, validation, test, features) -> dict:
    from sklearn import compose
    from sklearn import linear_model
    from sklearn import pipeline
    from sklearn import preprocessing

    numeric, categorical = gradient_boosting.columns_of(features)
    x_train, (x_validation, x_test) = gradient_boosting.design_matrices(
        train, [validation, test], features)
    for x in (x_train, x_validation, x_test):
        x[categorical] = x[categorical].astype(str)
    start = time.perf_counter()
    chosen, scores = {}, {}
    for target in TARGETS:
        best = None
        for alpha in ALPHAS:
            model = pipeline.make_pipeline(
                compose.ColumnTransformer([
                    ("numbers", preprocessing.StandardScaler(), numeric),
                    ("categories", preprocessing.OneHotEncoder(
                        handle_unknown="ignore", min_frequency=5),
                     categorical)]),
                linear_model.Ridge(alpha=alpha))
            model.fit(x_train, train[target])
            error = float(np.sqrt(np.mean(np.square(
                model.predict(x_validation) - validation[target]))))
            if best is None or error < best[0]:
                best = (error, alpha, model)
        chosen[target] = best[1]
        scores[target] = relative_rmse(test, target,
                                       best[2].predict(x_test))
    return {"scores": scores, "alphas": chosen,
            "train_seconds": round(time.perf_counter() - start, 1)}


def lightgbm_run(train, validation, test, features, tasks, seed) -> dict:
    results = gradient_boosting.per_task(train, validation, test, features,
                                         tasks, seed)
    return {"scores": {t: results[t]["rmse"] / test[t].std(ddof=0)
                       for t in TARGETS},
            "trees": {t: results[t]["trees"] for t in TARGETS},
            "train_seconds": round(sum(r["seconds"]
                                       for r in results.values()), 1)}


def summarize(runs: dict) -> dict:
    """Per method: mean over runs of each target's score and their mean."""
    summary = {}
    for method, method_runs in runs.items():
        per_target = {t: statistics.mean(r["scores"][t] for r in method_runs)
                      for t in TARGETS}
        summary[method] = {**per_target,
                           "mean": statistics.mean(per_target.values()),
                           "runs": len(method_runs)}
    return summary


def markdown_table(summary: dict) -> str:
    lines = ["| method | " + " | ".join(f"`{t}`" for t in TARGETS)
             + " | mean | runs |",
             "|---|" + "---|" * (len(TARGETS) + 2)]
    for method, row in summary.items():
        lines.append(f"| {method} | "
                     + " | ".join(f"{row[t]:.3f}" for t in TARGETS)
                     + f" | {row['mean']:.3f} | {row['runs']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument("--output", default=str(RESULTS / "regression.json"))
    args = parser.parse_args(argv)
    train, validation, test, features, tasks = load(args.data_dir,
                                                    args.max_rows)
    runs = {"mtzoo MMoE (labels standardized, default)": [],
            "mtzoo MMoE (standardize=False)": [], "Ridge": [],
            "LightGBM": []}
    for seed in range(args.seeds):
        runs["mtzoo MMoE (labels standardized, default)"].append(mtzoo_run(
            train, validation, test, features, tasks, seed))
    runs["mtzoo MMoE (standardize=False)"].append(mtzoo_run(
        train, validation, test, features, tasks, 0, standardize=False))
    runs["Ridge"].append(ridge_run(train, validation, test, features))
    runs["LightGBM"].append(lightgbm_run(train, validation, test, features,
                                         tasks, 0))
    content = {"benchmark": "census multi-target regression",
               "targets": list(TARGETS), "rows": {
                   "train": len(train), "validation": len(validation),
                   "test": len(test)},
               "runs": runs, "summary": summarize(runs)}
    common.write_results(args.output, content,
                         markdown_table(content["summary"]))
    return content["summary"]


if __name__ == "__main__":
    main()
