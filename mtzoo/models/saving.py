"""Loading saved mtzoo models safely."""

from __future__ import annotations

import os

import keras

from mtzoo.atomic import atomic_path
from mtzoo.keras_rs_import import keras_rs


def load_model(path: str | os.PathLike, compile: bool = True):
    """Loads a `.keras` file saved from an mtzoo model.

    Always loads with `safe_mode=True`: a file that would run arbitrary code
    on load (for example one with a `Lambda` layer) is refused. mtzoo's own
    layers are registered when `mtzoo` is imported.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No saved model at '{path}'.")
    # Builders import keras-rs layers (FeatureCross, DotInteraction) only
    # when a model uses them; importing it registers them for loading.
    keras_rs()

    from mtzoo.training import lazy_adam  # noqa: F401 (registers LazyAdam)

    return keras.saving.load_model(path, compile=compile, safe_mode=True)


def save_model(model, path: str | os.PathLike) -> str:
    """Saves `model` to a `.keras` file atomically.

    The file is written next to its destination under a temporary name and
    renamed into place, so `path` holds either the previous file or the
    complete new one, never a partial write.
    """
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(
            f"A Keras model file must end in '.keras'. Received: '{path}'")
    with atomic_path(path, suffix=".keras") as temporary:
        model.save(temporary)
    return path
