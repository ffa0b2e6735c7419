"""A search budget: the architecture and its hyperparameters chosen on
the validation split with Optuna (tree-structured Parzen estimator, seeded
by the run's seed), at most `trials` trainings; the run then trains the
winner as usual.

Each trial trains with early stopping on the validation loss and is
scored by the combined score of the validation split (each task's primary
metric, weighted by task weight). The test split is never looked at.
"""

from __future__ import annotations

import dataclasses
import pathlib
import tempfile

from mtzoo.models import registry
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


def _value(choice):
    """A choice as the builder takes it (units text -> tuple)."""
    if isinstance(choice, str):
        return tuple(int(v) for v in choice.split(","))
    return choice


def _suggest(trial, config, recipe) -> dict:
    """A trial's model, learning rate and hyperparameters."""
    model = trial.suggest_categorical(
        "model", list(recipe.architectures_for(config.options)))
    accepted = registry.hyperparameters(model)
    chosen = {name: _value(trial.suggest_categorical(name, list(choices)))
              for name, choices in SPACE.items() if name in accepted
              and name not in config.hyperparameters}
    rate = trial.suggest_float("learning_rate", *LEARNING_RATES, log=True)
    return {"model": model, "learning_rate": rate,
            "hyperparameters": {**config.hyperparameters, **chosen}}


def search(recipe, config, trials: int, output: pathlib.Path) -> dict:
    """Runs `trials` trainings and returns the winner's settings
    (`model`, `learning_rate`, `hyperparameters`) with every trial, and
    writes `tuning.csv` and TensorBoard's HParams logs to `output`."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=config.seed))
    prepared = {}

    def objective(trial):
        settings = _suggest(trial, config, recipe)
        trial_config = dataclasses.replace(
            config, **settings, baselines=False, export=False,
            verbose=False, resume=False)
        if settings["model"] not in prepared:
            prepared[settings["model"]] = steps.prepare(recipe, trial_config)
        splits = prepared[settings["model"]]
        trainer = steps.build(recipe, trial_config, splits)
        with tempfile.TemporaryDirectory() as folder:
            fitted = steps.fit(trainer, trial_config, splits,
                               pathlib.Path(folder), write=False)
        scores = steps.evaluate(trainer.model, splits, trainer.catalogues,
                                split="validation")
        trial.set_user_attr("epochs_run", len(fitted.history["loss"]))
        trial.set_user_attr("train_seconds", round(sum(
            fitted.timer.seconds), 2))
        score = scores["combined_score"]
        return float("-inf") if score is None else score

    study.optimize(objective, n_trials=trials)
    rows = _trial_rows(study)
    _write(rows, output)
    best = _suggest(optuna.trial.FixedTrial(study.best_params), config,
                    recipe)
    return {**best, "trials": rows,
            "best_validation_score": study.best_value}


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
