"""What a recipe is: a dataset, the architectures that fit it, defaults."""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
from typing import Callable

from mtzoo import catalog


@dataclasses.dataclass(frozen=True)
class Splits:
    """Frames and specs a recipe trains on; `ordered` when the rows are
    split by time (validation after training, test after validation)."""

    train: object
    validation: object
    test: object
    features: list
    tasks: list
    build_kwargs: dict = dataclasses.field(default_factory=dict)
    ordered: bool = False


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A dataset recipe.

    Attributes:
        name: recipe name (`mtzoo train <name>`).
        description: one line for `mtzoo recipes`.
        prepare: `(config, model_name) -> Splits`: loads the data, splits
            a validation set off the training data and picks the tasks
            that fit the architecture (`config`: a resolved
            `mtzoo.runs.RunConfig`).
        architectures: registered architectures that fit the tasks.
        default_model: the architecture used without `--model`.
        epochs: maximum epochs (early stopping usually ends sooner).
        batch_size: examples per batch.
        learning_rate: Adam learning rate.
        patience: epochs without validation improvement before early
            stopping; None sizes it to the training rows
            (`mtzoo.runs.config.sized_patience`).
        weight_averaging: momentum of the exponential moving average of
            the weights that validation, early stopping and the saved model
            use (Polyak averaging); 0 uses the trained weights as they are.
        hparams: builder keyword defaults of this recipe, applied to the
            architectures that take them.
        extra_args: the recipe's own options, as command-line flags:
            `(flags, argparse kwargs)`; in a `RunConfig` they are
            `options` by the flag's name (`--max-rows` -> `max_rows`).
        needs_data: whether `--data-dir` (or a download) is needed.
        option_settings: `(options) -> dict` of run settings the options
            imply (read from the file they name, as the table recipe's
            TOML, or chosen for a mode they select), or None. Settings a
            run gives itself still win.
        retrieval_option: the option that adds a retrieval task, so the
            run offers only the architectures that train retrieval.
        companions: `(options) -> {label: option changes}`: runs of the
            recipe that a run with `options` trains beside itself to put
            its results in context (`mtzoo.runs.companions`), or None.
        ensemble: whether a run without a search combines the network
            with its baselines per task where they score better together
            on the validation split (`mtzoo.runs.ensembles`); a search
            always may.
    """

    name: str
    description: str
    prepare: Callable
    architectures: tuple
    default_model: str = "mmoe"
    epochs: int = 20
    batch_size: int = 1024
    learning_rate: float = 1e-3
    patience: int | None = 2
    weight_averaging: float = 0.0
    ensemble: bool = False
    hparams: dict = dataclasses.field(default_factory=dict)
    extra_args: tuple = ()
    needs_data: bool = True
    option_settings: Callable | None = None
    retrieval_option: str | None = None
    companions: Callable | None = None

    def run_name(self, options: dict) -> str:
        """The name of a run's results folder and SavedModel: the
        recipe's, or the stem of the config file the table recipe reads."""
        config = options.get("config")
        if config:
            from mtzoo.features import base

            return base.suggested_name(pathlib.Path(config).stem)
        return self.name

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """Adds the recipe's own options to `parser` as flags."""
        for flags, kwargs in self.extra_args:
            parser.add_argument(*flags, **kwargs)

    def option_defaults(self) -> dict:
        """The recipe's own options and their defaults."""
        defaults = {}
        for flags, kwargs in self.extra_args:
            name = kwargs.get("dest") or flags[-1].lstrip("-").replace(
                "-", "_")
            store_true = kwargs.get("action") == "store_true"
            defaults[name] = kwargs.get("default", False if store_true
                                        else None)
        return defaults

    def config_settings(self, options: dict) -> dict:
        """Run settings the options imply (else none)."""
        if self.option_settings is None:
            return {}
        return self.option_settings(options)

    def companion_options(self, options: dict) -> dict:
        """`{label: option changes}` of the runs to train beside a run
        with `options` (none when the recipe names none)."""
        return self.companions(options) if self.companions else {}

    def architectures_for(self, options: dict) -> tuple:
        """The architectures a run with `options` can train."""
        return catalog.architectures_for(
            self.architectures, bool(self.retrieval_option
                                     and options.get(self.retrieval_option)))

    def architectures_note(self, options: dict) -> str:
        if self.retrieval_option and options.get(self.retrieval_option):
            return (f" with --{self.retrieval_option.replace('_', '-')} "
                    f"(the architectures that train retrieval)")
        return ""
