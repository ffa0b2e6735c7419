"""keras-rs, imported without moving the random state a seed set.

Importing keras-rs draws from Python's `random`, which
`keras.utils.set_random_seed` seeds and from which Keras draws the seeds of
unseeded initializers. mtzoo imports keras-rs when it first needs it, often
between a run's seed and its model's build: without this guard the first
model a process builds would start from other weights than the same model
built again in that process with the same seed.
"""

from __future__ import annotations

import importlib
import random


def keras_rs():
    """The `keras_rs` package with its layers loaded (registered for
    `keras.saving`), Python's random state as it was before."""
    state = random.getstate()
    try:
        importlib.import_module("keras_rs.layers")
        return importlib.import_module("keras_rs")
    finally:
        random.setstate(state)
