"""What a recipe is: a dataset, the architectures that fit it, defaults."""

from __future__ import annotations

import dataclasses
from typing import Callable


@dataclasses.dataclass(frozen=True)
class Splits:
    """Frames and specs a recipe trains on."""

    train: object
    validation: object
    test: object
    features: list
    tasks: list
    build_kwargs: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A dataset recipe.

    Attributes:
        name: recipe name (`mtzoo train <name>`).
        description: one line for `mtzoo recipes`.
        prepare: `(args, model_name) -> Splits`: loads the data, splits a
            validation set off the training data and picks the tasks that
            fit the architecture.
        architectures: registered architectures that fit the tasks.
        default_model: the architecture used without `--model`.
        epochs: maximum epochs (early stopping usually ends sooner).
        batch_size: examples per batch.
        learning_rate: Adam learning rate.
        weight_averaging: momentum of the exponential moving average of
            the weights that validation, early stopping and the saved model
            use (Polyak averaging); 0 uses the trained weights as they are.
        hparams: builder keyword defaults of this recipe, applied to the
            architectures that take them.
        extra_args: recipe-specific flags: `(flags, argparse kwargs)`.
        needs_data: whether `--data-dir` (or a download) is needed.
        config_defaults: `(argv) -> dict` of flag defaults read from a
            config file the flags name (the table recipe), or None.
    """

    name: str
    description: str
    prepare: Callable
    architectures: tuple
    default_model: str = "mmoe"
    epochs: int = 20
    batch_size: int = 1024
    learning_rate: float = 1e-3
    weight_averaging: float = 0.0
    hparams: dict = dataclasses.field(default_factory=dict)
    extra_args: tuple = ()
    needs_data: bool = True
    config_defaults: Callable | None = None
