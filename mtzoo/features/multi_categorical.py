"""A variable-length list of categorical values, embedded and pooled."""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np
import pandas as pd
import tensorflow as tf

from mtzoo.features import base
from mtzoo.features.base import INT64
from mtzoo.features.base import MISSING_INT
from mtzoo.features.base import MISSING_STRING
from mtzoo.features.base import STRING
from mtzoo.features.categorical import CategoricalFeature

POOLINGS = ("mean", "sum", "max")
#: The encoded id of a padding position (masked out by pooling).
PADDING_ID = -1


@dataclasses.dataclass(frozen=True)
class MultiCategoricalFeature(CategoricalFeature):
    """A variable-length list of categorical values, embedded and pooled.

    For genres, tags or a history of item ids. In a DataFrame a cell is a
    list (or array) of values, or a string joined by `separator`. The raw
    input is a padded `[batch, length]` tensor of any length (padding: `""`
    for strings, `-1` for integers); the first `max_length` values are
    kept.

    Args:
        name: str. Feature name; also the model input name.
        max_length: int. Values kept per example. Learned by `adapt` (the
            longest list seen) when None.
        pooling: str. How the value embeddings are combined: `"mean"`,
            `"sum"` or `"max"`. Defaults to `"mean"`.
        separator: str. Splits string cells such as `"Action|Comedy"`.
            Defaults to None (cells are lists).
        **categorical_args: see `CategoricalFeature`.
    """

    kind: ClassVar[str] = "multi_categorical"
    #: The poolings this kind accepts.
    poolings: ClassVar[tuple] = POOLINGS
    max_length: int | None = None
    pooling: str = "mean"
    separator: str | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.pooling not in self.poolings:
            raise ValueError(
                f"Feature '{self.name}': `pooling` must be one of "
                f"{self.poolings}. Received: pooling={self.pooling!r}"
            )
        if self.max_length is not None:
            base.check_positive_int(self, "max_length")

    @property
    def is_adapted(self) -> bool:
        return super().is_adapted and self.max_length is not None

    def missing_state(self) -> str:
        missing = [super().missing_state()] if not super().is_adapted else []
        if not self.max_length:
            missing.append("max_length")
        return ", ".join(m for m in missing if m)

    # === Raw input ===

    def input_shape(self) -> tuple:
        return (None,)

    def file_column_type(self) -> str:
        return "string"  # lists are separated strings in files

    def example_spec(self):
        return tf.io.RaggedFeature(
            tf.int64 if self.dtype == INT64 else tf.string)

    def from_example(self, parsed):
        pad = MISSING_INT if self.dtype == INT64 else MISSING_STRING
        return parsed.to_tensor(default_value=pad)

    def example_feature(self, value):
        if self.dtype == INT64:
            return tf.train.Feature(int64_list=tf.train.Int64List(
                value=[int(v) for v in value if v != MISSING_INT]))
        return tf.train.Feature(bytes_list=tf.train.BytesList(
            value=[str(v).encode() for v in value if v != MISSING_STRING]))

    def _lists(self, frame: pd.DataFrame) -> list[list]:
        base.require_column(frame, self.source, f"Feature '{self.name}'")
        lists = []
        for position, cell in enumerate(frame[self.source].to_numpy()):
            if isinstance(cell, str):
                if self.separator is None:
                    raise base.DataError(
                        f"Feature '{self.name}' is multi-valued but column "
                        f"'{self.source}' holds a string at "
                        f"{base.describe_row(frame, position)}: {base.plain(cell)!r}. "
                        f"Set `separator` to split such strings, or store "
                        f"lists.")
                items = [t for t in cell.split(self.separator) if t != ""]
            elif cell is None or (np.isscalar(cell) and pd.isna(cell)):
                items = []
            elif isinstance(cell, (list, tuple, np.ndarray)):
                items = list(cell)
            else:
                raise base.DataError(
                    f"Feature '{self.name}' is multi-valued but column "
                    f"'{self.source}' holds {type(cell).__name__} "
                    f"{base.plain(cell)!r} at {base.describe_row(frame, position)}; "
                    f"expected a list or a separated string.")
            lists.append(items)
        return lists

    def _convert_items(self, items, frame, position):
        if self.dtype == INT64:
            out = []
            for item in items:
                try:
                    value = float(item)
                except (TypeError, ValueError):
                    value = math.nan
                if not math.isfinite(value) or value != int(value):
                    if base.is_missing(item):
                        continue
                    raise base.DataError(
                        f"Feature '{self.name}' expects integer ids in "
                        f"column '{self.source}', but "
                        f"{base.describe_row(frame, position)} has {base.plain(item)!r}")
                out.append(int(value))
            return out
        return [base.to_token(item) for item in items
                if not base.is_missing(item)]

    def _converted(self, frame) -> list[list]:
        return [self._convert_items(items, frame, position)
                for position, items in enumerate(self._lists(frame))]

    def _flat(self, frame) -> tuple[np.ndarray, np.ndarray]:
        """`(values, lengths)`: every row's values as the model reads
        them, one after another, and how many each row has."""
        flat = _FlatLists.of(self, frame)
        if flat is not None:
            return flat.values, flat.lengths
        lists = self._converted(frame)
        lengths = np.fromiter(map(len, lists), np.int64, len(lists))
        values = [v for items in lists for v in items]
        return (np.asarray(values, dtype=np.int64 if self.dtype == INT64
                           else object), lengths)

    def value_lists(self, frame: pd.DataFrame) -> list[list]:
        """Each row's values, as the model reads them (ids or tokens)."""
        values, lengths = self._flat(frame)
        if not len(lengths):
            return []
        return [part.tolist() for part in
                np.split(values, np.cumsum(lengths)[:-1])]

    def to_array(self, frame: pd.DataFrame) -> np.ndarray:
        """Lists padded to the longest in `frame` (at least 1); the
        preprocessing stage keeps the first `max_length`."""
        values, lengths = self._flat(frame)
        length = max(int(lengths.max(initial=1)), 1)
        if self.dtype == INT64:
            out = np.full((len(lengths), length), MISSING_INT, np.int64)
        else:
            out = np.full((len(lengths), length), MISSING_STRING, object)
        rows = np.repeat(np.arange(len(lengths)), lengths)
        starts = np.cumsum(lengths) - lengths
        out[rows, np.arange(len(values)) - starts[rows]] = values
        return out

    def tokens(self, frame: pd.DataFrame) -> np.ndarray:
        return self._flat(frame)[0]

    # === Adapt ===

    def observe(self, chunk, statistics):
        spec = self if self.dtype else dataclasses.replace(
            self, dtype=infer_list_dtype(chunk, self))
        flat = _FlatLists.of(spec, chunk)
        if flat is None:  # row by row, which names a bad cell
            spec = CategoricalFeature.observe(spec, chunk, statistics)
            longest = max((len(x) for x in spec._lists(chunk)), default=1)
        else:
            if spec.learns_vocabulary:
                spec.count_tokens(flat.values, statistics)
            longest = int(flat.raw_lengths.max(initial=1))
        statistics.longest[self.name] = max(statistics.longest[self.name],
                                            longest)
        return spec

    def adapted(self, statistics, features):
        spec = super().adapted(statistics, features)
        if spec.max_length:
            return spec
        return dataclasses.replace(
            spec, max_length=max(statistics.longest[self.name], 1))

    # === Preprocessing stage ===

    def encoded_shape(self) -> tuple:
        return (self.max_length,)

    def raw_lists(self, raw):
        """`(lists, pad)`: the raw input as a checked `[batch, length]`
        tensor, and its padding value as a tensor of its dtype."""
        raw = self.checked_raw(tf.convert_to_tensor(raw))
        if raw.shape.rank == 1:
            raw = tf.expand_dims(raw, -1)
        pad = MISSING_INT if self.dtype == INT64 else MISSING_STRING
        return raw, tf.constant(pad, raw.dtype)

    def lookup_values(self, raw):
        """The first `max_length` values, padded: `[batch, max_length]`."""
        raw, pad = self.raw_lists(raw)
        raw = raw[:, : self.max_length]
        raw = tf.pad(raw, [[0, 0], [0, self.max_length - tf.shape(raw)[1]]],
                     constant_values=pad)
        return tf.ensure_shape(raw, (None, self.max_length))

    def from_ids(self, ids, values):
        pad = MISSING_INT if self.dtype == INT64 else MISSING_STRING
        return tf.where(tf.equal(values, pad), PADDING_ID, ids)

    # === Model stage ===

    def embedding_ids(self, encoded):
        return tf.maximum(encoded, 0)  # padding reads row 0, masked below

    def encode(self, encoded, layer, compute_dtype):
        present = encoded >= 0
        vectors = tf.cast(layer, compute_dtype)
        mask = tf.cast(tf.expand_dims(present, -1), compute_dtype)
        if self.pooling == "max":
            very_negative = tf.cast(-1e9, compute_dtype)
            pooled = tf.reduce_max(
                tf.where(mask > 0, vectors, very_negative), axis=1)
            has_value = tf.reduce_any(present, axis=1, keepdims=True)
            return tf.where(has_value, pooled, tf.zeros_like(pooled))
        total = tf.reduce_sum(vectors * mask, axis=1)
        if self.pooling == "sum":
            return total
        return tf.math.divide_no_nan(total, tf.reduce_sum(mask, axis=1))


@dataclasses.dataclass
class _FlatLists:
    """A column of lists converted without a Python loop over its items
    (adapting and encoding are otherwise dominated by it: 90% of `adapt`
    on a table with one list column). `of` returns None for what only the
    row-by-row path handles (and explains): cells that are neither lists,
    separated strings nor missing, and ids that are not integers.

    `values`: every row's values (missing ones dropped), row after row;
    `lengths`: per row, how many; `raw_lengths`: per row, the cell's
    length as given (what `max_length` is adapted to)."""

    values: np.ndarray
    lengths: np.ndarray
    raw_lengths: np.ndarray

    @classmethod
    def of(cls, spec, frame: pd.DataFrame) -> "_FlatLists | None":
        base.require_column(frame, spec.source, f"Feature '{spec.name}'")
        column = frame[spec.source].reset_index(drop=True)
        types = column.map(type)
        strings = (types == str).to_numpy()
        lists = types.isin((list, tuple, np.ndarray)).to_numpy()
        missing = column.isna().to_numpy() & ~lists & ~strings
        if not (strings | lists | missing).all() or (
                strings.any() and spec.separator is None):
            return None
        if strings.any():
            column = column.where(~strings,
                                  column.str.split(spec.separator, regex=False))
        exploded = column.explode()
        items = exploded.to_numpy(object)
        rows = exploded.index.to_numpy()
        # Exploding leaves one NaN for an empty list or a missing cell:
        # like missing items, they hold no value.
        keep = ~pd.isna(items)
        split_items = strings[rows] & keep
        keep &= ~(split_items & (items == ""))
        values = cls._converted(spec, items[keep])
        if values is None:
            return None
        raw_lengths = np.bincount(rows[split_items & keep],
                                  minlength=len(column))
        raw_lengths[lists] += column[lists].map(len).to_numpy(np.int64)
        return cls(values, np.bincount(rows[keep], minlength=len(column)),
                   raw_lengths)

    @staticmethod
    def _converted(spec, items: np.ndarray) -> np.ndarray | None:
        if spec.dtype == INT64:
            numbers = pd.to_numeric(pd.Series(items, dtype=object),
                                    errors="coerce").to_numpy()
            if numbers.dtype.kind in "iu":
                return numbers.astype(np.int64)
            numbers = numbers.astype(np.float64)
            if not (np.isfinite(numbers) & (numbers == np.round(numbers))
                    ).all():
                return None  # the row-by-row path names the bad value
            return numbers.astype(np.int64)
        if pd.api.types.infer_dtype(items, skipna=False) in ("string",
                                                              "empty"):
            return items
        return np.asarray([base.to_token(item) for item in items],
                          dtype=object)


def infer_list_dtype(frame: pd.DataFrame, spec) -> str:
    base.require_column(frame, spec.source, f"Feature '{spec.name}'")
    for cell in frame[spec.source].to_numpy():
        if isinstance(cell, (list, tuple, np.ndarray)) and len(cell):
            return INT64 if all(
                isinstance(v, (int, np.integer)) for v in cell) else STRING
    return STRING
