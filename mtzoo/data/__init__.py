"""Data: DataFrame to tf.data conversion and dataset generators."""

from mtzoo.data import synthetic
from mtzoo.data.frames import feature_arrays
from mtzoo.data.frames import from_dataframe
from mtzoo.data.frames import label_arrays
from mtzoo.data.frames import model_inputs
from mtzoo.features import DataError

__all__ = [
    "DataError",
    "feature_arrays",
    "from_dataframe",
    "label_arrays",
    "model_inputs",
    "synthetic",
]
