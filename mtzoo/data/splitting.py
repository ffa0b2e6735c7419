"""Splitting a table larger than memory: each row's split is decided from
the row alone (a seeded hash of a key column or of the row's place in its
file, or its time against cut-offs), and the rows are written to Parquet
files per split in one streamed pass over the table's shards.

The split files are cached by the shards' paths, sizes and modification
times, the columns and the rule, so runs and search trials on the same
table split it once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import shutil
import tempfile
from typing import Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from mtzoo.data import raw_tfrecord
from mtzoo.data import readers
from mtzoo.data import sources
from mtzoo.data.shards import ShardedSplit
from mtzoo.features.base import DataError

SPLIT_NAMES = ("train", "validation", "test")
#: Rows read at a time from a shard.
BATCH_ROWS = 65_536
#: Time values kept per batch to place a time split's cut-offs (a seeded
#: sample: the cut-offs are quantiles of at most this many values per
#: `BATCH_ROWS` rows).
TIME_SAMPLE_PER_BATCH = 4_096


def arrow_types(frame: pd.DataFrame) -> dict:
    """Arrow types to read CSV columns as, from a sample of them in pandas
    (integers, floats and booleans as such; anything else as strings)."""
    types = {}
    for column, dtype in frame.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype):
            types[column] = pa.bool_()
        elif pd.api.types.is_integer_dtype(dtype):
            types[column] = pa.int64()
        elif pd.api.types.is_float_dtype(dtype):
            types[column] = pa.float64()
        else:
            types[column] = pa.string()
    return types


def _is_parquet(path: str) -> bool:
    return path.endswith((".parquet", ".pq"))


def read_batches(path: str, columns: Sequence[str], csv_types: dict
                 ) -> Iterator[pa.RecordBatch]:
    """Arrow batches of `columns` of a Parquet, CSV or TFRecord shard
    (CSV columns typed by `csv_types`: column -> Arrow type; TFRecord
    files of raw `tf.train.Example`s, `mtzoo.data.raw_tfrecord`)."""
    if raw_tfrecord.is_tfrecord(path):
        yield from raw_tfrecord.iter_batches(path, columns, BATCH_ROWS)
        return
    if _is_parquet(path):
        yield from readers.iter_parquet_batches(path, columns, BATCH_ROWS)
        return
    try:
        reader = pa_csv.open_csv(
            path, read_options=pa_csv.ReadOptions(
                block_size=1 << 24),
            convert_options=pa_csv.ConvertOptions(
                column_types={c: csv_types[c] for c in columns},
                include_columns=list(columns)))
        yield from reader
    except (pa.ArrowInvalid, KeyError) as error:
        raise DataError(f"CSV file '{path}' could not be read with columns "
                        f"{list(columns)}: {error}") from None


@dataclasses.dataclass(frozen=True)
class SplitRule:
    """Which split a row belongs to.

    Attributes:
        split: `"random"`: a seeded hash of `key` (rows sharing a key stay
            together) or, without `key`, of the row's file and place in it,
            puts `test_fraction` of rows in test and `validation_fraction`
            in validation; `"time"`: rows before `cutoffs[0]` of
            `time_column` train, those before `cutoffs[1]` validate, the
            rest test.
        cutoffs: learned by `with_time_cutoffs` for a time split.
    """

    split: str
    validation_fraction: float = 0.1
    test_fraction: float = 0.2
    seed: int = 0
    key: str | None = None
    time_column: str | None = None
    cutoffs: tuple | None = None

    @property
    def by_time(self) -> bool:
        return self.split == "time"

    @property
    def column(self) -> str | None:
        return self.time_column if self.by_time else self.key

    def assign(self, batch: pa.RecordBatch, file_index: int,
               first_row: int, path: str) -> np.ndarray:
        """Each row's split (0 train, 1 validation, 2 test)."""
        if self.by_time:
            return self._by_time(batch, first_row, path)
        if self.key is not None:
            values = batch.column(self.key).to_pandas()
            hashed = pd.util.hash_pandas_object(values, index=False).to_numpy()
        else:
            hashed = np.arange(first_row, first_row + batch.num_rows,
                               dtype=np.uint64) + (np.uint64(file_index) << 40)
        # Mixed again with the seed (pandas' hash of numbers takes no key).
        seed = np.uint64((0x9E3779B97F4A7C15 * (self.seed + 1)) % 2 ** 64)
        hashed = pd.util.hash_array(hashed ^ seed)
        uniform = (hashed >> np.uint64(11)).astype(np.float64) / 2.0 ** 53
        return np.where(uniform < self.test_fraction, 2, np.where(
            uniform < self.test_fraction + self.validation_fraction, 1, 0))

    def _by_time(self, batch, first_row, path) -> np.ndarray:
        raw = batch.column(self.time_column).to_numpy(zero_copy_only=False)
        missing = pd.isna(raw)
        if missing.any():
            row = first_row + int(np.flatnonzero(missing)[0])
            raise DataError(
                f"'{path}', row {row}: the time column "
                f"'{self.time_column}' is missing; a time split needs it "
                f"on every row.")
        values = _times(raw, self.time_column, path, first_row)
        validation_from, test_from = self.cutoffs
        return np.where(values < validation_from, 0,
                        np.where(values < test_from, 1, 2))


def time_order(values) -> tuple[np.ndarray, np.ndarray]:
    """`(times, bad)`: a time column's values as numbers in time order, and
    which values are neither numbers nor dates. Numbers stay as they are;
    dates and times (datetime values, or strings such as "2013-01-01
    05:00", "2013-01-01T05:00:00Z" or "1/13/2013", month first, in one
    format per column) become nanoseconds since 1970 in UTC, so a column
    of dates written day by day splits in time, not in text order."""
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.number):
        return values, np.zeros(len(values), bool)
    series = pd.Series(values)
    try:
        parsed = pd.to_datetime(series, utc=True)
    except (ValueError, TypeError, OverflowError):
        parsed = pd.to_datetime(series, utc=True, errors="coerce",
                                format="mixed")
    bad = (parsed.isna() & series.notna()).to_numpy()
    times = parsed.dt.tz_localize(None).to_numpy("datetime64[ns]")
    return times.astype(np.int64), bad


def _times(values, column: str, path, first_row: int = 0) -> np.ndarray:
    """`time_order`'s times, or an error naming the first bad value."""
    times, bad = time_order(values)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"'{path}', row {first_row + position}: the time column "
            f"'{column}' has {values[position]!r}; expected numbers or "
            f"dates and times.")
    return times


def with_time_cutoffs(rule: SplitRule, paths, csv_types: dict
                      ) -> SplitRule:
    """`rule` (a time split) with its cut-offs: the quantiles of the time
    column at `1 - validation - test` and `1 - test`, over a seeded sample
    of `TIME_SAMPLE_PER_BATCH` values per batch read."""
    rng = np.random.default_rng(rule.seed)
    sample = []
    for path in paths:
        for batch in read_batches(path, [rule.time_column], csv_types):
            values = _times(batch.column(0).drop_null().to_numpy(
                zero_copy_only=False), rule.time_column, path)
            if len(values) > TIME_SAMPLE_PER_BATCH:
                values = rng.choice(values, TIME_SAMPLE_PER_BATCH,
                                    replace=False)
            sample.append(values)
    values = np.sort(np.concatenate(sample)) if sample else np.array([])
    if not len(values):
        raise DataError(f"The time column '{rule.time_column}' has no "
                        f"values in {paths[0]}.")
    at = [1.0 - rule.validation_fraction - rule.test_fraction,
          1.0 - rule.test_fraction]
    cutoffs = tuple(values[min(int(q * len(values)), len(values) - 1)]
                    for q in at)
    return dataclasses.replace(rule, cutoffs=tuple(
        v.item() if hasattr(v, "item") else v for v in cutoffs))


def _cache_folder(paths, columns, rule: SplitRule) -> pathlib.Path:
    stats = [(os.path.abspath(p), os.path.getsize(p),
              os.stat(p).st_mtime_ns) for p in paths]
    key = json.dumps({"version": 1, "inputs": stats,
                      "columns": sorted(columns),
                      "rule": dataclasses.asdict(rule)}, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return sources.cache_root() / "splits" / digest


def split_files(paths: Sequence[str], columns: Sequence[str],
                rule: SplitRule, *, csv_types: dict | None = None,
                folder=None) -> dict[str, ShardedSplit]:
    """Splits the rows of `paths` (Parquet or CSV shards; `columns` of
    them) by `rule` into Parquet files per split and returns each split.

    The files go to `folder`, by default a cache folder keyed by the
    inputs and the rule, written whole or not at all (a folder renamed
    into place); a second call with the same inputs reads the cache.
    """
    paths = list(paths)
    csv_types = csv_types or {}
    columns = list(dict.fromkeys(
        [*columns, *([rule.column] if rule.column else [])]))
    if rule.by_time and rule.cutoffs is None:
        rule = with_time_cutoffs(rule, paths, csv_types)
    target = pathlib.Path(folder) if folder else _cache_folder(
        paths, columns, rule)
    manifest = target / "manifest.json"
    if not manifest.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = pathlib.Path(tempfile.mkdtemp(
            dir=target.parent, prefix=f".{target.name}."))
        try:
            written = _write(paths, columns, rule, csv_types, temporary)
            (temporary / "manifest.json").write_text(json.dumps(
                {"inputs": paths, "columns": columns,
                 "rule": dataclasses.asdict(rule), "splits": written},
                default=str, indent=1))
            try:
                os.replace(temporary, target)
            except OSError:  # another process (a worker) finished first
                if not manifest.is_file():
                    raise
        finally:
            if temporary.exists():
                shutil.rmtree(temporary)
    splits = json.loads(manifest.read_text())["splits"]
    return {name: ShardedSplit(
        tuple(str(target / f) for f in splits[name]["files"]),
        splits[name]["rows"]) for name in SPLIT_NAMES}


def _write(paths, columns, rule, csv_types, folder) -> dict:
    written = {name: {"files": [], "rows": 0} for name in SPLIT_NAMES}
    for index, path in enumerate(paths):
        writers, first_row = {}, 0
        try:
            for batch in read_batches(path, columns, csv_types):
                assigned = rule.assign(batch, index, first_row, path)
                first_row += batch.num_rows
                for code, name in enumerate(SPLIT_NAMES):
                    mask = assigned == code
                    if not mask.any():
                        continue
                    if name not in writers:
                        file = f"{name}-{index:05d}.parquet"
                        writers[name] = pq.ParquetWriter(
                            str(folder / file), batch.schema)
                        written[name]["files"].append(file)
                    writers[name].write_batch(
                        batch.filter(pa.array(mask)))
                    written[name]["rows"] += int(mask.sum())
        finally:
            for writer in writers.values():
                writer.close()
    empty = [name for name in SPLIT_NAMES if not written[name]["rows"]]
    if empty:
        raise DataError(
            f"Splitting {len(paths)} file(s) ({paths[0]}, ...) by "
            f"{rule.split} left no rows in {empty}: too few rows, or a "
            f"fraction or cut-off that leaves none.")
    return written

