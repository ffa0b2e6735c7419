"""The MMoE paper's synthetic experiment, measured the way the paper did.

Ma et al. (KDD 2018), sections 3.2-3.3 and Figures 4-5: two regression
tasks whose label functions have a chosen correlation p
(`mtzoo.data.synthetic.task_correlation`: d = 100, orthonormal u1, u2,
w1 = c u1, w2 = c (p u1 + sqrt(1 - p^2) u2),
y_k = w_k.x + sum_{i=1..m} sin(alpha_i w_k.x + beta_i) + noise). The paper
does not publish alpha and beta; this script uses the setting a public
reproduction chose: m = 10, alpha_i = i, beta_i = (i - 1)^2, c = 1, noise
standard deviation 0.01.

Models as in the paper, of about equal size: shared-bottom with one hidden
layer of 113 units, OMoE and MMoE with 8 experts of 16 ReLU units; towers of
8 units everywhere. Adam, with each model's learning rate picked from
{1e-4, 1e-3, 1e-2} by the lowest final training loss of a pilot (3 runs at
correlation 0.9). Each run draws fresh data and a fresh initialization; the
figure is the training loss per step averaged over the runs (at least 20 per
model and correlation) at correlations 1.0, 0.9 and 0.5, beside the
histogram of the runs' final training losses, as the paper plots them.

Writes `benchmarks/results/mmoe_paper.json`, `.md` (final training loss
mean, median and standard deviation per model and correlation) and `.png`.

    python benchmarks/mmoe_paper.py
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import statistics
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
MODELS = {
    "shared_bottom": {"bottom_units": [113], "tower_units": [8]},
    "omoe": {"num_experts": 8, "expert_units": [16], "tower_units": [8]},
    "mmoe": {"num_experts": 8, "expert_units": [16], "tower_units": [8]},
}
LEARNING_RATES = (1e-4, 1e-3, 1e-2)
CORRELATIONS = (1.0, 0.9, 0.5)
NUM_SINUSOIDS = 10
ALPHAS = tuple(float(i) for i in range(1, NUM_SINUSOIDS + 1))
BETAS = tuple(float((i - 1) ** 2) for i in range(1, NUM_SINUSOIDS + 1))
NOISE_STD = 0.01
# Losses are recorded every this many steps (Keras reports the running
# mean of the epoch after each execution of this many steps).
STEPS_PER_RECORD = 10


def training_curve(model_name: str, correlation: float, run: int, *,
                   learning_rate: float, rows: int, epochs: int,
                   batch_size: int) -> list[float]:
    """The training loss (sum of both tasks' MSE) per `STEPS_PER_RECORD`
    steps of one run on fresh data."""
    import keras

    from mtzoo import data
    from mtzoo import models
    from mtzoo.data import synthetic

    frame = synthetic.task_correlation(
        rows, correlation=correlation, num_sinusoids=NUM_SINUSOIDS,
        alphas=ALPHAS, betas=BETAS, noise_std=NOISE_STD,
        seed=1_000 * run + int(round(correlation * 100)))
    features, tasks = synthetic.task_correlation_specs()
    keras.backend.clear_session()
    keras.utils.set_random_seed(run)
    model = models.build(model_name, features, tasks, **MODELS[model_name])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  steps_per_execution=STEPS_PER_RECORD)
    losses = []

    class Recorder(keras.callbacks.Callback):
        """Turns each epoch's running mean into the mean of the last
        `STEPS_PER_RECORD` steps."""

        def on_epoch_begin(self, epoch, logs=None):
            self.previous = (0, 0.0)

        def on_train_batch_end(self, batch, logs=None):
            steps, total = batch + 1, logs["loss"] * (batch + 1)
            done, before = self.previous
            losses.append((total - before) / (steps - done))
            self.previous = (steps, total)

    model.fit(data.from_dataframe(frame, features, tasks,
                                  batch_size=batch_size, shuffle=True,
                                  seed=run, drop_remainder=True),
              epochs=epochs, callbacks=[Recorder()], verbose=0)
    return [float(v) for v in losses]


def final_loss(curve: list[float], last: int = 10) -> float:
    """Mean of the last `last` recorded losses (the end of training)."""
    return float(np.mean(curve[-last:]))


def pick_learning_rates(args) -> dict:
    """Per model, the rate with the lowest mean final loss in a pilot."""
    pilot = {}
    for model_name in args.models:
        pilot[model_name] = {}
        for rate in LEARNING_RATES:
            finals = [final_loss(training_curve(
                model_name, 0.9, 10_000 + run, learning_rate=rate,
                rows=args.rows, epochs=args.epochs,
                batch_size=args.batch_size)) for run in range(3)]
            pilot[model_name][str(rate)] = statistics.mean(finals)
    return pilot


def summarize(runs: dict) -> dict:
    summary = {}
    for key, curves in runs.items():
        finals = [final_loss(c) for c in curves]
        summary[key] = {"final_loss_mean": statistics.mean(finals),
                        "final_loss_median": statistics.median(finals),
                        "final_loss_std": statistics.stdev(finals),
                        "runs": len(finals)}
    return summary


def markdown_table(summary: dict, learning_rates: dict) -> str:
    """Final training loss per model (rows) and correlation (columns)."""
    models_ = list(dict.fromkeys(k.split("@")[0] for k in summary))
    correlations = list(dict.fromkeys(k.split("@")[1] for k in summary))
    lines = ["| model (learning rate) | " + " | ".join(
        f"correlation {c}: mean / median +- std" for c in correlations)
        + " |", "|---|" + "---|" * len(correlations)]
    for name in models_:
        cells = []
        for c in correlations:
            entry = summary[f"{name}@{c}"]
            cells.append(f"{entry['final_loss_mean']:.3f} / "
                         f"{entry['final_loss_median']:.3f} +- "
                         f"{entry['final_loss_std']:.3f}")
        lines.append(f"| `{name}` ({learning_rates[name]:g}) | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(runs: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    correlations = list(dict.fromkeys(k.split("@")[1] for k in runs))
    models_ = list(dict.fromkeys(k.split("@")[0] for k in runs))
    figure, axes = pyplot.subplots(2, len(correlations),
                                   figsize=(5 * len(correlations), 8))
    for column, correlation in enumerate(correlations):
        top, bottom = axes[0][column], axes[1][column]
        finals = []
        for name in models_:
            curves = np.array(runs[f"{name}@{correlation}"])
            steps = np.arange(1, curves.shape[1] + 1) * STEPS_PER_RECORD
            top.plot(steps, curves.mean(axis=0), label=name)
            finals.append([final_loss(c) for c in curves])
        top.set_yscale("log")
        top.set_title(f"correlation {correlation}")
        top.set_xlabel("step")
        top.set_ylabel("average training loss")
        top.legend()
        bins = np.histogram_bin_edges(np.concatenate(finals), bins=20)
        for name, values in zip(models_, finals):
            bottom.hist(values, bins=bins, alpha=0.5, label=name)
        bottom.set_xlabel("final training loss")
        bottom.set_ylabel("runs")
        bottom.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    pyplot.close(figure)


def main(argv=None) -> dict:
    from mtzoo import environment

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--correlations", type=float, nargs="+",
                        default=list(CORRELATIONS))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rows", type=int, default=10_000,
                        help="fresh training examples per run")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--output", default=str(RESULTS / "mmoe_paper.json"))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    pilot = pick_learning_rates(args)
    learning_rates = {name: float(min(rates, key=rates.get))
                      for name, rates in pilot.items()}
    runs = {}
    for correlation in args.correlations:
        for name in args.models:
            runs[f"{name}@{correlation}"] = [
                training_curve(name, correlation, run,
                               learning_rate=learning_rates[name],
                               rows=args.rows, epochs=args.epochs,
                               batch_size=args.batch_size)
                for run in range(args.runs)]
    summary = summarize(runs)
    output = pathlib.Path(args.output)
    plot(runs, output.with_suffix(".png"))
    content = {
        "benchmark": "MMoE paper synthetic experiment",
        "settings": {"input_dim": 100, "num_sinusoids": NUM_SINUSOIDS,
                     "alphas": ALPHAS, "betas": BETAS, "scale": 1.0,
                     "noise_std": NOISE_STD, "rows": args.rows,
                     "epochs": args.epochs, "batch_size": args.batch_size,
                     "runs": args.runs, "models": MODELS,
                     "steps_per_record": STEPS_PER_RECORD},
        "learning_rate_pilot": pilot, "learning_rates": learning_rates,
        "summary": summary, "curves": runs,
        "seconds": round(time.perf_counter() - start, 1),
        **environment.describe()}
    common.write_results(output, content,
                         markdown_table(summary, learning_rates))
    return summary


if __name__ == "__main__":
    main()
