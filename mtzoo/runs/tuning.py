"""A search budget: the architecture and its hyperparameters chosen on
the validation split with Optuna (tree-structured Parzen estimator, seeded
by the run's seed), at most `trials` trainings; the run then trains the
winner as usual.

Each trial trains with early stopping on the validation loss and is
scored by the combined score of the validation split (each task's primary
metric, weighted by task weight) less, when the run's baselines are
known, each task's average shortfall below the better baseline's
validation score, so a trial that trades one task's loss to a baseline
for another's gain is not preferred; a trial of an architecture that
predicts other tasks than the run's (ESMM's CTR and CTCVR) scores lowest
without training. The test split is never looked at. The first trial is
the run's own settings (the recipe's defaults unless given), so the
winner is never worse on validation than not searching; the sampler
models the trials from the fourth on (a third of the budget explores at
random when the budget is larger).
"""

from __future__ import annotations

import dataclasses
import pathlib
import tempfile

import keras

from mtzoo.models import registry
from mtzoo.runs import ensembles
from mtzoo.runs import steps

#: What a trial may change, each applied where the architecture takes it:
#: name -> the choices (lists of units as comma-separated text).
SPACE = {
    "dropout": (0.0, 0.1, 0.2, 0.3),
    "l2": (0.0, 1e-6, 1e-5, 1e-4),
    "embedding_l2": (0.0, 1e-6, 1e-5),
    "cross_layers": (0, 1, 2),
    "wide": (False, True),
    "num_experts": (4, 8),
    "expert_units": ("64", "128,64"),
    "bottom_units": ("128,64", "256,128"),
    "hidden_units": ("128,64", "256,128"),
    "tower_units": ("32", "64,32"),
}
LEARNING_RATES = (3e-4, 3e-3)
#: `RunConfig.piecewise_linear_bins` choices, searched when the run has a
#: numeric feature declared without bins (they help a table of heavy or
#: thresholded values, hurt one whose test lies beyond its training range).
NUMERIC_BINS = (0, 16)


def _value(choice):
    """A choice as the builder takes it (units text -> tuple)."""
    if isinstance(choice, str):
        return tuple(int(v) for v in choice.split(","))
    return choice


def _suggest(trial, config, recipe, bins: bool) -> dict:
    """A trial's model, learning rate and hyperparameters (and numeric
    bins when `bins`)."""
    model = trial.suggest_categorical(
        "model", list(recipe.architectures_for(config.options)))
    accepted = registry.hyperparameters(model)
    chosen = {name: _value(trial.suggest_categorical(name, list(choices)))
              for name, choices in SPACE.items() if name in accepted
              and name not in config.hyperparameters}
    rate = trial.suggest_float("learning_rate", *LEARNING_RATES, log=True)
    suggested = {"model": model, "learning_rate": rate,
                 "hyperparameters": {**config.hyperparameters, **chosen}}
    if bins:
        suggested["piecewise_linear_bins"] = trial.suggest_categorical(
            "piecewise_linear_bins", list(NUMERIC_BINS))
    return suggested


def _starting_point(config, recipe, bins: bool) -> dict:
    """The run's own settings as a trial's parameters (those the search
    space holds)."""
    if config.model not in recipe.architectures_for(config.options):
        return {}
    params = {"model": config.model,
              "learning_rate": min(max(config.learning_rate,
                                       LEARNING_RATES[0]), LEARNING_RATES[1])}
    accepted = registry.hyperparameters(config.model)
    defaults = {**accepted, **{k: v for k, v in recipe.hparams.items()
                               if k in accepted}}
    for name, choices in SPACE.items():
        if name not in accepted or name in config.hyperparameters:
            continue
        value = defaults[name]
        as_choice = (",".join(str(v) for v in value)
                     if isinstance(value, tuple) else value)
        if as_choice in choices:
            params[name] = as_choice
    if bins and config.piecewise_linear_bins in NUMERIC_BINS:
        params["piecewise_linear_bins"] = config.piecewise_linear_bins
    return params


def objective_value(scores: dict, tasks, targets: dict | None) -> float:
    """A trial's value: the validation split's combined score, less the
    mean shortfall of the tasks' primary metrics below `targets` (task ->
    the better baseline's validation score)."""
    score = scores["combined_score"]
    if score is None:
        return float("-inf")
    shortfalls = [min(0.0, scores["tasks"][t.name][t.primary_metric]
                      - targets[t.name]) for t in tasks
                  if targets and t.name in targets
                  and scores["tasks"].get(t.name, {}).get(
                      t.primary_metric) is not None]
    return float(score + (sum(shortfalls) / len(shortfalls)
                          if shortfalls else 0.0))


def search(recipe, config, trials: int, output: pathlib.Path, *,
           targets: dict | None = None, splits=None) -> dict:
    """Runs `trials` trainings and returns the winner's settings
    (`model`, `learning_rate`, `hyperparameters`, and
    `piecewise_linear_bins` when searched) with every trial, the winner's
    trial number (`best_trial`) and, under `members`, every trial's
    trained model (`mtzoo.runs.ensembles.Member`), and writes
    `tuning.csv` and TensorBoard's HParams logs to `output`.
    `targets`: task -> the better baseline's validation score
    (`mtzoo.baselines.validation_targets`), or None. `splits`: the run's
    prepared splits, if already made (`mtzoo.runs.steps.prepare`)."""
    import optuna

    from mtzoo import features as features_lib

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(
            seed=config.seed, n_startup_trials=max(3, trials // 3)))
    splits = splits or steps.prepare(recipe, config)
    bins = not config.piecewise_linear_bins and any(
        map(features_lib.takes_piecewise_linear_bins, splits.features))
    study.enqueue_trial(_starting_point(config, recipe, bins),
                        skip_if_exists=True)
    prepared = {(config.model, config.piecewise_linear_bins): splits}
    members = []
    run_tasks = [t.name for t in splits.tasks]

    def objective(trial):
        settings = _suggest(trial, config, recipe, bins)
        # Without XLA: each XLA-compiled model keeps ~1,400 memory
        # mappings for the life of the process (keras' clear_session does
        # not free them), so a long search would reach the kernel's limit
        # (65,530) and crash; the winner still trains with XLA.
        trial_config = dataclasses.replace(
            config, **settings, baselines=False, export=False,
            verbose=False, resume=False, jit_compile=False)
        key = (trial_config.model, trial_config.piecewise_linear_bins)
        if key not in prepared:
            prepared[key] = steps.prepare(recipe, trial_config)
        splits = prepared[key]
        if [t.name for t in splits.tasks] != run_tasks:
            # An architecture that defines its own tasks (ESMM's CTR and
            # CTCVR) cannot be compared with the run's: not trained.
            trial.set_user_attr("skipped", "predicts other tasks")
            return float("-inf")
        keras.utils.set_random_seed(config.seed)  # every trial alike
        trainer = steps.build(recipe, trial_config, splits)
        with tempfile.TemporaryDirectory() as folder:
            fitted = steps.fit(trainer, trial_config, splits,
                               pathlib.Path(folder), write=False)
        scores = steps.evaluate(trainer.model, splits, trainer.catalogues,
                                split="validation")
        trial.set_user_attr("epochs_run", len(fitted.history["loss"]))
        trial.set_user_attr("train_seconds", round(sum(
            fitted.timer.epoch_seconds), 2))
        trial.set_user_attr("combined_score", scores["combined_score"])
        members.append(ensembles.Member(
            f"trial_{trial.number}", trainer.model,
            {**settings, "piecewise_linear_bins":
             trial_config.piecewise_linear_bins}))
        value = objective_value(scores, splits.tasks, targets)
        if config.verbose:
            print(f"trial {trial.number + 1}/{trials}: {trial_config.model}"
                  f", learning rate {trial_config.learning_rate:.2g}: "
                  f"validation score {value:.4f} after "
                  f"{len(fitted.history['loss'])} epochs", flush=True)
        return value

    if config.verbose:
        print(f"searching: {trials} trainings on the validation split",
              flush=True)
    study.optimize(objective, n_trials=trials)
    rows = _trial_rows(study)
    _write(rows, output)
    best = _suggest(optuna.trial.FixedTrial(study.best_params), config,
                    recipe, bins)
    return {**best, "trials": rows,
            "best_validation_score": study.best_value,
            "best_trial": study.best_trial.number, "members": members}


def _trial_rows(study) -> list[dict]:
    return [{"trial": t.number, "validation_score": t.value,
             **t.params, **t.user_attrs} for t in study.trials]


def _write(rows: list[dict], output: pathlib.Path) -> None:
    """`tuning.csv`, and one HParams run per trial under
    `tensorboard/tuning/` for TensorBoard's HParams dashboard."""
    import pandas as pd
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hparams

    from mtzoo.atomic import atomic_path

    with atomic_path(output / "tuning.csv") as temporary:
        pd.DataFrame(rows).to_csv(temporary, index=False)
    for row in rows:
        folder = output / "tensorboard" / "tuning" / f"trial_{row['trial']}"
        with tf.summary.create_file_writer(str(folder)).as_default():
            hparams.hparams({k: v for k, v in row.items() if k not in (
                "trial", "validation_score", "epochs_run", "train_seconds")
                and isinstance(v, (bool, int, float, str))})
            tf.summary.scalar("validation_score", row["validation_score"],
                              step=0)
