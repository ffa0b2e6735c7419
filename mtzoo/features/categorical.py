"""A single categorical value per example, looked up and embedded."""

from __future__ import annotations

import collections
import dataclasses
from typing import ClassVar

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from mtzoo.features import base
from mtzoo.features.base import INT64
from mtzoo.features.base import MISSING_INT
from mtzoo.features.base import MISSING_STRING
from mtzoo.features.base import STRING


@dataclasses.dataclass(frozen=True)
class CategoricalFeature(base.FeatureSpec):
    """A single categorical value per example, embedded in a learned table.

    Values map to indices through a vocabulary learned from training data by
    `adapt` (values outside it fall into `num_oov_buckets` out-of-vocabulary
    buckets) or, for huge id spaces, through hashing into `hash_bins` bins.

    Args:
        name: str. Feature name; also the model input name.
        column: str. Data column to read. Defaults to `name`.
        dtype: str. `"string"` or `"int64"`. Inferred by `adapt` when None.
        embedding_dim: int. Size of the embedding vector. Defaults to 8.
        vocabulary: list. Known values, most frequent first. Learned by
            `adapt` when None and `hash_bins` is not set.
        num_oov_buckets: int. Buckets for values outside the vocabulary
            (hashed among them). Defaults to 1.
        hash_bins: int. Hash values into this many bins instead of keeping
            a vocabulary. Defaults to None.
        max_tokens: int. Keep at most this many most frequent values when
            adapting. Defaults to None (all).
        min_frequency: int. Keep values seen at least this many times when
            adapting. Defaults to 1.
        embedding_table: str. Features with the same table name share one
            vocabulary and one embedding table (e.g. the target item id and
            the ids in a viewing history). Defaults to the feature name.
        id_dropout: float. In training, the share of values replaced by the
            out-of-vocabulary id, so the model learns to predict without
            the id from the other features (a user's history, an item's
            text) as it must for ids first seen after training. Defaults
            to 0.
    """

    kind: ClassVar[str] = "categorical"
    name: str
    column: str | None = None
    dtype: str | None = None
    embedding_dim: int = 8
    vocabulary: tuple | None = None
    num_oov_buckets: int = 1
    hash_bins: int | None = None
    max_tokens: int | None = None
    min_frequency: int = 1
    embedding_table: str | None = None
    id_dropout: float = 0.0

    def __post_init__(self):
        base.check_name(self.name, "Feature")
        if not 0.0 <= self.id_dropout < 1.0:
            raise ValueError(
                f"Feature '{self.name}': `id_dropout` must be in [0, 1). "
                f"Received: id_dropout={self.id_dropout!r}")
        if self.id_dropout and self.hash_bins is not None:
            raise ValueError(
                f"Feature '{self.name}': `id_dropout` replaces ids with the "
                f"out-of-vocabulary id, which a hashed feature (`hash_bins`) "
                f"has not; keep a vocabulary or drop `id_dropout`.")
        if self.dtype not in (None, STRING, INT64):
            raise ValueError(
                f"Feature '{self.name}': `dtype` must be 'string' or "
                f"'int64'. Received: dtype={self.dtype!r}"
            )
        base.check_positive_int(self, "embedding_dim")
        base.check_positive_int(self, "num_oov_buckets")
        base.check_positive_int(self, "min_frequency")
        if self.hash_bins is not None:
            base.check_positive_int(self, "hash_bins")
            if self.vocabulary is not None:
                raise ValueError(
                    f"Feature '{self.name}' sets both `vocabulary` and "
                    f"`hash_bins`; use one of them."
                )
        if self.max_tokens is not None:
            base.check_positive_int(self, "max_tokens")
        if self.vocabulary is not None:
            object.__setattr__(self, "vocabulary", tuple(self.vocabulary))
            self._check_vocabulary()

    def _check_vocabulary(self) -> None:
        if self.dtype == INT64 and MISSING_INT in self.vocabulary:
            raise ValueError(
                f"Feature '{self.name}': the vocabulary contains "
                f"{MISSING_INT}, which is reserved for missing values."
            )
        if len(set(self.vocabulary)) != len(self.vocabulary):
            raise ValueError(
                f"Feature '{self.name}': the vocabulary has duplicates."
            )

    @property
    def table(self) -> str:
        """Name of the embedding table this feature reads."""
        return self.embedding_table or self.name

    @property
    def is_adapted(self) -> bool:
        return (
            self.dtype is not None
            and (self.hash_bins is not None or self.vocabulary is not None)
        )

    def missing_state(self) -> str:
        missing = []
        if self.dtype is None:
            missing.append("dtype")
        if self.hash_bins is None and self.vocabulary is None:
            missing.append("vocabulary")
        return ", ".join(missing)

    @property
    def table_size(self) -> int:
        """Rows of the embedding table (vocabulary plus OOV buckets)."""
        if self.hash_bins is not None:
            return self.hash_bins
        return len(self.vocabulary) + self.num_oov_buckets

    # === Raw input ===

    def input_dtype(self) -> str:
        return self.dtype or STRING

    def _raw_values(self, frame: pd.DataFrame) -> np.ndarray:
        base.require_column(frame, self.source, f"Feature '{self.name}'")
        if self.dtype == INT64:
            values = base.numeric_column(
                frame, self.source, f"Feature '{self.name}'", "integers"
            )
            return base.as_int_ids(values, frame, self)
        return base.string_values(frame[self.source])

    def to_array(self, frame: pd.DataFrame) -> np.ndarray:
        return self._raw_values(frame)

    def file_column_type(self) -> str:
        return "float" if self.dtype == INT64 else "string"

    def example_spec(self):
        if self.dtype == INT64:
            return tf.io.FixedLenFeature([], tf.int64,
                                         default_value=MISSING_INT)
        return tf.io.FixedLenFeature([], tf.string,
                                     default_value=MISSING_STRING)

    def example_feature(self, value):
        if self.dtype == INT64:
            return tf.train.Feature(
                int64_list=tf.train.Int64List(value=[int(value)]))
        return tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[str(value).encode()]))

    def tokens(self, frame: pd.DataFrame) -> np.ndarray:
        """Flat array of the values this feature contributes to a table."""
        return self._raw_values(frame)

    # === Adapt ===

    def statistics_key(self) -> str:
        return f"table:{self.table}"

    def new_statistics(self):
        return TableStatistics()

    def observe(self, chunk, statistics):
        spec = self if self.dtype else dataclasses.replace(
            self, dtype=infer_dtype(chunk, self))
        if spec.learns_vocabulary:
            spec.count_tokens(spec.tokens(chunk), statistics)
        else:
            spec.to_array(chunk)  # validates the values
        return spec

    @property
    def learns_vocabulary(self) -> bool:
        """Whether `adapt` counts values into a vocabulary (not with hash
        bins or a given vocabulary)."""
        return self.hash_bins is None and self.vocabulary is None

    def count_tokens(self, tokens: np.ndarray, statistics) -> None:
        """Adds a chunk's values (`tokens`) to the table's counts."""
        missing = MISSING_INT if self.dtype == INT64 else MISSING_STRING
        tokens = tokens[tokens != missing]
        statistics.counts.update(
            pd.Series(tokens).value_counts(sort=False).to_dict())

    def adapted(self, statistics, features):
        if self.hash_bins is not None or self.vocabulary is not None:
            return self
        return dataclasses.replace(self, vocabulary=select_vocabulary(
            statistics.counts, table_limits(features, self.table)))

    # === Preprocessing stage ===

    def encoded_shape(self) -> tuple:
        return ()

    def encoded_dtype(self) -> str:
        return "int32"

    def vocabulary_table(self) -> tuple[str, dict] | None:
        """`(table, {"vocabulary", "num_oov_buckets"})` for a feature
        looked up in a vocabulary (all such tables share one fused lookup,
        `mtzoo.layers.FusedVocabularyLookup`); None when hashed."""
        if self.hash_bins is not None:
            return None
        return self.table, {"vocabulary": list(self.vocabulary),
                            "num_oov_buckets": self.num_oov_buckets}

    def preprocessing_key(self) -> str | None:
        return f"hashing_{self.table}" if self.hash_bins else None

    def make_preprocessing(self):
        if self.hash_bins is None:
            return None
        return keras.layers.Hashing(num_bins=self.hash_bins,
                                    output_mode="int",
                                    name=f"hashing_{self.table}")

    def checked_raw(self, raw):
        """The raw tensor in the dtype the lookup takes, with a clear error
        for the wrong kind of values."""
        if self.dtype == INT64:
            if raw.dtype == tf.string:
                raise TypeError(
                    f"Feature '{self.name}' is an integer categorical "
                    f"feature but received strings.")
            return tf.cast(raw, tf.int64)
        if raw.dtype != tf.string:
            raise TypeError(
                f"Feature '{self.name}' is a string categorical feature but "
                f"received {raw.dtype.name} values; convert them to "
                f"strings.")
        return raw

    def lookup_values(self, raw):
        """The raw values to map to ids: `[batch]`."""
        return self.checked_raw(flatten_scalar(tf.convert_to_tensor(raw)))

    def from_ids(self, ids, values):
        """The encoded tensor from the ids of `lookup_values`."""
        return ids

    def preprocess(self, raw, layer):
        """Raw values to ids through `layer` (hashing; vocabulary lookups go
        through the fused lookup instead)."""
        values = self.lookup_values(raw)
        return self.from_ids(tf.cast(layer(values), tf.int32), values)

    # === Model stage ===

    @property
    def output_dim(self) -> int:
        return self.embedding_dim

    def embedding(self) -> tuple[str, int, int]:
        return self.table, self.table_size, self.embedding_dim

    def embedding_ids(self, encoded):
        return flatten_scalar(encoded)

    def id_dropout_rate(self) -> float:
        return self.id_dropout

    def encode(self, encoded, layer, compute_dtype):
        return tf.cast(layer, compute_dtype)


class TableStatistics:
    """What `adapt` counts for one embedding table: value frequencies, and
    the longest list of each multi-valued feature reading it."""

    def __init__(self):
        self.counts = collections.Counter()
        self.longest = collections.defaultdict(int)


def flatten_scalar(raw):
    """`[batch, 1]` to `[batch]`; other shapes unchanged."""
    if raw.shape.rank == 2 and raw.shape[-1] == 1:
        return tf.squeeze(raw, axis=-1)
    return raw


def infer_dtype(frame: pd.DataFrame, spec: CategoricalFeature) -> str:
    base.require_column(frame, spec.source, f"Feature '{spec.name}'")
    series = frame[spec.source]
    if pd.api.types.is_integer_dtype(series) or pd.api.types.is_bool_dtype(
            series):
        return INT64
    return STRING


def table_limits(features, table: str) -> tuple[int | None, int]:
    """`max_tokens` and `min_frequency` of a table shared by features."""
    members = [f for f in features
               if isinstance(f, CategoricalFeature) and f.table == table]
    max_tokens = [m.max_tokens for m in members if m.max_tokens]
    return (min(max_tokens) if max_tokens else None,
            max(m.min_frequency for m in members))


def select_vocabulary(counter: collections.Counter, limits) -> tuple:
    max_tokens, min_frequency = limits
    items = [(t, c) for t, c in counter.items() if c >= min_frequency]
    # Most frequent first; ties in a stable, value-sorted order.
    items.sort(key=lambda tc: (-tc[1], str(tc[0])))
    if max_tokens:
        items = items[:max_tokens]
    vocabulary = tuple(t for t, _ in items)
    if vocabulary and isinstance(vocabulary[0], (int, np.integer)):
        vocabulary = tuple(int(t) for t in vocabulary)
    return vocabulary
