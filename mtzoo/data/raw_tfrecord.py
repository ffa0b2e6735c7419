"""TFRecord files of raw `tf.train.Example`s read as Arrow batches, so the
table recipe splits and streams them like Parquet or CSV shards.

Each feature of an Example becomes a column named after its key: bytes as
UTF-8 strings, floats as float32, integers as int64. A key holding at most
one value in every Example of the first `SCHEMA_RECORDS` is a scalar
column (null where an Example lacks it); a key holding several is a list
column (a multi-valued feature). Files ending in `.gz` are read as GZIP.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa

from mtzoo.features.base import DataError

#: Examples read to learn a file's columns, their value types and
#: whether each holds lists.
SCHEMA_RECORDS = 1_000
ENDINGS = (".tfrecord", ".tfrecord.gz", ".tfrecords", ".tfrec")

_VALUE_TYPES = {"bytes_list": "string", "float_list": "float32",
                "int64_list": "int64"}


def is_tfrecord(path: str) -> bool:
    return str(path).endswith(ENDINGS)


def _records(path: str):
    import tensorflow as tf

    return tf.data.TFRecordDataset(
        str(path), compression_type="GZIP" if str(path).endswith(".gz")
        else "")


def schema(path: str) -> dict[str, tuple[str, bool]]:
    """Column -> (value type, holds lists) of a file, from its first
    Examples."""
    import tensorflow as tf

    columns: dict[str, tuple[str, bool]] = {}
    try:
        for record in _records(path).take(SCHEMA_RECORDS):
            example = tf.train.Example.FromString(record.numpy())
            for name, feature in example.features.feature.items():
                field = feature.WhichOneof("kind")
                if field is None:
                    continue
                values = len(getattr(feature, field).value)
                known = columns.get(name)
                if known and known[0] != _VALUE_TYPES[field]:
                    raise DataError(
                        f"TFRecord file '{path}': feature '{name}' holds "
                        f"{known[0]} values in one Example and "
                        f"{_VALUE_TYPES[field]} in another.")
                columns[name] = (_VALUE_TYPES[field],
                                 values > 1 or bool(known and known[1]))
    except tf.errors.OpError as error:
        raise DataError(f"TFRecord file '{path}' could not be read: "
                        f"{error.message}") from None
    if not columns:
        raise DataError(f"TFRecord file '{path}' holds no Example with "
                        f"features.")
    return columns


def iter_batches(path: str, columns: Sequence[str] | None = None,
                 batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
    """Arrow batches of `batch_rows` Examples (of `columns`, or all)."""
    import tensorflow as tf

    types = schema(path)
    names = list(columns) if columns is not None else list(types)
    absent = [c for c in names if c not in types]
    if absent:
        raise DataError(f"TFRecord file '{path}' has no feature(s) "
                        f"{absent}; its features: {sorted(types)}.")
    spec = {name: tf.io.RaggedFeature(tf.as_dtype(types[name][0]))
            for name in names}
    parsed = _records(path).batch(batch_rows).map(
        lambda records: tf.io.parse_example(records, spec))
    first = 0
    try:
        for batch in parsed:
            arrays = []
            for name in names:
                try:
                    arrays.append(_column(batch[name], *types[name]))
                except ValueError as row:
                    raise DataError(
                        f"TFRecord file '{path}', Example {first + row.args[0]}"
                        f": feature '{name}' holds several values, where "
                        f"the first {SCHEMA_RECORDS} Examples held at most "
                        f"one.") from None
            yield pa.RecordBatch.from_arrays(arrays, names=names)
            first += len(arrays[0]) if arrays else 0
    except tf.errors.OpError as error:
        raise DataError(f"TFRecord file '{path}' could not be read: "
                        f"{error.message}") from None


def _column(ragged, value_type: str, lists: bool) -> pa.Array:
    """A ragged `[rows, None]` tensor as an Arrow column: lists, or one
    value per row (null where there is none)."""
    values = ragged.flat_values.numpy()
    if value_type == "string":
        values = np.array([v.decode("utf-8") for v in values], dtype=object)
    offsets = ragged.row_splits.numpy().astype(np.int32)
    if lists:
        return pa.ListArray.from_arrays(pa.array(offsets),
                                        pa.array(values))
    lengths = np.diff(offsets)
    if len(lengths) and lengths.max() > 1:
        raise ValueError(int(np.argmax(lengths > 1)))
    present = lengths > 0
    # Each row's first value (a scalar column holds at most one).
    firsts = np.empty(len(lengths), dtype=values.dtype)
    firsts[present] = values[offsets[:-1][present]]
    return pa.array(firsts, mask=~present, type=(
        pa.string() if value_type == "string" else pa.from_numpy_dtype(
            np.dtype(value_type))))
