"""Loading saved mtzoo models safely."""

from __future__ import annotations

import os
import tempfile

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
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(
        dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".keras")
    os.close(fd)
    try:
        model.save(temporary)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return path
