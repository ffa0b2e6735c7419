"""What a run needs to state to be reproducible: versions and hardware."""

from __future__ import annotations

import os
import platform
import sys


def describe() -> dict:
    """Versions of the stack and a description of the machine."""
    import keras
    import numpy
    import pandas
    import tensorflow as tf

    import mtzoo

    return {
        "versions": {
            "mtzoo": mtzoo.__version__,
            "python": sys.version.split()[0],
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": numpy.__version__,
            "pandas": pandas.__version__,
        },
        "hardware": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "processor": _cpu_model(),
            "cpu_count": os.cpu_count(),
            "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        },
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
