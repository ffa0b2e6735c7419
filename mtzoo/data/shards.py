"""A split of a table kept on disk as Parquet files and read in chunks,
never whole, so a table larger than memory trains like one in a DataFrame.

Wherever a recipe's `Splits` may hold either, the helpers here take both:
`dataset` (the training pipeline), `chunks` (what `adapt` streams),
`in_memory` (all of a DataFrame; an evenly spaced sample of a sharded split,
for what needs rows in memory: task statistics, evaluation, baselines) and
`head`.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import tensorflow as tf

from mtzoo.data import frames
from mtzoo.data import pipeline
from mtzoo.data import readers

#: Rows a chunk of a sharded split holds when streamed.
CHUNK_ROWS = 65_536


@dataclasses.dataclass(frozen=True)
class ShardedSplit:
    """Rows of one split in Parquet files (`paths`), `rows` in all."""

    paths: tuple
    rows: int

    def __len__(self) -> int:
        return self.rows

    @classmethod
    def of_files(cls, paths) -> "ShardedSplit":
        """The split of these Parquet files (rows from their metadata)."""
        paths = tuple(str(p) for p in paths)
        return cls(paths, sum(pq.ParquetFile(p).metadata.num_rows
                              for p in paths))

    def chunks(self, columns=None, chunk_rows: int = CHUNK_ROWS
               ) -> Iterator[pd.DataFrame]:
        """The rows as DataFrames of `chunk_rows` rows, file by file (of
        `columns`, or all)."""
        for path in self.paths:
            names = columns or pq.ParquetFile(path).schema_arrow.names
            yield from readers.iter_parquet(path, names, chunk_rows)

    def head(self, rows: int) -> pd.DataFrame:
        """The first `rows` rows."""
        taken, size = [], 0
        for chunk in self.chunks(chunk_rows=min(rows, CHUNK_ROWS)):
            taken.append(chunk.iloc[:rows - size].copy())
            size += len(taken[-1])
            if size >= rows:
                break
        return _concat(taken)

    def sample(self, rows: int, columns=None) -> pd.DataFrame:
        """At most `rows` rows (of `columns`, or all), evenly spaced through
        the split (every k-th row), so a sample of a time-ordered split
        spans its period."""
        step = self._step(rows)
        taken, position = [], 0
        # Rows are picked from Arrow batches and only they become Python
        # objects: converting every chunk to pandas first left the heap
        # fragmented by the sample's list values (+300 MB for 100,000 of
        # 11 million rows).
        for path in self.paths:
            names = columns or pq.ParquetFile(path).schema_arrow.names
            for batch in readers.iter_parquet_batches(path, names,
                                                      CHUNK_ROWS):
                first = (-position) % step
                taken.append(batch.take(np.arange(first, batch.num_rows,
                                                  step)))
                position += batch.num_rows
        frame = pa.Table.from_batches(taken).to_pandas().iloc[:rows]
        pa.default_memory_pool().release_unused()
        return frame

    def _step(self, rows: int) -> int:
        return max(1, -(-self.rows // rows))

    def sample_size(self, rows: int) -> int:
        """How many rows `sample(rows)` holds."""
        return -(-self.rows // self._step(rows))


def _concat(parts: list) -> pd.DataFrame:
    frame = pd.concat(parts) if len(parts) > 1 else parts[0]
    frame.attrs = dict(parts[0].attrs)
    return frame


def is_sharded(split) -> bool:
    return isinstance(split, ShardedSplit)


def in_memory(split, max_rows: int, columns=None) -> pd.DataFrame:
    """A DataFrame split as it is; a sharded one's evenly spaced sample of
    at most `max_rows` rows (of `columns`, or all)."""
    return split.sample(max_rows, columns) if is_sharded(split) else split


def rows_in_memory(split, max_rows: int) -> int:
    """How many rows `in_memory(split, max_rows)` holds."""
    return split.sample_size(max_rows) if is_sharded(split) else len(split)


def head(split, rows: int) -> pd.DataFrame:
    """The first `rows` rows of a split, either kind."""
    return split.head(rows) if is_sharded(split) else split.iloc[:rows]


def chunks(split):
    """What `mtzoo.features.adapt` streams: a DataFrame, or a sharded
    split's chunks."""
    return split.chunks() if is_sharded(split) else split


#: Batches a sharded split's shuffle buffer holds (rows are shuffled within
#: chunks as they are first read; once cached, batches are shuffled here).
SHUFFLE_BATCHES = 256


def dataset(split, features, tasks=None, *, batch_size: int,
            shuffle: bool = False, seed: int | None = None,
            first_epoch: int = 0, cache=None, full_batches: bool = False):
    """The batches of a split, either kind (`from_dataframe` or
    `from_parquet`; a sharded split's files are read two at a time, rows
    shuffled within chunks, then batches in a buffer).

    Every batch but the last holds `batch_size` rows, as from a DataFrame
    (not one smaller batch per file: each new batch shape would compile
    the XLA step again), and the dataset knows how many batches it has.
    `cache`: a file path under which a sharded split's encoded batches are
    kept after the first pass, so later epochs read them instead of
    parsing and encoding the files again. `full_batches`: a DataFrame's
    last batch filled to `batch_size` (`from_dataframe`)."""
    if not is_sharded(split):
        return frames.from_dataframe(split, features, tasks,
                                     batch_size=batch_size, shuffle=shuffle,
                                     seed=seed, first_epoch=first_epoch,
                                     full_batches=full_batches)
    batches = pipeline.from_parquet(
        list(split.paths), features, tasks, batch_size=batch_size,
        shuffle=shuffle, seed=None if seed is None else seed + first_epoch,
        chunk_rows=CHUNK_ROWS, shuffle_batches=SHUFFLE_BATCHES,
        cache=None if cache is None else str(cache))
    return batches.rebatch(batch_size).apply(
        tf.data.experimental.assert_cardinality(
            -(-split.rows // batch_size))).prefetch(tf.data.AUTOTUNE)


def files_of_worker(split, index: int, workers: int) -> ShardedSplit:
    """The files worker `index` of `workers` reads: every `workers`-th
    file from its own place (so file sizes even out)."""
    return ShardedSplit.of_files(split.paths[index::workers])


def steps_per_worker(split, workers: int, replica_batch: int) -> int:
    """Steps every worker takes per epoch when each reads its own files
    (`files_of_worker`): the full batches of the worker with the fewest
    rows, so all workers step together; the others leave their last
    rows of the epoch out (different ones each epoch, as rows are
    shuffled)."""
    fewest = min(len(files_of_worker(split, i, workers))
                 for i in range(workers))
    if fewest < replica_batch:
        raise ValueError(
            f"A worker's files hold {fewest} rows, fewer than a batch of "
            f"{replica_batch} per worker; use a smaller batch or fewer "
            f"workers.")
    return fewest // replica_batch


def distributed_dataset(strategy, split, features, tasks, *, batch_size: int,
                        shuffle: bool, seed: int | None, first_epoch: int = 0):
    """A sharded split's training batches for a multi-worker `strategy`,
    each worker reading only its own files (`files_of_worker`) in batches
    of `batch_size / workers` rows, every worker taking
    `steps_per_worker` steps per epoch. Batches are parsed from the files
    every epoch: an encoded cache would be left unfinished by the rows an
    epoch leaves out."""

    def worker_batches(context):
        replica_batch = context.get_per_replica_batch_size(batch_size)
        workers = context.num_input_pipelines
        steps = steps_per_worker(split, workers, replica_batch)
        own = files_of_worker(split, context.input_pipeline_id, workers)
        batches = dataset(own, features, tasks, batch_size=replica_batch,
                          shuffle=shuffle, seed=seed,
                          first_epoch=first_epoch)
        return batches.take(steps).apply(
            tf.data.experimental.assert_cardinality(steps))

    return strategy.distribute_datasets_from_function(worker_batches)


def sampled_splits(splits, max_rows: dict, columns=None):
    """`splits` (a recipe's `Splits`) with each sharded split named in
    `max_rows` (split name -> rows) replaced by its `in_memory` sample (of
    `columns`, or all)."""
    return dataclasses.replace(splits, **{
        name: in_memory(getattr(splits, name), rows, columns)
        for name, rows in max_rows.items()})


def label_columns(tasks) -> list:
    """The columns tasks read their labels (and weights) from."""
    return list(dict.fromkeys(c for task in tasks for c in task.columns))


def describe(split) -> dict | None:
    """A sharded split's files and rows (for `split.json`), else None."""
    if not is_sharded(split):
        return None
    return {"files": list(split.paths), "rows": split.rows}
