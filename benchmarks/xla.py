"""Training with and without XLA (`jit_compile`), census MMoE on CPU.

The model trains on encoded ids and floats (lookups ran once, in the input
pipeline), so its step holds only numeric ops that XLA can compile. For each
repeat, the same model is trained once with `jit_compile=False` and once with
`jit_compile=True` in this process, alternating which goes first; the JSON
keeps every timed epoch and the median ratio of the paired runs. What each
costs in memory is measured apart: a fresh process per setting loads and
encodes the data, trains one epoch, and reports its peak resident memory
before and after training (compiling the step is what XLA adds).

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


def load(args):
    """`(bundle, train)`: census and its encoded, shuffled training rows."""
    bundle = mtzoo.data.census_income(args.data_dir, max_rows=args.max_rows,
                                      **PLAIN_NUMBERS)
    train = mtzoo.data.from_dataframe(
        bundle.train, bundle.features, bundle.tasks,
        batch_size=args.batch_size, shuffle=True, seed=0)
    return bundle, train


def memory_child(jit_compile: bool, args) -> dict:
    """Peak resident memory (MB) of this process once the data is encoded,
    and after one epoch of training."""
    bundle, train = load(args)
    before = common.peak_rss_mb()
    training_rate(bundle, train, jit_compile=jit_compile, epochs=1,
                  steps_per_execution=args.steps_per_execution, seed=0)
    return {"peak_rss_mb_before_training": before,
            "peak_rss_mb": common.peak_rss_mb()}


def memory_in_subprocess(jit_compile: bool, args) -> dict:
    """`memory_child` in a fresh process, so the two do not add up."""
    output = common.run_script(
        __file__, ["--memory-child", "on" if jit_compile else "off",
                   "--batch-size", str(args.batch_size),
                   "--steps-per-execution", str(args.steps_per_execution)],
        args, "memory child")
    return json.loads(output.strip().splitlines()[-1])


def markdown_table(summary: dict) -> str:
    """The README's table."""
    lines = ["| `jit_compile` | train examples/s (median) | ratio to off "
             "| peak RSS before training (MB) | peak RSS after training "
             "(MB) |", "|---|---|---|---|---|"]
    for label in ("off", "on"):
        entry = summary[label]
        lines.append(f"| {label} | {entry['train_examples_per_s']:,.0f} | "
                     f"{entry['ratio_to_off']:.2f}x | "
                     f"{entry['peak_rss_mb_before_training']:,.0f} | "
                     f"{entry['peak_rss_mb']:,.0f} |")
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
    parser.add_argument("--memory-child", choices=["on", "off"],
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child == "on", args)))
        return {}

    memory = {label: memory_in_subprocess(label == "on", args)
              for label in ("off", "on")}
    bundle, train = load(args)
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
                "ratio_to_off": 1.0, **memory["off"]},
        "on": {"train_examples_per_s": statistics.median(rates[True]),
               "ratio_to_off": statistics.median(ratios), **memory["on"]},
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
