"""Importing a module that loads TensorFlow without its start-up noise."""

from __future__ import annotations

import importlib
import os
import sys


def import_quietly(module: str):
    """Imports `module` (and with it TensorFlow) and lists the devices with
    the C++ start-up lines silenced: on a machine without a GPU,
    TensorFlow's CUDA probes write "Could not find cuda drivers" and
    "failed call to cuInit" to the process's stderr before its log level
    applies. Python errors still show: they are raised after stderr is
    back."""
    if module in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        return importlib.import_module(module)
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            imported = importlib.import_module(module)
            importlib.import_module("tensorflow").config \
                .list_physical_devices()
            return imported
    finally:
        os.dup2(saved, 2)
        os.close(saved)
