"""Data: tf.data pipelines from DataFrames and files, dataset loaders.

Every pipeline yields batches of `(features, labels, sample_weights)` dicts
keyed by feature and task names, ready for `MultiTaskModel.fit`.
"""

import warnings

from mtzoo.data import datasets
from mtzoo.data import synthetic
from mtzoo.data.datasets.ali_ccp import ali_ccp
from mtzoo.data.datasets.aliexpress import aliexpress
from mtzoo.data.datasets.amazon_reviews import amazon_reviews
from mtzoo.data.datasets.bundle import DatasetBundle
from mtzoo.data.datasets.census_income import census_income
from mtzoo.data.datasets.movielens import movielens
from mtzoo.data.frames import batches_per_epoch
from mtzoo.data.histories import add_histories
from mtzoo.data.histories import sequence_windows
from mtzoo.data.frames import encoded_arrays
from mtzoo.data.frames import feature_arrays
from mtzoo.data.frames import from_dataframe
from mtzoo.data.frames import label_arrays
from mtzoo.data.frames import model_inputs
from mtzoo.data.pipeline import csv_chunks
from mtzoo.data.pipeline import from_csv
from mtzoo.data.pipeline import from_parquet
from mtzoo.data.pipeline import from_tfrecord
from mtzoo.data.pipeline import parquet_chunks
from mtzoo.data.pipeline import write_tfrecord
from mtzoo.data.readers import CsvFormat
from mtzoo.data.sources import DataUnavailableError
from mtzoo.features import DataError

__all__ = [
    "CsvFormat",
    "DataError",
    "DataUnavailableError",
    "DatasetBundle",
    "add_histories",
    "ali_ccp",
    "aliexpress",
    "amazon_reviews",
    "batches_per_epoch",
    "census_income",
    "datasets",
    "movielens",
    "csv_chunks",
    "encoded_arrays",
    "feature_arrays",
    "from_csv",
    "from_dataframe",
    "from_parquet",
    "from_tfrecord",
    "label_arrays",
    "model_inputs",
    "parquet_chunks",
    "sequence_windows",
    "synthetic",
    "write_tfrecord",
]

# `fit(shuffle=True)` is Keras's default, and Keras warns on every `fit` with
# a tf.data.Dataset that it cannot shuffle one. The pipelines above shuffle
# (by seed and epoch) themselves, so that advice does not apply to them.
warnings.filterwarnings(
    "ignore", message="`shuffle=True` was passed, but will be ignored since "
    "the data `x` was provided as a tf.data.Dataset", category=UserWarning)
