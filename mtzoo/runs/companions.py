"""Runs trained beside a run to put its results in context: the same
recipe with some options changed (MovieLens `--history N`: the same model
without the history, which gives the history's lift, and the next movie
from the history alone). Their test metrics go into the run's
`metrics.json` (`companions`), report and summary."""

from __future__ import annotations

import dataclasses
import pathlib
import tempfile

from mtzoo import reporting
from mtzoo.runs import steps


def measure(recipe, config, unresolved, main_test: dict) -> dict:
    """`{label: {"options", "tasks", "lift"}}` for each companion run the
    recipe names for `config.options`: its options, its test metrics per
    task, and for the tasks it shares with the run, how much higher the
    run's primary metric is (primary metrics are higher-is-better)."""
    from mtzoo.runs.config import resolve

    measured = {}
    for label, changes in recipe.companion_options(config.options).items():
        options = {**config.options, **changes}
        # A mode whose options choose the architecture gets it, not the
        # run's (a run's other settings it gave itself still apply).
        model = None if "model" in recipe.config_settings(options) \
            else unresolved.model
        companion = resolve(dataclasses.replace(
            unresolved, options=options, model=model, tune=0, resume=False,
            output_dir=None), recipe)
        splits = steps.prepare(recipe, companion)
        trainer = steps.build(recipe, companion, splits)
        with tempfile.TemporaryDirectory() as folder:
            steps.fit(trainer, companion, splits, pathlib.Path(folder),
                      write=False)
        test = steps.evaluate(trainer.model, splits, trainer.catalogues)
        measured[label] = {
            "options": changes, "tasks": test["tasks"],
            "lift": _lift(main_test["tasks"], test["tasks"], splits.tasks)}
    return measured


def _lift(main: dict, theirs: dict, tasks) -> dict:
    lift = {}
    for task in tasks:
        metric = task.primary_metric
        if task.name not in main or metric not in main[task.name]:
            continue
        lift[task.name] = {"metric": metric, "lift": round(
            main[task.name][metric] - theirs[task.name][metric], 6)}
    return lift


def summary_lines(measured: dict) -> list[str]:
    """A line per companion run for the console summary."""
    lines = []
    for label, entry in measured.items():
        lifts = ", ".join(f"{task} {lift['metric']} {lift['lift']:+.4f}"
                          for task, lift in entry["lift"].items())
        tasks = "; ".join(f"{task}: {reporting.shown_metrics(values)}"
                          for task, values in entry["tasks"].items())
        lines.append(f"  {label}: {tasks}" + (
            f" (this run's lift: {lifts})" if lifts else ""))
    return lines

