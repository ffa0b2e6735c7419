"""tf.data pipelines from CSV, Parquet and TFRecord files.

Every pipeline yields the same elements as `from_dataframe`: batches of
`(features, labels, sample_weights)` dicts keyed by feature and task names
(or feature dicts alone when no tasks are given).

CSV and Parquet files are streamed: a file larger than memory works. Rows
are shuffled within windows of `chunk_rows` rows, then whole batches are
shuffled in a buffer of `shuffle_batches`, and files are read in a random
order; all of it follows `seed`. A per-example shuffle buffer over the
whole table is avoided: it is slow and multiplies memory.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import threading
import zlib
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import tensorflow as tf

from mtzoo import features as features_lib
from mtzoo import tasks as tasks_lib
from mtzoo.atomic import atomic_path
from mtzoo.data import frames
from mtzoo.data import readers
from mtzoo.data.readers import CsvFormat

LABEL_PREFIX = "labels/"
WEIGHT_PREFIX = "sample_weights/"
#: Records a file read in parallel hands over at a time (`from_tfrecord`).
RECORDS_PER_HANDOFF = 256
#: `write_tfrecord`'s keys: each example's values of one storage type,
#: side by side in feature order (then labels and weights).
PACKED = {"int64": "packed/int64", "float": "packed/float",
          "bytes": "packed/bytes"}

Transform = Callable[[pd.DataFrame], pd.DataFrame]


def _paths(paths) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("No data files were given.")
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No such data file: '{path}'")
    return paths


def column_types(features, tasks=None) -> dict[str, str]:
    """The data columns specs read, each `"string"` or `"float"`."""
    types = {spec.source: spec.file_column_type() for spec in features}
    for task in tasks or ():
        for column in task.columns:
            types.setdefault(column, readers.FLOAT)
    return types


def _element_spec(features, tasks):
    feature_spec = {
        spec.name: tf.TensorSpec((None,) + tuple(spec.encoded_shape()),
                                 tf.as_dtype(spec.encoded_dtype()))
        for spec in features}
    if tasks is None:
        return feature_spec
    labels = {t.name: tf.TensorSpec((None, 1), tf.as_dtype(t.label_dtype))
              for t in tasks}
    weights = {t.name: tf.TensorSpec((None,), tf.float32) for t in tasks}
    return feature_spec, labels, weights


def _check_specs(features, tasks):
    features = features_lib.validate(features)
    features_lib.check_adapted(features)  # files are encoded as they stream
    tasks = None if tasks is None else tasks_lib.validate(tasks)
    return features, tasks


def _convert(chunk, features, tasks):
    x = frames.encoded_arrays(chunk, features)
    if tasks is None:
        return (x,)
    labels, weights = frames.label_arrays(chunk, tasks)
    return x, labels, weights


def _batches(chunks: Iterable[pd.DataFrame], features, tasks, batch_size,
             rng, drop_remainder, transform, grouped=False):
    """Converts chunks to arrays and re-cuts them into batches.

    With `grouped`, yields runs of whole batches (a multiple of `batch_size`
    rows) instead of single batches: one hand-over per chunk is much
    cheaper than one per batch when a generator feeds tf.data.
    """
    pending = None
    for chunk in chunks:
        if transform is not None:
            attrs = dict(chunk.attrs)
            chunk = transform(chunk)
            chunk.attrs.update(attrs)
        if len(chunk) == 0:
            continue
        arrays = _convert(chunk, features, tasks)
        if rng is not None:
            order = rng.permutation(len(chunk))
            arrays = _take(arrays, order)
        if pending is not None:
            arrays = _concat(pending, arrays)
        size = _size(arrays)
        full = size - size % batch_size
        if grouped and full:
            yield _unwrap(_take(arrays, slice(0, full)))
        else:
            for start in range(0, full, batch_size):
                yield _unwrap(_take(arrays, slice(start, start + batch_size)))
        pending = _take(arrays, slice(full, size)) if full < size else None
    if pending is not None and not drop_remainder:
        yield _unwrap(pending)


def _take(arrays, index):
    return tuple({k: v[index] for k, v in part.items()} for part in arrays)


def _concat(a, b):
    return tuple({k: np.concatenate([pa[k], pb[k]]) for k in pa}
                 for pa, pb in zip(a, b))


def _size(arrays):
    return len(next(iter(arrays[0].values())))


def _unwrap(arrays):
    return arrays[0] if len(arrays) == 1 else arrays


def _seed_for(seed, path, epoch):
    return None if seed is None else [seed, zlib.crc32(path.encode()), epoch]


def _streamed(paths, features, tasks, chunk_source, *, batch_size, shuffle,
              seed, shuffle_batches, drop_remainder, transform, cache, repeat,
              deterministic, num_parallel_files):
    features, tasks = _check_specs(features, tasks)
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"`batch_size` must be a positive integer. "
                         f"Received: batch_size={batch_size!r}")
    paths = _paths(paths)
    signature = _element_spec(features, tasks)
    # Each file's n-th reading (its n-th epoch) gets its own shuffling seed;
    # counted per file because files are opened in parallel threads.
    epochs = collections.Counter()
    lock = threading.Lock()

    def generate(path):
        path = path.decode() if isinstance(path, bytes) else path
        with lock:
            epoch = epochs[path]
            epochs[path] += 1
        rng = (np.random.default_rng(_seed_for(seed, path, epoch))
               if shuffle else None)
        yield from _batches(chunk_source(path), features, tasks, batch_size,
                            rng, drop_remainder, transform, grouped=True)

    def split(*group):
        group = group[0] if len(group) == 1 else group
        rows = tf.shape(tf.nest.flatten(group)[0])[0]
        starts = tf.data.Dataset.range(0, tf.cast(rows, tf.int64),
                                       batch_size)
        # Gathered, not sliced: a slice would keep its whole chunk alive
        # for as long as the shuffle buffer holds it, and batches of ever
        # more chunks linger there as a long epoch goes on.
        return starts.map(lambda start: tf.nest.map_structure(
            lambda t: tf.gather(t, tf.range(
                start, tf.minimum(start + batch_size, tf.cast(
                    rows, tf.int64)))), group))

    files = tf.data.Dataset.from_tensor_slices(paths)
    if shuffle and len(paths) > 1:
        files = files.shuffle(len(paths), seed=seed,
                              reshuffle_each_iteration=True)
    dataset = files.interleave(
        lambda path: tf.data.Dataset.from_generator(
            generate, args=(path,), output_signature=signature
        ).flat_map(split),
        cycle_length=min(num_parallel_files, len(paths)),
        num_parallel_calls=min(num_parallel_files, len(paths)),
        deterministic=deterministic)
    return _finish(dataset, shuffle=shuffle, seed=seed,
                   shuffle_batches=shuffle_batches, cache=cache,
                   repeat=repeat)


def _finish(dataset, *, shuffle, seed, shuffle_batches, cache, repeat):
    if cache is not None and cache is not False:
        dataset = dataset.cache("" if cache is True else os.fspath(cache))
    if shuffle and shuffle_batches > 1:
        dataset = dataset.shuffle(shuffle_batches, seed=seed,
                                  reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat(None if repeat is True else repeat)
    return dataset.prefetch(tf.data.AUTOTUNE)


def csv_chunks(paths, features, tasks=None, *, csv_format=CsvFormat(),
               columns: dict | None = None, chunk_rows: int = 65_536):
    """Streams CSV files as DataFrame chunks of the columns specs read.

    Useful to `adapt` features on files larger than memory:
    `mtzoo.features.adapt(features, csv_chunks(paths, features))`.
    """
    columns = columns or column_types(features_lib.validate(features), tasks)
    for path in _paths(paths):
        yield from readers.iter_csv(path, columns, csv_format, chunk_rows)


def parquet_chunks(paths, features, tasks=None, *,
                   columns: Sequence[str] | None = None,
                   chunk_rows: int = 65_536):
    """Streams Parquet files as DataFrame chunks of the columns specs read."""
    columns = columns or list(column_types(features_lib.validate(features),
                                           tasks))
    for path in _paths(paths):
        yield from readers.iter_parquet(path, columns, chunk_rows)


def from_csv(
    paths,
    features,
    tasks=None,
    *,
    batch_size: int = 256,
    shuffle: bool = False,
    seed: int | None = None,
    csv_format: CsvFormat = CsvFormat(),
    columns: dict | None = None,
    transform: Transform | None = None,
    chunk_rows: int = 65_536,
    shuffle_batches: int = 16,
    drop_remainder: bool = False,
    cache=None,
    repeat=None,
    deterministic: bool = True,
    num_parallel_files: int = 2,
) -> tf.data.Dataset:
    """A `tf.data.Dataset` of dict batches streamed from CSV files.

    Args:
        paths: a CSV file or a list of them, plain or gzip (`.gz`).
        features: adapted feature specs.
        tasks: task specs, or None for feature batches only.
        batch_size: int. Examples per batch. Defaults to 256.
        shuffle: bool. Shuffle (see the module docstring). Defaults to False.
        seed: int. Seed of all shuffling.
        csv_format: a `CsvFormat` (delimiter, header, null values, ...).
        columns: dict column -> `"string"` or `"float"` to read, when a
            `transform` needs other columns than the specs. Defaults to the
            columns the specs read.
        transform: a function applied to each DataFrame chunk before
            conversion, e.g. to derive label columns.
        chunk_rows: int. Rows converted (and shuffled) together.
        shuffle_batches: int. Size of the buffer of batches shuffled.
        drop_remainder: bool. Drop each file's last, smaller batch.
        cache: True caches converted batches in memory after the first
            epoch; a path caches them in that file. Defaults to None.
        repeat: True repeats forever, an int that many times.
        deterministic: bool. Keep the element order fixed (given `seed`)
            when reading files in parallel. Defaults to True.
        num_parallel_files: int. Files read at once. Defaults to 2.

    Raises:
        DataError: naming the file, line and column of malformed lines,
            missing columns and values of the wrong type.
    """
    columns = columns or column_types(features_lib.validate(features), tasks)
    for path in _paths(paths):  # fail now, not in the middle of `fit`
        readers.check_csv_columns(path, columns, csv_format)
    return _streamed(
        paths, features, tasks,
        lambda path: readers.iter_csv(path, columns, csv_format, chunk_rows),
        batch_size=batch_size, shuffle=shuffle, seed=seed,
        shuffle_batches=shuffle_batches, drop_remainder=drop_remainder,
        transform=transform, cache=cache, repeat=repeat,
        deterministic=deterministic, num_parallel_files=num_parallel_files)


def from_parquet(
    paths,
    features,
    tasks=None,
    *,
    batch_size: int = 256,
    shuffle: bool = False,
    seed: int | None = None,
    columns: Sequence[str] | None = None,
    transform: Transform | None = None,
    chunk_rows: int = 65_536,
    shuffle_batches: int = 16,
    drop_remainder: bool = False,
    cache=None,
    repeat=None,
    deterministic: bool = True,
    num_parallel_files: int = 2,
) -> tf.data.Dataset:
    """A `tf.data.Dataset` of dict batches streamed from Parquet files.

    Arguments are those of `from_csv` (without `csv_format`; `columns` is a
    list of column names).
    """
    columns = columns or list(column_types(features_lib.validate(features),
                                           tasks))
    for path in _paths(paths):  # fail now, not in the middle of `fit`
        readers.check_parquet_columns(path, columns)
    return _streamed(
        paths, features, tasks,
        lambda path: readers.iter_parquet(path, columns, chunk_rows),
        batch_size=batch_size, shuffle=shuffle, seed=seed,
        shuffle_batches=shuffle_batches, drop_remainder=drop_remainder,
        transform=transform, cache=cache, repeat=repeat,
        deterministic=deterministic, num_parallel_files=num_parallel_files)


# === TFRecord ===


def _compression(path: str, compression: str | None) -> str:
    if compression == "auto":
        return "GZIP" if path.endswith(".gz") else ""
    return compression or ""


def write_tfrecord(
    data,
    path,
    features,
    tasks=None,
    *,
    compression: str | None = "auto",
    transform: Transform | None = None,
) -> int:
    """Writes encoded examples to a TFRecord file, atomically.

    Each `tf.train.Example` holds the row's features encoded as the model
    input takes them (ids and floats, for these adapted specs), then each
    task's label and sample weight, packed in one list per storage type
    (`PACKED`: integers, floats, bytes) in the order of the specs, so
    reading parses two or three keys per example rather than one per
    feature, and needs no further conversion (`from_tfrecord`, given the
    same specs). The file appears whole or not at all.

    Args:
        data: a DataFrame, or an iterable of DataFrame chunks (such as
            `csv_chunks(...)`).
        path: the output file; `.gz` means GZIP compression with
            `compression="auto"`.
        features: adapted feature specs.
        tasks: task specs, or None.
        compression: `"auto"`, `"GZIP"`, `"ZLIB"` or None.
        transform: applied to each chunk first, as in `from_csv`.

    Returns:
        The number of examples written.
    """
    features, tasks = _check_specs(features, tasks)
    path = os.fspath(path)
    chunks = [data] if isinstance(data, pd.DataFrame) else data
    count = 0
    slots, _ = _layout(features, tasks)
    options = tf.io.TFRecordOptions(_compression(path, compression))
    with atomic_path(path) as temporary:
        with tf.io.TFRecordWriter(temporary, options) as writer:
            for batch in _batches(chunks, features, tasks, 4096, None, False,
                                  transform):
                for example in _examples(batch, tasks, slots):
                    writer.write(example)
                    count += 1
    return count


@dataclasses.dataclass(frozen=True)
class _Slot:
    """Where one feature's (or label's, or weight's) values sit in a
    packed example: `size` values of storage `group` from `offset`."""

    key: str
    group: str
    offset: int
    size: int
    shape: tuple


def _layout(features, tasks) -> tuple[list[_Slot], dict[str, int]]:
    """The slots of every feature, label and weight, and each storage
    group's width."""
    entries = [(f.name, tuple(f.encoded_shape()), f.encoded_dtype())
               for f in features]
    for t in tasks or ():
        entries += [(LABEL_PREFIX + t.name, (1,), t.label_dtype),
                    (WEIGHT_PREFIX + t.name, (), "float32")]
    widths, slots = dict.fromkeys(PACKED, 0), []
    for key, shape, dtype in entries:
        dtype = tf.as_dtype(dtype)
        group = ("bytes" if dtype == tf.string else "int64"
                 if dtype.is_integer or dtype == tf.bool else "float")
        size = int(np.prod(shape, dtype=np.int64))
        slots.append(_Slot(key, group, widths[group], size, shape))
        widths[group] += size
    return slots, widths


def _examples(batch, tasks, slots):
    """Serialized `tf.train.Example`s of one batch of converted arrays,
    packed: one list per storage group (`PACKED`), so reading parses a
    few keys per example rather than one per feature."""
    if tasks is None:
        batch = (batch,)
    columns = dict(batch[0])
    if tasks is not None:
        columns.update({LABEL_PREFIX + k: v for k, v in batch[1].items()})
        columns.update({WEIGHT_PREFIX + k: v for k, v in batch[2].items()})
    size = len(next(iter(columns.values())))
    # Values become per-row Python lists once per group, which is several
    # times faster than converting cell by cell.
    makers = {}
    for group in PACKED:
        parts = [np.asarray(columns[s.key]).reshape(size, -1)
                 for s in slots if s.group == group]
        if not parts:
            continue
        if group == "bytes":
            rows = [[str(v).encode() for v in row]
                    for row in np.hstack([p.astype(object) for p in parts])]
            make = lambda r: tf.train.Feature(  # noqa: E731
                bytes_list=tf.train.BytesList(value=r))
        elif group == "int64":
            rows = np.hstack([p.astype(np.int64) for p in parts]).tolist()
            make = lambda r: tf.train.Feature(  # noqa: E731
                int64_list=tf.train.Int64List(value=r))
        else:
            rows = np.hstack([p.astype(np.float32) for p in parts]).tolist()
            make = lambda r: tf.train.Feature(  # noqa: E731
                float_list=tf.train.FloatList(value=r))
        makers[PACKED[group]] = (rows, make)
    for i in range(size):
        yield tf.train.Example(features=tf.train.Features(feature={
            key: make(rows[i]) for key, (rows, make) in makers.items()
        })).SerializeToString()


def _is_packed(path: str, compression: str) -> bool:
    """Whether the file's first example is `write_tfrecord`'s packed
    layout (an empty file counts as packed)."""
    for record in tf.data.TFRecordDataset(
            path, compression_type=compression).take(1):
        keys = tf.train.Example.FromString(
            record.numpy()).features.feature.keys()
        return any(key in PACKED.values() for key in keys)
    return True


def _example_dtype(dtype) -> tf.DType:
    """The dtype a tf.Example stores values of `dtype` in."""
    return tf.int64 if tf.as_dtype(dtype).is_integer else tf.float32


def _parse_spec(features, tasks):
    spec = {}
    for f in features:
        # tf.Example stores integers as int64; ids are cast back to int32.
        spec[f.name] = tf.io.FixedLenFeature(list(f.encoded_shape()),
                                             _example_dtype(f.encoded_dtype()))
    for t in tasks or ():
        # tf.Example stores integers as int64: cast back in `parse`.
        spec[LABEL_PREFIX + t.name] = tf.io.FixedLenFeature(
            [1], _example_dtype(t.label_dtype))
        spec[WEIGHT_PREFIX + t.name] = tf.io.FixedLenFeature([], tf.float32)
    return spec


def from_tfrecord(
    paths,
    features,
    tasks=None,
    *,
    batch_size: int = 256,
    shuffle: bool = False,
    seed: int | None = None,
    shuffle_buffer: int | None = None,
    drop_remainder: bool = False,
    compression: str | None = "auto",
    cache=None,
    repeat=None,
    deterministic: bool = True,
    num_parallel_files: int = 2,
) -> tf.data.Dataset:
    """A `tf.data.Dataset` of dict batches from files of `write_tfrecord`.

    Serialized records are shuffled in a buffer of `shuffle_buffer` (default
    16 batches; cheap, they are bytes), batched, then parsed in parallel
    with `tf.io.parse_example`. Other arguments are those of `from_csv`.
    """
    features, tasks = _check_specs(features, tasks)
    paths = _paths(paths)
    # Each file's compression travels with it: a list may mix .gz files
    # and plain ones.
    files = tf.data.Dataset.from_tensor_slices(
        (paths, [_compression(p, compression) for p in paths]))
    if shuffle and len(paths) > 1:
        files = files.shuffle(len(paths), seed=seed,
                              reshuffle_each_iteration=True)
    parallel = min(num_parallel_files, len(paths))
    if parallel > 1:
        # Files read in parallel hand records to this thread in blocks:
        # handing over each small record across threads costs more than
        # reading it (a one-file read was 7x slower that way on 2 cores).
        records = files.interleave(
            lambda path, compression_type: tf.data.TFRecordDataset(
                path, compression_type=compression_type).batch(
                    RECORDS_PER_HANDOFF),
            cycle_length=parallel, num_parallel_calls=parallel,
            deterministic=deterministic).unbatch()
    else:
        records = files.interleave(
            lambda path, compression_type: tf.data.TFRecordDataset(
                path, compression_type=compression_type), cycle_length=1)
    if shuffle:
        records = records.shuffle(shuffle_buffer or 16 * batch_size,
                                  seed=seed, reshuffle_each_iteration=True)
    if _is_packed(paths[0], _compression(paths[0], compression)):
        slots, widths = _layout(features, tasks)
        parse_spec = {PACKED[group]: tf.io.FixedLenFeature(
            [width], {"int64": tf.int64, "float": tf.float32,
                      "bytes": tf.string}[group])
            for group, width in widths.items() if width}
    else:  # a file of an earlier mtzoo: one key per feature
        slots, parse_spec = None, _parse_spec(features, tasks)

    def parse(serialized):
        parsed = tf.io.parse_example(serialized, parse_spec)
        if slots is not None:
            parsed = {s.key: tf.reshape(
                parsed[PACKED[s.group]][:, s.offset:s.offset + s.size],
                [-1, *s.shape]) for s in slots}
        x = {f.name: tf.cast(parsed[f.name], f.encoded_dtype())
             for f in features}
        if tasks is None:
            return x
        labels = {t.name: tf.cast(parsed[LABEL_PREFIX + t.name],
                                  t.label_dtype) for t in tasks}
        weights = {t.name: parsed[WEIGHT_PREFIX + t.name] for t in tasks}
        return x, labels, weights

    dataset = records.batch(batch_size, drop_remainder=drop_remainder).map(
        parse, num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic)
    return _finish(dataset, shuffle=False, seed=seed, shuffle_batches=0,
                   cache=cache, repeat=repeat)
