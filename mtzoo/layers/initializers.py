"""Independent initializer instances for weights that must differ.

A Keras 3 initializer draws its seed once, when it is constructed, so one
instance called twice returns the same values. Experts, stacked layers and
embedding tables of equal shape would start identical; `fresh` gives each
weight its own instance.
"""

from __future__ import annotations

import keras


def fresh(initializer, offset: int = 0):
    """A new instance of `initializer` with a seed of its own.

    An integer seed becomes `seed + offset`, so seeded runs stay
    reproducible; an unseeded initializer gets a new default seed (drawn from
    Python's `random`, which `keras.utils.set_random_seed` seeds).
    """
    initializer = keras.initializers.get(initializer)
    config = initializer.get_config()
    if "seed" not in config:  # deterministic initializers: zeros, constant
        return initializer
    seed = config["seed"]
    config["seed"] = seed + offset if isinstance(seed, int) else None
    return type(initializer).from_config(config)
