import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# Two test workers share two cores: OpenMP threads (gradient boosting's)
# spin-waiting for a core the other worker holds cost more than they gain.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# The same for TensorFlow's kernels: one thread per operation in each
# worker (and the processes tests start) ran the architecture tests in
# 120 s instead of 139 s; its scheduling threads stay as they are.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")

import keras  # noqa: E402
import pytest  # noqa: E402

import mtzoo  # noqa: E402
from mtzoo.data import synthetic  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


@pytest.fixture(scope="session")
def impressions():
    """A small simulated impression log, split into train and test."""
    frame = synthetic.impressions(8_000, num_users=120, num_items=80,
                                  seed=7)
    return frame.iloc[:6_400], frame.iloc[6_400:]


@pytest.fixture(scope="session")
def impression_features(impressions):
    train, _ = impressions
    return mtzoo.features.adapt(synthetic.impression_features(), train)


@pytest.fixture(autouse=True)
def _no_xla_unless_marked(request, monkeypatch):
    """Models compile without XLA (its compile takes longer than these
    small trainings: 150 s against 63 s for 18 of them), in this process
    and in the processes a test starts (`MTZOO_JIT_COMPILE=0`); tests
    marked `xla` keep the default."""
    if request.node.get_closest_marker("xla") is None:
        from mtzoo.models import multitask_model

        monkeypatch.setenv(multitask_model.JIT_COMPILE_VARIABLE, "0")

        monkeypatch.setattr(multitask_model.MultiTaskModel,
                            "_xla_by_default",
                            lambda self, strategy, kwargs: False)
