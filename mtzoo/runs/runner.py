"""A whole run: the steps in order, and the files a person reads."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import time

import numpy as np
import pandas as pd

from mtzoo import baselines as baselines_lib
from mtzoo import data as data_lib
from mtzoo import environment
from mtzoo import models
from mtzoo import reporting
from mtzoo.recipes import definitions
from mtzoo.atomic import atomic_path
from mtzoo.data import shards
from mtzoo.runs import companions
from mtzoo.runs import ensembles
from mtzoo.runs import steps
from mtzoo.runs import tuning
from mtzoo.runs.config import RunConfig
from mtzoo.runs.config import resolve
from mtzoo.training import relative_loss


def run(config: RunConfig) -> dict:
    """Trains and evaluates `config.model` on its recipe; writes the outputs.

    Writes to the output folder: `metrics.json`, `report.md`,
    `learning_curves.png`, `gate_utilization.png` (gated models),
    `tensorboard/`, `model.keras` and `export/<name>/<version>/`; returns
    what `metrics.json` holds, with `output_dir`.
    """
    from mtzoo.training import distribution

    recipe = definitions.get(config.recipe)
    requested = config
    config = resolve(config, recipe)
    # A multi-worker strategy must exist before TensorFlow runs anything.
    strategy = distribution.make_strategy(config.strategy)
    chief = distribution.is_chief(strategy)
    multi_worker = distribution.replicated_across_workers(strategy)
    name = recipe.run_name(config.options)
    # A search's winner is not known yet: its results go to `tuned`.
    identity = _identity(config.recipe, "tuned" if config.tune
                         else config.model, config.options)
    output = pathlib.Path(config.output_dir
                          or f"runs/{name}/{identity['model']}")
    _check_output(output, identity, config.overwrite)
    output.mkdir(parents=True, exist_ok=True)
    tuned, baselines, baseline_seconds = None, None, None
    kept = None  # the fitted baselines, and the numeric bins they read
    if config.tune:
        # Known before the search, which then aims to reach them on
        # every task.
        prepared = steps.prepare(recipe, config)
        baselines, kept, baseline_seconds = _timed_baselines(prepared,
                                                             config)
        tuned = tuning.search(
            recipe, config, config.tune, output,
            targets=baselines_lib.validation_targets(baselines),
            splits=prepared)
        config = dataclasses.replace(config, **{
            key: tuned[key] for key in ("model", "learning_rate",
                                        "hyperparameters",
                                        "piecewise_linear_bins")
            if key in tuned})

    splits = steps.prepare(recipe, config)
    _write_split(splits, output)
    trainer = steps.build(recipe, config, splits, strategy=strategy,
                          multi_worker=multi_worker)
    fitted = steps.fit(trainer, config, splits, output, write=chief)
    optimizer_steps = int(trainer.model.optimizer.iterations.numpy())
    summary_ = {"recipe": recipe.name, "model": config.model,
                "epochs_run": len(fitted.history.get("loss", [])),
                "optimizer_steps": optimizer_steps,
                "resumed_at_epoch": fitted.initial_epoch or None,
                "strategy": config.strategy}
    if not chief:
        distribution.wait_for_every_worker(strategy)
        return {**summary_, "chief": False, "output_dir": str(output)}
    model = trainer.model
    if multi_worker:
        # Evaluation, saving and export run on the chief alone, on a copy
        # whose variables are local rather than synchronized with workers.
        model = trainer.rebuild(config, splits)
        model.set_weights(trainer.model.get_weights())

    if baselines is None:
        baselines, kept, baseline_seconds = _timed_baselines(splits, config)
    network = model
    model, ensemble = _ensembled(model, config, tuned, splits, kept)
    batch_size = max(config.batch_size, 4096)
    test = steps.evaluate(model, splits, trainer.catalogues,
                          batch_size=batch_size)
    if (ensemble or {}).get("used"):
        alone = steps.evaluate(network, splits, {}, batch_size=batch_size)
        ensemble["network_alone_test"] = {
            task.name: alone["tasks"][task.name].get(task.primary_metric)
            for task in splits.tasks}
    beside = companions.measure(recipe, config, requested, test) \
        if config.baselines else {}
    plots = _plots(model, splits, fitted.history, config, output)
    saved = steps.save_and_export(
        model, splits, output, export_name=f"{name}_{config.model}",
        catalogues=trainer.catalogues, export=config.export)
    result = {**_result(config, trainer, fitted, splits, model, test),
              **summary_, "baselines": baselines,
              "baseline_seconds": baseline_seconds if baselines else None,
              "losses_to_baselines": baselines_lib.losses(
                  test["tasks"], baselines, splits.tasks,
                  model="ensemble" if (ensemble or {}).get("used")
                  else "network"),
              "companions": beside, "tuning": tuned, "ensemble": ensemble,
              "run": identity,
              "plots": [p.name for p in plots], **saved,
              **environment.describe()}
    (output / "report.md").write_text(
        reporting.markdown_report(result, splits.tasks))
    _write_json(output / "metrics.json", result)
    fitted.checkpoint.remove()
    if multi_worker:
        distribution.wait_for_every_worker(strategy)
    result["output_dir"] = str(output)
    return result


def _settings(config) -> dict:
    """What a searched model was trained with (as a trial records it)."""
    return {"model": config.model, "learning_rate": config.learning_rate,
            "hyperparameters": config.hyperparameters,
            "piecewise_linear_bins": config.piecewise_linear_bins}


def _timed_baselines(splits, config) -> tuple:
    """`(results, kept, seconds)`: the run's baselines (`steps.baselines`),
    the fitted models with the numeric bins their features had (or None)
    and the seconds they took."""
    if config.verbose and config.baselines:
        print("fitting the baselines (gradient boosting and a linear model "
              "per task)", flush=True)
    started = time.perf_counter()
    results, fitted = steps.baselines(splits, config)
    kept = (fitted, config.piecewise_linear_bins) if fitted else None
    return results, kept, round(time.perf_counter() - started, 2)


def _ensembled(model, config, tuned: dict | None, splits, kept) -> tuple:
    """`(model, record)`: with `config.ensemble`, the ensemble of the
    trained model, the search's other trials and the baselines
    (`mtzoo.runs.ensembles`); otherwise the model itself and None."""
    trials = tuned.pop("members") if tuned is not None else []
    if not config.ensemble or not ensembles.combinable(model, splits.tasks):
        return model, None
    winner = f"trial_{tuned['best_trial']}" if tuned else None
    others = [m for m in trials if m.name != winner]  # trained again: final
    if config.baselines:
        # Fitted on these features, or on a search's, which the winner's
        # numeric bins may have changed.
        fitted, bins = kept or (None, None)
        others += ensembles.baseline_members(
            splits, config.seed, config.piecewise_linear_bins,
            fitted=fitted if bins == config.piecewise_linear_bins else None)
    if not others:
        return model, None
    if config.verbose:
        print(f"combining the network with {len(others)} other models per "
              f"task on the validation split", flush=True)
    return ensembles.ensemble(
        ensembles.Member("final", model, _settings(config)), others, splits,
        seed=config.seed)


def _identity(recipe: str, model: str, options: dict) -> dict:
    """What makes two runs the same run (their results may replace each
    other's): recipe, model and options, config files by full path."""
    options = {k: str(pathlib.Path(v).resolve()) if k == "config" and v
               else v for k, v in options.items()}
    return json.loads(json.dumps({"recipe": recipe, "model": model,
                                  "options": options}, default=str))


def _check_output(output: pathlib.Path, mine: dict,
                  overwrite: bool) -> None:
    """Refuses to write over another run's results without `overwrite`."""
    previous = output / "metrics.json"
    if overwrite or not previous.is_file():
        return
    try:
        theirs = json.loads(previous.read_text()).get("run")
    except ValueError:
        return
    if theirs is not None and theirs != mine:
        raise ValueError(
            f"'{output}' holds the results of another run ({theirs}); this "
            f"run is {mine}. Give it its own --output-dir, or pass "
            f"--overwrite to replace them.")


def _write_split(splits, output: pathlib.Path) -> None:
    """`split.csv`: which rows of a table file went to which split (for
    frames that know their rows' places in their files), so baselines
    and other models can be trained on the same rows."""
    parts = [(name, getattr(splits, name)) for name in
             ("train", "validation", "test")]
    if any(shards.is_sharded(split) for _, split in parts):
        _write_json(output / "split.json", {
            name: shards.describe(split) for name, split in parts})
        return
    if not all(frame.attrs.get("mtzoo_index_is_line") for _, frame in parts):
        return
    rows = pd.concat([pd.DataFrame({
        "file": frame.attrs.get("mtzoo_source"),
        frame.attrs.get("mtzoo_line_word", "line"): frame.index,
        "split": name}) for name, frame in parts])
    with atomic_path(output / "split.csv") as temporary:
        rows.to_csv(temporary, index=False)


def _plots(model, splits, history, config, output) -> list:
    plots = [reporting.plot_learning_curves(
        history, splits.tasks, output / "learning_curves.png")]
    if config.weighting != "fixed":
        plots.append(reporting.plot_task_weights(
            history, splits.tasks, output / "task_weights.png"))
    if models.gate_layers(model):
        sample = shards.head(splits.test, 4096)
        gates = models.gate_weights(
            model, data_lib.model_inputs(sample, splits.features))
        plots.append(reporting.plot_gate_utilization(
            gates, output / "gate_utilization.png"))
    return plots


def _result(config, trainer, fitted, splits, model, test) -> dict:
    """The settings and measurements `metrics.json` records."""
    logs = fitted.history
    # What early stopping judged (runs checkpointed before it: val_loss).
    val_losses = logs.get(relative_loss.MONITOR) or logs.get("val_loss", [])
    return {
        "recipe": config.recipe,
        "model": config.model,
        "seed": config.seed,
        "options": _identity(config.recipe, config.model,
                             config.options)["options"],
        "hyperparameters": {k: list(v) if isinstance(v, tuple) else v
                            for k, v in trainer.hparams.items()},
        "learning_rate": config.learning_rate,
        "piecewise_linear_bins": config.piecewise_linear_bins,
        "weight_averaging": trainer.averaging.momentum,
        "weighting": trainer.model.weighting.describe(),
        "final_task_weights": {
            t.name: logs[f"{t.name}_weight"][-1] for t in splits.tasks
            if f"{t.name}_weight" in logs},
        "batch_size": config.batch_size,
        "patience": fitted.patience,
        "rows": {"train": len(splits.train),
                 "validation": len(splits.validation),
                 "test": len(splits.test)},
        # A split kept on disk is evaluated on an evenly spaced sample.
        "test_rows_evaluated": shards.rows_in_memory(splits.test,
                                                     steps.SAMPLE_ROWS),
        "best_epoch": int(np.argmin(val_losses)) + 1 if val_losses else None,
        "train_seconds": round(sum(fitted.timer.epoch_seconds), 2),
        "train_examples_per_s": fitted.timer.examples_per_second,
        "test": test,
        "primary_metrics": {t.name: t.primary_metric for t in splits.tasks},
        "history": logs,
    }


def _write_json(path: pathlib.Path, content: dict) -> None:
    with atomic_path(path) as temporary:
        pathlib.Path(temporary).write_text(
            json.dumps(content, indent=2, default=str))


def _primary(result: dict, task: str) -> str:
    """The primary metric of a task in `result` (as the report names it)."""
    return result["primary_metrics"][task]


def summary(result: dict) -> str:
    """A few lines for the terminal."""
    if result.get("chief") is False:
        return (f"{result['recipe']} / {result['model']}: worker finished "
                f"{result['epochs_run']} epochs, {result['optimizer_steps']} "
                f"optimizer steps; the chief writes the outputs")
    lines = [f"{result['recipe']} / {result['model']}: "
             f"{result['epochs_run']} epochs, "
             f"{result['train_examples_per_s']:,.0f} train examples/s"]
    for task, values in result["test"]["tasks"].items():
        shown = ", ".join(f"{k}={v:.4f}" for k, v in values.items()
                          if isinstance(v, float) and (k in (
                              "auc", "log_loss", "rmse", "mae", "accuracy",
                              "macro_f1", _primary(result, task))
                              or k.startswith(("recall_at_", "ndcg_at_10"))))
        lines.append(f"  {task}: {shown}")
    if result["test"]["combined_score"] is not None:
        lines.append(f"  combined score: "
                     f"{result['test']['combined_score']:.4f}")
    for task, entry in result.get("baselines", {}).items():
        shown = ", ".join(
            f"{name.replace('_', ' ')} {values.get(metric):.4f}"
            for name, values in entry.items()
            for metric in [_primary(result, task)]
            if isinstance(values.get(metric), float))
        if shown:
            lines.append(f"  {task} baselines ({_primary(result, task)}): "
                         f"{shown}")
    if (result.get("ensemble") or {}).get("used"):
        lines.append("  ensemble of " + ", ".join(
            result["ensemble"]["members"]) + " (weights per task in "
            "metrics.json)")
    lines += [f"  below a baseline: {line}"
              for line in result.get("losses_to_baselines", [])]
    lines += companions.summary_lines(result.get("companions") or {})
    lines.append(f"outputs: {result['output_dir']}")
    return "\n".join(lines)
