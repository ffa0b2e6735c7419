"""Transfer on Census-Income: MMoE trained on income, then a `marital`
model built with `mtzoo.models.transfer` and trained on 5% of the marital
labels, against MMoE trained on the same 5% from scratch.

Per seed: income trains on the whole training file (3 epochs); 5% of the
training rows (sampled with the seed) carry marital labels, of which a
tenth is the validation split for early stopping; every marital model is
scored on the whole test file (test AUC, instance weights ignored).

Writes `benchmarks/results/transfer.json` and `.md`.

    python benchmarks/transfer.py --data-dir ../shared/data/census-income
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import statistics

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
#: How the marital model starts: transfer with a `freeze` value, or not.
SETTINGS = ("transfer, fine-tune all", "transfer, encoder frozen",
            "transfer, shared part frozen", "from scratch")
_FREEZE = {"transfer, fine-tune all": "none",
           "transfer, encoder frozen": "encoder",
           "transfer, shared part frozen": "shared"}


def run_seed(bundle, seed: int, fraction: float) -> dict:
    import keras
    from sklearn.metrics import roc_auc_score

    from mtzoo import data
    from mtzoo import models

    income = [t for t in bundle.tasks if t.name == "income"]
    marital = [t for t in bundle.tasks if t.name == "marital"]
    keras.utils.set_random_seed(seed)
    trained = models.mmoe(bundle.features, income)
    trained.compile(optimizer=keras.optimizers.Adam(1e-3))
    trained.fit(data.from_dataframe(bundle.train, bundle.features, income,
                                    batch_size=1024, shuffle=True,
                                    seed=seed), epochs=3, verbose=0)
    few = bundle.train.sample(frac=fraction, random_state=seed)
    validation, fit = few.iloc[:len(few) // 10], few.iloc[len(few) // 10:]
    labels, _ = data.label_arrays(bundle.test, marital)
    test_inputs = data.model_inputs(bundle.test, bundle.features)
    scores = {}
    for setting in SETTINGS:
        keras.utils.set_random_seed(seed + 1000)
        model = (models.mmoe(bundle.features, marital)
                 if setting == "from scratch" else
                 models.transfer(trained, marital,
                                 freeze=_FREEZE[setting]))
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        model.fit(data.from_dataframe(fit, bundle.features, marital,
                                      batch_size=256, shuffle=True,
                                      seed=seed),
                  validation_data=data.from_dataframe(
                      validation, bundle.features, marital,
                      batch_size=1024),
                  epochs=40, verbose=0, callbacks=[
                      keras.callbacks.EarlyStopping(
                          patience=3, restore_best_weights=True)])
        predicted = model.predict(test_inputs, batch_size=8192,
                                  verbose=0)["marital"]
        scores[setting] = float(roc_auc_score(labels["marital"].ravel(),
                                              predicted.ravel()))
    return {"seed": seed, "marital_labels": len(fit), **scores}


def summarize(runs: list[dict]) -> dict:
    return {setting: {
        "marital_auc": statistics.mean(r[setting] for r in runs),
        "marital_auc_std": (statistics.stdev(r[setting] for r in runs)
                            if len(runs) > 1 else 0.0),
        "runs": len(runs)} for setting in SETTINGS}


def markdown_table(summary: dict) -> str:
    lines = ["| marital model (5% of labels) | test AUC | runs |",
             "|---|---|---|"]
    for setting, row in summary.items():
        lines.append(f"| {setting} | {row['marital_auc']:.4f} ± "
                     f"{row['marital_auc_std']:.4f} | {row['runs']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--fraction", type=float, default=0.05)
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument("--output", default=str(RESULTS / "transfer.json"))
    args = parser.parse_args(argv)

    from mtzoo import data
    from mtzoo.data.datasets.census_income import PLAIN_NUMBERS
    from mtzoo import environment

    bundle = data.census_income(args.data_dir, max_rows=args.max_rows,
                                **PLAIN_NUMBERS)
    runs = []
    for seed in range(args.seeds):
        runs.append(run_seed(bundle, seed, args.fraction))
        print(runs[-1], flush=True)
    content = {"benchmark": "census income -> marital transfer",
               "fraction": args.fraction, "max_rows": args.max_rows,
               "runs": runs, "summary": summarize(runs),
               **environment.describe()}
    common.write_results(args.output, content, markdown_table(content["summary"]))
    return content


if __name__ == "__main__":
    main()
