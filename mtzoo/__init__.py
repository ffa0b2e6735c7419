"""mtzoo: a Keras 3 model zoo for multi-task recommendation."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ start-up chatter (CUDA probing, CPU features) hides the
# output people read; set TF_CPP_MIN_LOG_LEVEL yourself to see it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from mtzoo import data  # noqa: E402
from mtzoo import evaluation  # noqa: E402
from mtzoo import export  # noqa: E402
from mtzoo import features  # noqa: E402
from mtzoo import layers  # noqa: E402
from mtzoo import models  # noqa: E402
from mtzoo import tasks  # noqa: E402

__version__ = "0.1.0"

__all__ = ["data", "evaluation", "export", "features", "layers", "models",
           "tasks", "__version__"]
