"""Loading saved mtzoo models safely."""

from __future__ import annotations

import os

import keras


def load_model(path: str | os.PathLike, compile: bool = True):
    """Loads a `.keras` file saved from an mtzoo model.

    Always loads with `safe_mode=True`: a file that would run arbitrary code
    on load (for example one with a `Lambda` layer) is refused. mtzoo's own
    layers are registered when `mtzoo` is imported.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No saved model at '{path}'.")
    return keras.saving.load_model(path, compile=compile, safe_mode=True)
