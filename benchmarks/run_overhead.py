"""What a run pays besides training: answering the command line, choosing
an ensemble's mixtures, and predicting a split.

- The command line: `mtzoo train census_income --help` and a mistyped flag,
  each in a fresh process (median wall time), beside `import tensorflow`
  alone (what the command paid before its flags were read without it).
- Ensemble selection (`mtzoo.runs.ensembles.select`): three tasks (binary,
  regression, 8 classes), six candidate models, scored by each task's
  primary metric alone (`Task.primary_score`, what runs do) and by every
  metric of `Task.evaluate` (what they did), on 1,000 and 10,000
  validation rows.
- Predicting a frame with a freshly built and compiled synthetic-recipe
  MMoE (the first call, as a run makes it for each model), its steps
  compiled with XLA (a run's model) and without (a search's trials, an
  ensemble's candidates): eagerly, batch by batch of 4,096 rows, and
  through `Model.predict` (a traced step); runs call the frames of
  `mtzoo.runs.steps.EAGER_BATCHES` batches or fewer eagerly.
- A new model's first training step (tracing the step, and compiling it
  with XLA where a run does), with `keras.optimizers.Adam` and with the
  recipes' `mtzoo.training.LazyAdam` (dense variables by one fused
  operation each).

Medians of `--repeats` runs. Writes `results/run_overhead.json` and `.md`.

    python benchmarks/run_overhead.py [--repeats 3]
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

PREDICT_ROWS = (6_000, 20_000, 60_000, 250_000)
SELECT_ROWS = (1_000, 10_000)


def _command_seconds(arguments: list[str], repeats: int) -> float:
    return common.median_seconds(lambda: subprocess.run(
        [sys.executable, *arguments], capture_output=True, check=False),
        repeats)


def command_line(repeats: int) -> dict:
    train = ["-m", "mtzoo.cli", "train", "census_income"]
    return {
        "help_s": _command_seconds([*train, "--help"], repeats),
        "mistyped_flag_s": _command_seconds([*train, "--epochz", "3"],
                                            repeats),
        "import_tensorflow_s": _command_seconds(
            ["-c", "import tensorflow"], repeats)}


class _EveryMetric:
    """A task scored by every metric of its `evaluate`, as selection did
    before `primary_score`."""

    def __init__(self, task):
        self.task = task

    def __getattr__(self, name):
        return getattr(self.task, name)

    def primary_score(self, labels, predictions, weights):
        return self.task.evaluate(labels, predictions, weights).get(
            self.task.primary_metric)


def selection(rows: int, repeats: int) -> dict:
    import numpy as np

    from mtzoo import tasks as tasks_lib
    from mtzoo.runs import ensembles

    rng = np.random.default_rng(0)
    tasks = [tasks_lib.binary("click"), tasks_lib.regression("watch"),
             tasks_lib.multiclass("interest", num_classes=8)]
    labels = {"click": (rng.random((rows, 1)) < 0.3).astype(float),
              "watch": rng.normal(size=(rows, 1)),
              "interest": rng.integers(0, 8, (rows, 1)).astype(float)}
    weights = {task.name: np.ones(rows) for task in tasks}
    hits = np.eye(8)[labels["interest"][:, 0].astype(int)]

    def candidate():
        return {"click": labels["click"] * 0.2 + rng.random((rows, 1)) * 0.8,
                "watch": labels["watch"] * 0.3 + rng.normal(size=(rows, 1)),
                "interest": rng.dirichlet(np.ones(8), rows) + hits * 0.2}

    candidates = [candidate() for _ in range(6)]
    chosen = {}

    def select(scored):
        chosen[scored is tasks] = ensembles.select(candidates, labels,
                                                   weights, scored)

    every = [_EveryMetric(task) for task in tasks]
    return {"rows": rows,
            "primary_score_s": common.median_seconds(
                lambda: select(tasks), repeats),
            "every_metric_s": common.median_seconds(
                lambda: select(every), repeats),
            "same_choice": chosen[True] == chosen[False]}


def prediction(rows: int, repeats: int) -> list[dict]:
    import keras

    import mtzoo
    from mtzoo.data import synthetic
    from mtzoo.models.batched_call import call_in_batches

    frame = synthetic.impressions(rows, seed=0)
    features = mtzoo.features.adapt(synthetic.impression_features(), frame)
    tasks = mtzoo.tasks.adapt(synthetic.impression_tasks(), frame)

    def fresh_model(xla):
        keras.utils.set_random_seed(0)
        # The synthetic recipe's defaults, compiled as a run compiles them.
        model = mtzoo.models.mmoe(features, tasks, dot_interaction=32,
                                  dropout=0.3)
        model.compile(optimizer="adam", jit_compile=xla)
        return model

    def batches():
        return mtzoo.data.from_dataframe(frame, features, batch_size=4096)

    return [{"rows": rows, "xla": xla,
             "eager_s": common.median_seconds(
                 lambda: call_in_batches(fresh_model(xla), batches()),
                 repeats),
             "predict_s": common.median_seconds(
                 lambda: fresh_model(xla).predict(batches(), verbose=0),
                 repeats)}
            for xla in (True, False)]


def first_step(repeats: int) -> list[dict]:
    import keras

    import mtzoo
    from mtzoo.data import synthetic
    from mtzoo.training import LazyAdam

    frame = synthetic.impressions(2_048, seed=0)
    features = mtzoo.features.adapt(synthetic.impression_features(), frame)
    tasks = mtzoo.tasks.adapt(synthetic.impression_tasks(), frame)
    batch = mtzoo.data.from_dataframe(frame, features, tasks,
                                      batch_size=2_048)

    def one_step(optimizer, xla):
        keras.utils.set_random_seed(0)
        model = mtzoo.models.mmoe(features, tasks, dot_interaction=32,
                                  dropout=0.3)
        model.compile(optimizer=optimizer(1e-3), jit_compile=xla)
        model.fit(batch, epochs=1, verbose=0)

    return [{"xla": xla, **{
        f"{name}_s": common.median_seconds(
            lambda: one_step(optimizer, xla), repeats)
        for name, optimizer in (("keras_adam", keras.optimizers.Adam),
                                ("lazy_adam", LazyAdam))}}
        for xla in (False, True)]


def _compiled(entry: dict) -> str:
    return "with XLA" if entry["xla"] else "without XLA"


def markdown_table(summary: dict) -> str:
    cli = summary["command_line"]
    lines = ["| what | seconds |", "|---|---|",
             f"| `mtzoo train census_income --help` | {cli['help_s']:.2f} |",
             f"| `mtzoo train census_income --epochz 3` (an error) | "
             f"{cli['mistyped_flag_s']:.2f} |",
             f"| `python -c 'import tensorflow'` | "
             f"{cli['import_tensorflow_s']:.2f} |", "",
             "| ensemble selection, validation rows | primary metric alone "
             "(s) | every metric (s) | speed-up | same choice |",
             "|---|---|---|---|---|"]
    for entry in summary["selection"]:
        lines.append(
            f"| {entry['rows']:,} | {entry['primary_score_s']:.2f} | "
            f"{entry['every_metric_s']:.2f} | "
            f"{entry['every_metric_s'] / entry['primary_score_s']:.1f}x | "
            f"{entry['same_choice']} |")
    lines += ["", "| a new model predicts, rows | its steps compiled | "
              "eagerly (s) | `Model.predict` (s) |", "|---|---|---|---|"]
    lines += [f"| {entry['rows']:,} | {_compiled(entry)} | "
              f"{entry['eager_s']:.2f} | {entry['predict_s']:.2f} |"
              for entry in summary["prediction"]]
    lines += ["", "| a new model's first training step | `keras.optimizers"
              ".Adam` (s) | `mtzoo.training.LazyAdam` (s) |", "|---|---|---|"]
    lines += [f"| {_compiled(entry)} | {entry['keras_adam_s']:.2f} | "
              f"{entry['lazy_adam_s']:.2f} |"
              for entry in summary["first_step"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = common.parser(__doc__, "run_overhead.json", repeats=3)
    args = parser.parse_args()
    summary = {
        "command_line": command_line(args.repeats),
        "selection": [selection(rows, args.repeats)
                      for rows in SELECT_ROWS],
        "prediction": [entry for rows in PREDICT_ROWS
                       for entry in prediction(rows, args.repeats)],
        "first_step": first_step(args.repeats)}
    common.write_results(args.output, {
        "benchmark": "run_overhead", "repeats": args.repeats,
        "summary": summary}, markdown_table(summary))


if __name__ == "__main__":
    main()
