"""Training speed with dropout under XLA: Keras' Dropout against mtzoo's.

Census MMoE (recipe sizes, `dropout=0.2`, XLA on, 16 steps per execution)
trained with `mtzoo.layers.Dropout` (Philox masks), with
`keras.layers.Dropout` put back in its place (TensorFlow's default
generator), and without dropout as the reference. Median examples/s of the
epochs after the first, `--repeats` runs each.

Writes `benchmarks/results/dropout.json` and `dropout.md`.

    python benchmarks/dropout.py --data-dir ../shared/data/census-income
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
from unittest import mock

import keras

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import mtzoo  # noqa: E402
from mtzoo import environment  # noqa: E402
from mtzoo.layers import expert_bank  # noqa: E402
from mtzoo.layers import mlp  # noqa: E402

import common  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
SETTINGS = ("no dropout", "mtzoo Dropout", "keras Dropout")


def training_rate(bundle, train, setting: str, *, epochs: int,
                  seed: int) -> float:
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    dropout = 0.0 if setting == "no dropout" else 0.2
    layer = (keras.layers.Dropout if setting == "keras Dropout"
             else mtzoo.layers.Dropout)
    with mock.patch.object(mlp, "Dropout", layer), \
            mock.patch.object(expert_bank, "Dropout", layer):
        model = mtzoo.models.mmoe(bundle.features, bundle.tasks,
                                  dropout=dropout)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=True,
                  steps_per_execution=16)
    timer = common.EpochTimer(len(bundle.train))
    model.fit(train, epochs=epochs, callbacks=[timer], verbose=0)
    return timer.examples_per_second


def markdown_table(summary: dict) -> str:
    lines = ["| census MMoE, XLA on | train examples/s (median) | "
             "ratio to no dropout |", "|---|---|---|"]
    for setting in SETTINGS:
        entry = summary[setting]
        lines.append(f"| {setting} | {entry['train_examples_per_s']:,.0f} | "
                     f"{entry['ratio_to_no_dropout']:.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--output", default=str(RESULTS / "dropout.json"))
    args = parser.parse_args(argv)
    bundle = mtzoo.data.census_income(args.data_dir, max_rows=args.max_rows)
    train = mtzoo.data.from_dataframe(bundle.train, bundle.features,
                                      bundle.tasks, batch_size=1024,
                                      shuffle=True, seed=0)
    runs = [{"setting": setting, "repeat": repeat,
             "train_examples_per_s": training_rate(
                 bundle, train, setting, epochs=args.epochs, seed=repeat)}
            for repeat in range(args.repeats) for setting in SETTINGS]
    rates = {s: statistics.median(r["train_examples_per_s"] for r in runs
                                  if r["setting"] == s) for s in SETTINGS}
    summary = {s: {"train_examples_per_s": rates[s],
                   "ratio_to_no_dropout": rates[s] / rates["no dropout"]}
               for s in SETTINGS}
    content = {"benchmark": "census MMoE, dropout under XLA",
               "settings": {k: v for k, v in vars(args).items()
                            if k != "output"},
               "runs": runs, "summary": summary, **environment.describe()}
    common.write_results(args.output, content, markdown_table(summary))
    return summary


if __name__ == "__main__":
    main()
