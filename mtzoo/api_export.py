"""Registration of mtzoo's Keras objects for safe serialization."""

import keras

PACKAGE = "mtzoo"


def mtzoo_export(cls):
    """Registers a layer or model class under the `mtzoo` package.

    Registered classes are stored in `.keras` files as `mtzoo>ClassName` and
    load with `safe_mode=True` once `mtzoo.layers` (or `mtzoo.models`) is
    imported. The package name is part of the file format: never rename it.
    """
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)
