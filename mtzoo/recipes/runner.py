"""Runs a recipe: train, evaluate on the test set, report, save, export."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import statistics
import sys
import time

import keras
import numpy as np

from mtzoo import data as data_lib
from mtzoo import environment
from mtzoo import evaluation
from mtzoo import export as export_lib
from mtzoo import models
from mtzoo import reporting
from mtzoo import retrieval
from mtzoo import tasks as tasks_lib
from mtzoo.atomic import atomic_path
from mtzoo.models import registry
from mtzoo.recipes import definitions
from mtzoo.training import weighting as weighting_lib
from mtzoo.training import distribution
from mtzoo.training.callbacks import StopOnNonFiniteLoss
from mtzoo.training.checkpoint import TrainingCheckpoint

# Set by the recipe, not by the user: the model name and ESMM's task names.
_SKIPPED = {"name", "ctr_task", "ctcvr_task", "cvr_output"}


def _hyperparameter_table() -> dict[str, tuple]:
    """Every builder keyword: (default kind, architectures taking it)."""
    table = {}
    for arch in registry.available():
        for name, default in registry.hyperparameters(arch).items():
            if name in _SKIPPED:
                continue
            kind, users = table.get(name, (default, []))
            table[name] = (kind, users + [arch])
    return table


def _int_list(text: str) -> list[int]:
    text = text.strip()
    if not text:
        return []
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 64,32; got "
            f"{text!r}") from None


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false; got {text!r}")


def _momentum(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(
            f"expected a momentum in [0, 1) such as 0.99; got {text!r}")
    return value


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except the None of flags whose help says it."""

    def _get_help_string(self, action):
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def build_parser(recipe) -> argparse.ArgumentParser:
    """The recipe's command-line flags, with explanations."""
    parser = argparse.ArgumentParser(
        prog=f"mtzoo train {recipe.name}",
        description=f"{recipe.description} Trains with early stopping on a "
                    f"validation split, reports per-task metrics on the test "
                    f"set, saves model.keras and exports a SavedModel.",
        formatter_class=_HelpFormatter)
    parser.add_argument("--model", default=recipe.default_model,
                        choices=list(recipe.architectures),
                        help="architecture (see `mtzoo models`)")
    parser.add_argument("--epochs", type=int, default=recipe.epochs,
                        help="maximum epochs; early stopping usually ends "
                             "sooner")
    parser.add_argument("--patience", type=int, default=2,
                        help="epochs without validation improvement before "
                             "stopping (best weights are restored)")
    parser.add_argument("--batch-size", type=int, default=recipe.batch_size,
                        help="examples per training step")
    parser.add_argument("--learning-rate", type=float,
                        default=recipe.learning_rate, help="Adam")
    parser.add_argument("--weight-averaging", type=_momentum,
                        default=recipe.weight_averaging, metavar="MOMENTUM",
                        help="validate, early-stop, save and export an "
                             "exponential moving average of the weights "
                             "with this momentum (e.g. 0.99; lowered on "
                             "small data so the average spans at most two "
                             "epochs); 0 keeps the trained weights")
    parser.add_argument("--jit-compile", default="on", choices=["on", "off"],
                        help="compile the training step with XLA (about "
                             "1.4x faster on CPU, benchmarks/results/"
                             "xla.json); used on one device with fixed, "
                             "uncertainty or dwa weighting")
    parser.add_argument("--steps-per-execution", type=int, default=16,
                        help="training steps per call into the compiled "
                             "graph; larger values cut per-step Python "
                             "overhead (results do not change); 1 under "
                             "--strategy multi_worker")
    parser.add_argument("--weighting", default="fixed",
                        choices=sorted(weighting_lib.STRATEGIES),
                        help="how task losses are balanced in training: "
                             "fixed task weights, uncertainty (Kendall et "
                             "al.), gradnorm (Chen et al.), dwa (Liu et "
                             "al.) or pcgrad (Yu et al.)")
    parser.add_argument("--task-weights", default=None,
                        metavar="TASK=W,...",
                        help="replace tasks' loss weights, e.g. "
                             "rating=1,movie=0 (0 trains without that "
                             "task's loss)")
    parser.add_argument("--gradnorm-alpha", type=float, default=1.5,
                        help="GradNorm's alpha")
    parser.add_argument("--dwa-temperature", type=float, default=2.0,
                        help="DWA's temperature")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds data splits, shuffling and weights")
    parser.add_argument("--data-dir", default=None,
                        help="folder with the dataset's files (else "
                             "$MTZOO_DATA_DIR or the cache; downloaded when "
                             "possible)")
    parser.add_argument("--output-dir", default=None,
                        help="where to write results (default: "
                             f"runs/{recipe.name}/<model>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run from the "
                             "checkpoint in the output folder (saved after "
                             "every epoch)")
    parser.add_argument("--strategy", default="default",
                        choices=distribution.STRATEGIES,
                        help="tf.distribute strategy: one device, mirrored "
                             "over the local devices, or multi_worker over "
                             "the machines listed in TF_CONFIG")
    parser.add_argument("--no-export", action="store_true",
                        help="skip the SavedModel export")
    parser.add_argument("--verbose", action="store_true",
                        help="print per-epoch progress")
    for flags, kwargs in recipe.extra_args:
        parser.add_argument(*flags, **kwargs)
    group = parser.add_argument_group(
        "architecture hyperparameters",
        "Passed to the builder when the chosen architecture takes them "
        "(lists are comma-separated, e.g. --expert-units 128,64). Unset "
        "flags keep the builder's or the recipe's default.")
    for name, (default, users) in sorted(_hyperparameter_table().items()):
        if isinstance(default, (list, tuple)):
            kind = _int_list
            shown = ",".join(map(str, default)) or "empty"
        elif isinstance(default, bool):
            kind, shown = _bool, str(default).lower()
        else:
            kind, shown = type(default), default
        taken_by = ("all architectures" if len(users) == len(
            registry.available()) else ", ".join(users))
        default = recipe.hparams.get(name, shown)
        group.add_argument(f"--{name.replace('_', '-')}", dest=f"hp_{name}",
                           type=kind, default=None, metavar=name.upper(),
                           help=f"({taken_by}; default {default})")
    return parser


def weighting_config(args) -> dict:
    """The `weighting` argument of compile from the flags."""
    if args.weighting == "gradnorm":
        return {"name": "gradnorm", "alpha": args.gradnorm_alpha}
    if args.weighting == "dwa":
        return {"name": "dwa", "temperature": args.dwa_temperature}
    return {"name": args.weighting}


def hyperparameters(recipe, args, model_name: str) -> dict:
    """Builder keywords: recipe defaults, overridden by given flags."""
    accepted = registry.hyperparameters(model_name)
    chosen = {k: v for k, v in recipe.hparams.items() if k in accepted}
    for key, value in vars(args).items():
        if not key.startswith("hp_") or value is None:
            continue
        name = key[3:]
        if name not in accepted:
            raise SystemExit(
                f"--{name.replace('_', '-')} does not apply to "
                f"'{model_name}'; its hyperparameters are "
                f"{sorted(k for k in accepted if k not in _SKIPPED)}")
        chosen[name] = value
    return chosen


def averaging_momentum(requested: float, steps_per_epoch: int) -> float:
    """The weight-averaging momentum a run uses: `requested`, lowered when
    needed so the average spans at most two epochs of steps (about
    1 / (1 - momentum) steps). On a few thousand rows an average at 0.995
    would still be mostly the initial weights when training stops."""
    if not requested:
        return 0.0
    return min(requested, 1.0 - 1.0 / (2 * max(steps_per_epoch, 1)))


class _Throughput(keras.callbacks.Callback):
    """Times epochs; examples/s excludes the first (tracing) epoch."""

    def __init__(self, rows: int):
        super().__init__()
        self.rows = rows
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)

    @property
    def examples_per_second(self) -> float:
        timed = self.seconds[1:] or self.seconds
        return statistics.median(self.rows / s for s in timed)


def with_task_weights(tasks, text: str) -> list:
    """Tasks with the weights of a `name=weight,...` flag."""
    weights = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise SystemExit(
                f"--task-weights: {item!r} is not TASK=WEIGHT (e.g. "
                f"rating=1,movie=0).") from None
    names = [t.name for t in tasks]
    unknown = sorted(set(weights) - set(names))
    if unknown:
        raise SystemExit(f"--task-weights names unknown tasks {unknown}; "
                         f"the tasks are {names}.")
    return [dataclasses.replace(t, weight=weights.get(t.name, t.weight))
            for t in tasks]


def _predict(model, frame, features, batch_size):
    dataset = data_lib.from_dataframe(frame, features, batch_size=batch_size)
    return model.predict(dataset, verbose=0)


def run(recipe, args) -> dict:
    """Trains and evaluates `args.model` on the recipe; writes the outputs.

    Writes to the output folder: `metrics.json`, `report.md`,
    `learning_curves.png`, `gate_utilization.png` (gated models),
    `tensorboard/`, `model.keras` and `export/<name>/<version>/`.
    """
    model_name = args.model
    # A multi-worker strategy must exist before TensorFlow runs anything.
    strategy = distribution.make_strategy(args.strategy)
    chief = distribution.is_chief(strategy)
    output = pathlib.Path(args.output_dir or
                          f"runs/{recipe.name}/{model_name}")
    output.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    splits = recipe.prepare(args, model_name)
    # Regression tasks learn their label scale from the training split.
    splits = dataclasses.replace(splits, tasks=tasks_lib.adapt(
        splits.tasks, splits.train))
    if args.task_weights:
        splits = dataclasses.replace(splits, tasks=with_task_weights(
            splits.tasks, args.task_weights))
    hparams = {**splits.build_kwargs,
               **hyperparameters(recipe, args, model_name)}

    steps_per_execution = args.steps_per_execution
    if distribution.replicated_across_workers(strategy):
        # Keras' multi-step loop leaves a collective op's input unfed across
        # workers (InvalidArgumentError "must feed a value for placeholder").
        steps_per_execution = 1

    weighting = weighting_config(args)
    # "auto": XLA where the model allows it (see MultiTaskModel.compile).
    jit_compile = "auto" if args.jit_compile == "on" else False

    momentum = averaging_momentum(
        args.weight_averaging,
        data_lib.batches_per_epoch(len(splits.train), args.batch_size))
    averaging = ({"use_ema": True, "ema_momentum": momentum}
                 if momentum else {})

    def build_model():
        built = models.build(model_name, splits.features, splits.tasks,
                             **hparams)
        built.compile(optimizer=keras.optimizers.Adam(args.learning_rate,
                                                      **averaging),
                      weighting=weighting, jit_compile=jit_compile,
                      steps_per_execution=steps_per_execution)
        return built

    with distribution.scope(strategy):
        model = build_model()
    catalogues = {
        t.name: retrieval.catalogue(splits.train, splits.features,
                                    splits.tasks, t.name)
        for t in splits.tasks if t.kind == tasks_lib.RETRIEVAL}
    for catalogue in catalogues.values():
        retrieval.set_sampling_probabilities(model, catalogue)

    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=args.patience,
        restore_best_weights=True)
    checkpoint = TrainingCheckpoint(
        output / "checkpoint", settings=_run_settings(recipe, args),
        early_stopping=stop, write=chief,
        averaged_weights=bool(momentum))
    if checkpoint.latest() is not None and not args.resume:
        raise SystemExit(
            f"'{checkpoint.directory}' holds the checkpoint of an "
            f"interrupted run: pass --resume to continue it, or remove the "
            f"folder to start over.")
    initial_epoch = checkpoint.restore(model) if args.resume else 0
    if checkpoint.finished:
        initial_epoch = args.epochs

    # Epoch k's order depends on (seed, k) only, so a resumed run sees the
    # batches the uninterrupted run would have.
    train = data_lib.from_dataframe(
        splits.train, splits.features, splits.tasks,
        batch_size=args.batch_size, shuffle=True, seed=args.seed,
        first_epoch=initial_epoch)
    validation = data_lib.from_dataframe(
        splits.validation, splits.features, splits.tasks,
        batch_size=max(args.batch_size, 4096))
    timer = _Throughput(len(splits.train))
    callbacks = [stop, timer, StopOnNonFiniteLoss()]
    if momentum:
        # Before early stopping, so it judges and keeps the averaged weights.
        callbacks.insert(0, keras.callbacks.SwapEMAWeights(
            swap_on_epoch=True))
    if chief:
        callbacks.append(keras.callbacks.TensorBoard(
            str(output / "tensorboard"), write_graph=False))
    model.fit(train, validation_data=validation, epochs=args.epochs,
              initial_epoch=initial_epoch,
              callbacks=callbacks + [checkpoint],  # after early stopping
              verbose=2 if args.verbose else 0)
    logs = checkpoint.history
    optimizer_steps = int(model.optimizer.iterations.numpy())
    if not chief:
        return {"recipe": recipe.name, "model": model_name, "chief": False,
                "epochs_run": len(logs.get("loss", [])),
                "optimizer_steps": optimizer_steps,
                "resumed_at_epoch": initial_epoch or None,
                "strategy": args.strategy,
                "output_dir": str(output)}
    if distribution.replicated_across_workers(strategy):
        # Evaluation, saving and export run on the chief alone, on a copy
        # whose variables are local rather than synchronized with workers.
        trained, model = model, build_model()
        model.set_weights(trained.get_weights())

    labels, weights = data_lib.label_arrays(splits.test, splits.tasks)
    predictions = _predict(model, splits.test, splits.features,
                           max(args.batch_size, 4096))
    test = evaluation.evaluate(
        splits.tasks, labels, predictions, weights,
        retrieval={name: retrieval.evaluate(model, splits.test, catalogue)
                   for name, catalogue in catalogues.items()})

    plots = [reporting.plot_learning_curves(
        logs, splits.tasks, output / "learning_curves.png")]
    if args.weighting != "fixed":
        plots.append(reporting.plot_task_weights(
            logs, splits.tasks, output / "task_weights.png"))
    if models.gate_layers(model):
        sample = splits.test.iloc[:4096]
        gates = models.gate_weights(
            model, data_lib.model_inputs(sample, splits.features))
        plots.append(reporting.plot_gate_utilization(
            gates, output / "gate_utilization.png"))

    models.save_model(model, output / "model.keras")
    reload_difference = _reload_difference(
        model, output / "model.keras",
        data_lib.model_inputs(splits.test.iloc[:256], splits.features))
    saved_model = None
    if not args.no_export:
        saved_model = export_lib.export_saved_model(
            model, output / "export",
            model_name=f"{recipe.name}_{model_name}",
            warmup_inputs=data_lib.feature_arrays(splits.test.iloc[:8],
                                                  splits.features),
            catalogues=catalogues or None)

    val_losses = logs.get("val_loss", [])
    result = {
        "recipe": recipe.name,
        "model": model_name,
        "seed": args.seed,
        "hyperparameters": _jsonable(hparams),
        "learning_rate": args.learning_rate,
        "weight_averaging": momentum,
        "weighting": model.weighting.describe(),
        "final_task_weights": {
            t.name: logs[f"{t.name}_weight"][-1] for t in splits.tasks
            if f"{t.name}_weight" in logs},
        "batch_size": args.batch_size,
        "rows": {"train": len(splits.train),
                 "validation": len(splits.validation),
                 "test": len(splits.test)},
        "epochs_run": len(logs.get("loss", [])),
        "optimizer_steps": optimizer_steps,
        "resumed_at_epoch": initial_epoch or None,
        "strategy": args.strategy,
        "best_epoch": int(np.argmin(val_losses)) + 1 if val_losses else None,
        "train_seconds": round(sum(timer.seconds), 2),
        "train_examples_per_s": timer.examples_per_second,
        "test": test,
        "history": logs,
        "plots": [p.name for p in plots],
        "reload_max_abs_difference": reload_difference,
        "saved_model": (str(saved_model.relative_to(output))
                        if saved_model else None),
        **environment.describe(),
    }
    (output / "report.md").write_text(
        reporting.markdown_report(result, splits.tasks))
    _write_json(output / "metrics.json", result)
    checkpoint.remove()
    result["output_dir"] = str(output)
    return result


# Flags that do not change what is trained, so a run may resume with them
# changed.
_RESUMABLE_CHANGES = {"resume", "verbose", "no_export", "output_dir",
                      "data_dir", "strategy", "steps_per_execution",
                      "jit_compile"}


def _run_settings(recipe, args) -> dict:
    """What a checkpoint must agree on to be resumed."""
    return {"recipe": recipe.name, **{
        k: v for k, v in sorted(vars(args).items())
        if k not in _RESUMABLE_CHANGES}}


def _reload_difference(model, path, inputs) -> float:
    """Max abs difference between the model and its `.keras` file loaded
    back with `safe_mode=True`."""
    reloaded = models.load_model(path)
    expected = model.predict(inputs, verbose=0)
    actual = reloaded.predict(inputs, verbose=0)
    return max(float(np.max(np.abs(expected[k] - actual[k])))
               for k in expected)


def _jsonable(values: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in values.items()}


def _write_json(path: pathlib.Path, content: dict) -> None:
    with atomic_path(path) as temporary:
        pathlib.Path(temporary).write_text(
            json.dumps(content, indent=2, default=str))


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
                              "macro_f1") or k.startswith(("recall_at_",
                                                           "ndcg_at_10"))))
        lines.append(f"  {task}: {shown}")
    if result["test"]["combined_score"] is not None:
        lines.append(f"  combined score: "
                     f"{result['test']['combined_score']:.4f}")
    lines.append(f"outputs: {result['output_dir']}")
    return "\n".join(lines)


def run_in_process(recipe_name: str, flags) -> dict:
    """Runs a recipe with `flags` in a fresh Python process, without an
    export, and returns its `metrics.json` (benchmarks run each setting
    this way, so no run inherits another's state)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [sys.executable, "-m", "mtzoo.cli", "train", recipe_name,
             "--no-export", "--output-dir", folder, *map(str, flags)],
            capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{recipe_name} {' '.join(map(str, flags))} "
                               f"failed:\n{done.stderr[-3000:]}")
        return json.loads((pathlib.Path(folder) / "metrics.json")
                          .read_text())


def main(recipe_name: str, argv=None, *, prog: str | None = None,
         **defaults) -> int:
    """Entry point of the recipe scripts and `mtzoo train`.

    Args:
        recipe_name: the recipe.
        argv: the flags (default: the command line's).
        prog: program name shown in `--help`.
        **defaults: flag defaults to change (e.g. `output_dir=`).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    recipe = definitions.get(recipe_name)
    parser = build_parser(recipe)
    if prog:
        parser.prog = prog
    if recipe.config_defaults is not None:
        parser.set_defaults(**recipe.config_defaults(
            sys.argv[1:] if argv is None else argv))
    parser.set_defaults(**defaults)
    args = parser.parse_args(argv)
    print(summary(run(recipe, args)))
    return 0
