"""Helpers for testing mtzoo layers and models (and your own)."""

from mtzoo.testing.layer_test import run_layer_test
from mtzoo.testing.layer_test import saved_model_outputs

__all__ = ["run_layer_test", "saved_model_outputs"]
