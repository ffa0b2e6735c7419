"""Reports a person reads: a Markdown summary and PNG plots."""

from __future__ import annotations

import pathlib

import numpy as np


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _by_kind(tasks) -> dict:
    """Tasks grouped by kind, in the order kinds first appear."""
    groups = {}
    for task in tasks:
        groups.setdefault(task.kind, []).append(task)
    return groups


def _baselines_section(result: dict) -> list[str]:
    """The network beside each task's baselines, on its primary metric."""
    baselines = result.get("baselines") or {}
    if not baselines:
        return []
    names = list(dict.fromkeys(n for entry in baselines.values()
                               for n in entry))
    trained_on = {entry[name]["train_rows"] for entry in baselines.values()
                  for name in entry if "train_rows" in entry[name]}
    rows = (f" ({max(trained_on):,} of them, sampled)" if trained_on
            and max(trained_on) < result["rows"]["train"] else "")
    lines = ["", "## Baselines", "",
             f"Fitted per task on the run's training rows{rows}, chosen on "
             f"its validation rows and scored on its test rows with the "
             f"task's metrics ({result.get('baseline_seconds') or 0:.0f} s "
             f"in all).", "",
             "| task | metric | network | "
             + " | ".join(n.replace("_", " ") for n in names) + " |",
             "|---" * (len(names) + 3) + "|"]
    for task, entry in baselines.items():
        metric = result["primary_metrics"][task]
        network = result["test"]["tasks"].get(task, {}).get(metric)
        lines.append(f"| {task} | {metric} | {_fmt(network)} | " + " | ".join(
            _fmt(entry.get(n, {}).get(metric)) for n in names) + " |")
    losses = result.get("losses_to_baselines") or []
    if losses:
        lines += ["", "Below a baseline:", ""] + [f"- {line}"
                                                   for line in losses]
    return lines


#: The metrics a one-line view of a task shows.
_SHOWN = ("auc", "rmse", "accuracy", "macro_f1", "recall_at_10",
          "ndcg_at_10", "recall_at_100")


def shown_metrics(values: dict) -> str:
    """A task's main metrics on one line."""
    return ", ".join(f"{name} {value:.4f}" for name, value in values.items()
                     if isinstance(value, float) and name in _SHOWN)


def _companions_section(measured: dict) -> list[str]:
    """The report's section on companion runs (Markdown lines)."""
    if not measured:
        return []
    lines = ["", "## Beside this run", "",
             "The same recipe trained with some options changed, scored on "
             "its own test rows; lift: this run's primary metric less the "
             "companion's, on the tasks both have.", "",
             "| run | options | task | metrics | lift |",
             "|---|---|---|---|---|"]
    for label, entry in measured.items():
        options = ", ".join(f"{k}={v}" for k, v in entry["options"].items())
        for task, values in entry["tasks"].items():
            lift = entry["lift"].get(task)
            lines.append(
                f"| {label} | {options} | {task} | {shown_metrics(values)} | "
                + (f"{lift['metric']} {lift['lift']:+.4f}" if lift else "")
                + " |")
    return lines


def _ensemble_section(ensemble: dict | None) -> list[str]:
    """The report's section on the ensemble of the network, its baselines
    and a search's other models (Markdown lines)."""
    if not ensemble:
        return []
    lines = ["", "## Ensemble", "",
             f"Chosen per task on the validation split among "
             f"{ensemble['candidates']} trained models (`final` is the "
             f"network; `--no-ensemble` keeps it alone) "
             + ("(the test metrics above are the ensemble's)."
                if ensemble["used"] else
                "; no task scored better than with the network alone, "
                "which is the model saved."), ""]
    bags = {task: scores["bags"] for task, scores
            in ensemble["validation"].items() if scores.get("bags")}
    if bags:
        lines += [f"The table is split by time: {', '.join(bags)} took the "
                  f"mean of {max(bags.values())} selections, each among a "
                  f"random half of the models (bagged ensemble "
                  f"selection).", ""]
    lines += ["| task | members (weight) | validation: best model | "
              "validation: ensemble | test: network alone |",
              "|---|---|---|---|---|"]
    alone = ensemble.get("network_alone_test", {})
    # Chosen by the worse half of the validation rows; shown over all.
    for task, weights in ensemble["weights"].items():
        scores = ensemble["validation"].get(task, {})
        members = ", ".join(f"{name} ({weight:g})"
                            for name, weight in weights.items())
        lines.append(f"| {task} | {members} | "
                     f"{_fmt(scores.get('best_single'))} | "
                     f"{_fmt(scores.get('ensemble'))} | "
                     f"{_fmt(alone.get(task))} |")
    return lines


def markdown_report(result: dict, tasks) -> str:
    """The report of a recipe run (see `mtzoo.runs.run`) as Markdown."""
    lines = [
        f"# {result['recipe']} / {result['model']}",
        "",
        f"- seed: {result['seed']}; epochs run: {result['epochs_run']} "
        f"(best: {result.get('best_epoch', 'n/a')}); task weighting: "
        f"{result.get('weighting', {}).get('name', 'fixed')}",
        f"- train rows: {result['rows']['train']:,}; validation: "
        f"{result['rows']['validation']:,}; test: {result['rows']['test']:,}",
        f"- training throughput: "
        f"{result.get('train_examples_per_s', 0):,.0f} examples/s",
        f"- hardware: {result['hardware']['processor']}, "
        f"{result['hardware']['cpu_count']} CPUs; TensorFlow "
        f"{result['versions']['tensorflow']}, Keras "
        f"{result['versions']['keras']}",
        "",
        f"## Test set (combined score: "
        f"{_fmt(result['test']['combined_score'])})",
        "",
        "The combined score is the task-weighted mean of AUC (binary), skill "
        "= 1 - RMSE / RMSE of the mean (regression), accuracy "
        "(multiclass) and recall at the largest k over the whole catalogue "
        "(retrieval).",
    ]
    for kind, kind_tasks in _by_kind(tasks).items():
        columns = list(dict.fromkeys(
            column for t in kind_tasks for column in t.report_metrics(
                result["test"]["tasks"][t.name])))
        lines += ["", f"### {kind} tasks", "",
                  "| task | weight | examples | " + " | ".join(columns)
                  + " |",
                  "|---" * (len(columns) + 3) + "|"]
        for task in kind_tasks:
            values = result["test"]["tasks"][task.name]
            lines.append(
                f"| {task.name} | {task.weight:g} | "
                f"{values.get('examples', 0):,} | "
                + " | ".join(_fmt(values.get(c)) for c in columns) + " |")
        notes = [f"- {t.name}: {n}" for t in kind_tasks
                 for n in result["test"]["tasks"][t.name].get("notes", [])]
        lines += [""] + notes if notes else []
    lines += _baselines_section(result)
    lines += _ensemble_section(result.get("ensemble"))
    lines += _companions_section(result.get("companions") or {})
    plots = result.get("plots", [])
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{pathlib.Path(p).stem}]({pathlib.Path(p).name})"
                  for p in plots]
    lines += ["", "## Files", "",
              "- `metrics.json`: everything above, machine-readable",
              "- `model.keras`: the Keras model (load with "
              "`mtzoo.models.load_model`)",
              f"- `{result.get('saved_model', 'export/')}`: the SavedModel "
              "for TF Serving", "- `tensorboard/`: training logs", ""]
    return "\n".join(lines)


def _whole_numbers():
    """Ticks at whole epochs only."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_learning_curves(history: dict, tasks, path) -> pathlib.Path:
    """One panel per task: training and validation loss by epoch."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.2),
                                squeeze=False)
    for axis, task in zip(axes[0], tasks):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = history.get(f"{prefix}{task.name}_loss")
            if values:
                epochs = np.arange(1, len(values) + 1)
                axis.plot(epochs, values, style,
                          label="validation" if prefix else "train")
        axis.set_title(f"{task.name} ({task.kind})")
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(_whole_numbers())
        # Regression losses are computed on standardized labels.
        axis.set_ylabel("loss (standardized labels)"
                        if task.label_scaling is not None else "loss")
        axis.legend()
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return pathlib.Path(path)


def plot_task_weights(history: dict, tasks, path) -> pathlib.Path:
    """Each task's loss weight at the end of every epoch."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6, 3.2))
    for task in tasks:
        values = history.get(f"{task.name}_weight")
        if values:
            axis.plot(np.arange(1, len(values) + 1), values, marker="o",
                      label=task.name)
    axis.set_xlabel("epoch")
    axis.xaxis.set_major_locator(_whole_numbers())
    axis.set_ylabel("loss weight")
    axis.set_title("Task weights during training")
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return pathlib.Path(path)


def plot_gate_utilization(weights: dict, path) -> pathlib.Path:
    """Mean weight of each expert under each gate, as a heatmap per gate
    size (PLE levels mix different expert counts).

    Args:
        weights: gate name -> weights of shape `(batch, experts)` or
            `(batch, heads, experts)` (as from `mtzoo.models.gate_weights`).
    """
    plt = _pyplot()
    by_size = {}
    for name, values in weights.items():
        values = np.asarray(values)
        mean = values.reshape(-1, values.shape[-1]).mean(axis=0)
        by_size.setdefault(values.shape[-1], []).append((name, mean))
    figure, axes = plt.subplots(
        1, len(by_size), figsize=(5 * len(by_size), 0.6 * max(
            len(v) for v in by_size.values()) + 1.6), squeeze=False)
    for axis, (size, rows) in zip(axes[0], sorted(by_size.items())):
        matrix = np.stack([m for _, m in rows])
        image = axis.imshow(matrix, aspect="auto", cmap="viridis", vmin=0)
        axis.set_yticks(range(len(rows)), [n for n, _ in rows])
        axis.set_xticks(range(size))
        axis.set_xlabel("expert")
        for (i, j), value in np.ndenumerate(matrix):
            axis.text(j, i, f"{value:.2f}", ha="center", va="center",
                      color="white" if value < matrix.max() / 2 else "black",
                      fontsize=7)
        figure.colorbar(image, ax=axis, label="mean gate weight")
    figure.suptitle("Expert utilization per gate (test set)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return pathlib.Path(path)
