"""Training with and without XLA (`jit_compile`), census MMoE on CPU.

The model trains on encoded ids and floats (lookups ran once, in the input
pipeline), so its step holds only numeric ops that XLA can compile. For each
repeat, the same model is trained once with `jit_compile=False` and once with
`jit_compile=True` in this process, alternating which goes first; the JSON
keeps every timed epoch and the median ratio of the paired runs.

Writes `benchmarks/results/xla.json` and `xla.md`.

    python benchmarks/xla.py --data-dir ../shared/data/census-income
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys

import keras

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import mtzoo  # noqa: E402
from mtzoo import environment  # noqa: E402
from mtzoo import atomic  # noqa: E402
from mtzoo.data.datasets.census_income import PLAIN_NUMBERS  # noqa: E402

import common  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def training_rate(bundle, train, *, jit_compile: bool, epochs: int,
                  steps_per_execution: int, seed: int) -> float:
    """Median examples/s of epochs 2 and later (the first one traces)."""
    keras.utils.set_random_seed(seed)
    model = mtzoo.models.mmoe(bundle.features, bundle.tasks)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  jit_compile=jit_compile,
                  steps_per_execution=steps_per_execution)
    timer = common.EpochTimer(len(bundle.train))
    model.fit(train, epochs=epochs, callbacks=[timer], verbose=0)
    return timer.examples_per_second


def markdown_table(summary: dict) -> str:
    """The README's table."""
    lines = ["| `jit_compile` | train examples/s (median) | ratio to off |",
             "|---|---|---|"]
    for label in ("off", "on"):
        rate = summary[label]["train_examples_per_s"]
        lines.append(f"| {label} | {rate:,.0f} | "
                     f"{summary[label]['ratio_to_off']:.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--steps-per-execution", type=int, default=16)
    parser.add_argument("--output", default=str(RESULTS / "xla.json"))
    args = parser.parse_args(argv)

    bundle = mtzoo.data.census_income(args.data_dir, max_rows=args.max_rows,
                                      **PLAIN_NUMBERS)
    train = mtzoo.data.from_dataframe(
        bundle.train, bundle.features, bundle.tasks,
        batch_size=args.batch_size, shuffle=True, seed=0)
    runs = []
    for repeat in range(args.repeats):
        order = (False, True) if repeat % 2 == 0 else (True, False)
        for jit in order:
            rate = training_rate(
                bundle, train, jit_compile=jit, epochs=args.epochs,
                steps_per_execution=args.steps_per_execution, seed=repeat)
            runs.append({"repeat": repeat, "jit_compile": jit,
                         "train_examples_per_s": rate})
            print(f"repeat {repeat} jit_compile={jit}: {rate:,.0f} ex/s",
                  flush=True)
    rates = {jit: [r["train_examples_per_s"] for r in runs
                   if r["jit_compile"] == jit] for jit in (False, True)}
    ratios = [on / off for off, on in zip(rates[False], rates[True])]
    summary = {
        "off": {"train_examples_per_s": statistics.median(rates[False]),
                "ratio_to_off": 1.0},
        "on": {"train_examples_per_s": statistics.median(rates[True]),
               "ratio_to_off": statistics.median(ratios)},
        "faster": "on" if statistics.median(ratios) > 1 else "off",
    }
    content = {"benchmark": "census MMoE training, jit_compile off vs on",
               "settings": {k: v for k, v in vars(args).items()
                            if k != "output"},
               "rows": len(bundle.train), "runs": runs, "summary": summary,
               **environment.describe()}
    output = pathlib.Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    for target, text in ((output, json.dumps(content, indent=2)),
                         (output.with_suffix(".md"), markdown_table(summary))):
        atomic.write_text(target, text)
    print(markdown_table(summary))
    return content


if __name__ == "__main__":
    main()
