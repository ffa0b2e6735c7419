"""The typed configuration of a run: what to train, on which recipe, how.

The command line builds one from its flags (`mtzoo.runs.flags`);
code builds one directly:

```python
from mtzoo import runs

result = runs.run(runs.RunConfig(
    "census_income", model="mmoe", epochs=3, export=False,
    data_dir="../shared/data/census-income", options={"max_rows": 20_000}))
```
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from mtzoo import catalog
from mtzoo.training import momentum

#: How task losses can be balanced (see `mtzoo.training.weighting`).
WEIGHTINGS = catalog.WEIGHTINGS
STRATEGIES = catalog.STRATEGIES
#: Early stopping sized to a table (`sized_patience`): it waits
#: `PATIENCE_STEPS` optimizer steps without improvement, as whole epochs,
#: at least `MIN_PATIENCE` and at most `MAX_PATIENCE` of them.
PATIENCE_STEPS = 400
MIN_PATIENCE = 2
MAX_PATIENCE = 6


def sized_patience(train_rows: int, batch_size: int) -> int:
    """Epochs early stopping waits for an improvement on a table of
    `train_rows` (a run's patience when its recipe leaves it None):
    `PATIENCE_STEPS` steps' worth, between `MIN_PATIENCE` and
    `MAX_PATIENCE` epochs. A small or middling table (a few to a few dozen
    steps an epoch) may still be improving slowly when two epochs pass
    without a new best, while a large one has taken hundreds of steps or
    more in two."""
    per_epoch = max(1, math.ceil(train_rows / batch_size))
    return min(MAX_PATIENCE,
               max(MIN_PATIENCE, math.ceil(PATIENCE_STEPS / per_epoch)))


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """A run of a recipe.

    Settings left None take the recipe's defaults (`resolve`).

    Args:
        recipe: str. The recipe (`mtzoo recipes`).
        model: str. The architecture; the recipe's default when None.
        epochs: int. Maximum epochs; early stopping usually ends sooner.
        patience: int. Epochs without validation improvement before
            stopping (the best weights are restored). Defaults to the
            recipe's: 2, or on a user's table sized to its training rows
            (`mtzoo.runs.config.sized_patience`).
        batch_size: int. Examples per training step.
        learning_rate: float. Adam's learning rate.
        weight_averaging: float. Momentum of the exponential moving average
            of the weights that validation, early stopping, saving and
            export use (lowered on small data so the average spans at most
            two epochs); 0 keeps the trained weights.
        jit_compile: bool. Compile the training step with XLA where the
            model allows it.
        steps_per_execution: int. Training steps per call into the
            compiled graph (1 under a multi-worker strategy).
        piecewise_linear_bins: int. Also encode every numeric feature
            declared without bins piecewise-linearly over this many
            quantile bins (`NumericFeature.piecewise_linear_bins`): lets
            the network draw thresholds as trees do; worth it on values
            whose effect is not smooth, not on a test period outside the
            training range. Defaults to 0 (features as declared).
        weighting: str. How task losses are balanced: one of
            `WEIGHTINGS`. Defaults to `"fixed"`.
        gradnorm_alpha: float. GradNorm's alpha.
        dwa_temperature: float. DWA's temperature.
        task_weights: dict. Task name -> loss weight, replacing the tasks'
            own (0 trains without that task's loss).
        seed: int. Seeds data splits, shuffling and weights. Defaults
            to 0.
        data_dir: str. Folder of the dataset's files.
        output_dir: str. Where results go; `runs/<recipe>/<model>` when
            None.
        resume: bool. Continue an interrupted run from the checkpoint in
            the output folder.
        strategy: str. One of `STRATEGIES`: one device, mirrored over the
            local devices, or multi_worker over the machines of TF_CONFIG.
        tune: int. Trainings a search of the architecture and its
            hyperparameters may spend on the validation split before the
            winner is trained (`mtzoo.runs.tuning`); 0 trains `model` as
            given.
        ensemble: bool. Combine per task the trained model with the
            baselines (and, after a search, the models its trials
            trained) where that scores better on the validation split
            than the model alone (`mtzoo.runs.ensembles`). Defaults to
            True with `tune` and to the recipe's `ensemble` otherwise
            (True for the table recipe).
        overwrite: bool. Write into an output folder that holds another
            run's results (another recipe, config file, model or
            options); refused otherwise.
        export: bool. Write the SavedModel.
        baselines: bool. Fit gradient boosting, a linear model and a
            constant per task on the same rows and report them beside the
            network (`mtzoo.baselines`), and train the runs the recipe
            sets beside this one (`mtzoo.runs.companions`).
        verbose: bool. Print one line of progress per epoch. Defaults to
            True.
        hyperparameters: dict. Builder keywords, over the recipe's.
        options: dict. The recipe's own options (e.g. `variant`,
            `retrieval`, `max_rows`, `config`), over their defaults.
    """

    recipe: str
    model: str | None = None
    epochs: int | None = None
    patience: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    weight_averaging: float | None = None
    jit_compile: bool = True
    steps_per_execution: int = 16
    piecewise_linear_bins: int | None = None
    weighting: str | None = None
    gradnorm_alpha: float = 1.5
    dwa_temperature: float = 2.0
    task_weights: dict | None = None
    seed: int | None = None
    data_dir: str | None = None
    output_dir: str | None = None
    resume: bool = False
    strategy: str = "default"
    tune: int = 0
    ensemble: bool | None = None
    overwrite: bool = False
    export: bool = True
    baselines: bool = True
    verbose: bool = True
    hyperparameters: dict = dataclasses.field(default_factory=dict)
    options: dict = dataclasses.field(default_factory=dict)

    def option(self, name: str) -> Any:
        """A recipe option of a resolved config."""
        return self.options[name]

    @property
    def weighting_config(self) -> dict:
        """The `weighting` argument of `MultiTaskModel.compile`."""
        if self.weighting == "gradnorm":
            return {"name": "gradnorm", "alpha": self.gradnorm_alpha}
        if self.weighting == "dwa":
            return {"name": "dwa", "temperature": self.dwa_temperature}
        return {"name": self.weighting}

    def settings(self) -> dict:
        """What a checkpoint must agree on to be resumed: every setting
        that changes what is trained."""
        return {k: v for k, v in sorted(dataclasses.asdict(self).items())
                if k not in _RESUMABLE_CHANGES}


# Settings that do not change what is trained, so a run may resume with
# them changed.
_RESUMABLE_CHANGES = {"resume", "verbose", "export", "baselines",
                      "overwrite",
                      "output_dir",
                      "data_dir", "strategy", "steps_per_execution",
                      "jit_compile"}


def resolve(config: RunConfig, recipe) -> RunConfig:
    """`config` with the recipe's defaults filled in and every setting
    checked, with errors naming the setting."""
    options = {**recipe.option_defaults(), **config.options}
    unknown = sorted(set(options) - set(recipe.option_defaults()))
    if unknown:
        raise ValueError(
            f"Recipe '{recipe.name}' has no options {unknown}; its options "
            f"are {sorted(recipe.option_defaults())}.")
    from_file = recipe.config_settings(options)
    defaults = {"model": recipe.default_model, "epochs": recipe.epochs,
                "batch_size": recipe.batch_size,
                "learning_rate": recipe.learning_rate,
                "weight_averaging": recipe.weight_averaging,
                "patience": recipe.patience, "seed": 0, "weighting": "fixed",
                "piecewise_linear_bins": 0,
                "ensemble": bool(config.tune) or recipe.ensemble}
    filled = {key: from_file.get(key, value) if getattr(config, key) is None
              else getattr(config, key) for key, value in defaults.items()}
    hyperparameters = {**from_file.get("hyperparameters", {}),
                       **config.hyperparameters}
    resolved = dataclasses.replace(config, options=options,
                                   hyperparameters=hyperparameters, **filled)
    _check(resolved, recipe)
    return resolved


def _check(config: RunConfig, recipe) -> None:
    models = recipe.architectures_for(config.options)
    if config.model not in models:
        raise ValueError(
            f"Recipe '{recipe.name}' trains models {list(models)}"
            f"{recipe.architectures_note(config.options)}. Received: "
            f"model={config.model!r}")
    for name in ("epochs", "batch_size", "steps_per_execution"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. "
                             f"Received: {name}={value!r}")
    if not isinstance(config.ensemble, bool):
        raise ValueError(f"`ensemble` must be true or false. Received: "
                         f"ensemble={config.ensemble!r}")
    if isinstance(config.piecewise_linear_bins, bool) or not isinstance(
            config.piecewise_linear_bins, int) \
            or config.piecewise_linear_bins < 0:
        raise ValueError(f"`piecewise_linear_bins` must be an integer >= 0."
                         f" Received: piecewise_linear_bins="
                         f"{config.piecewise_linear_bins!r}")
    if config.patience is not None and config.patience < 0:
        raise ValueError(f"`patience` must be >= 0. Received: "
                         f"patience={config.patience!r}")
    momentum.check_momentum(config.weight_averaging)
    for name, allowed in (("weighting", WEIGHTINGS),
                          ("strategy", STRATEGIES)):
        if getattr(config, name) not in allowed:
            raise ValueError(f"`{name}` must be one of {allowed}. "
                             f"Received: {name}={getattr(config, name)!r}")
