"""Feature specs: what each raw column is and how the model encodes it.

A spec says how one raw column becomes model input. `adapt` learns what the
specs need from training data (vocabularies, normalization statistics,
sequence lengths), and `mtzoo.layers.FeatureEncoder` turns the adapted specs
into lookups, embeddings and normalization inside the model. The exported
model therefore takes the raw values a user has.

Conventions for raw values:

* string features: the empty string means "missing"; it is the padding value
  of multi-valued string features.
* integer features: `-1` means "missing"; it is the padding value of
  multi-valued integer features and always maps to an out-of-vocabulary index.
* numeric and vector features: NaN and infinities mean "missing".

Example:

```python
features = [
    mtzoo.features.CategoricalFeature("user_id", dtype="int64"),
    mtzoo.features.CategoricalFeature("device"),
    mtzoo.features.NumericFeature("price", log_transform=True),
    mtzoo.features.MultiCategoricalFeature("genres", separator="|"),
    mtzoo.features.VectorFeature("title_embedding", dim=32),
]
features = mtzoo.features.adapt(features, train_frame)
```
"""

from __future__ import annotations

import collections
import dataclasses
import math
import re
from typing import Any, ClassVar, Iterable, Sequence

import numpy as np
import pandas as pd

STRING = "string"
INT64 = "int64"
MISSING_STRING = ""
MISSING_INT = -1
POOLINGS = ("mean", "sum", "max")

_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DataError(ValueError):
    """Raised when data does not match the specs that describe it."""


def check_name(name: Any, what: str) -> None:
    """Checks that `name` can be a Keras input/output and signature key."""
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise ValueError(
            f"{what} name must be a Python-identifier-like string "
            f"(letters, digits, underscores, not starting with a digit), "
            f"because it becomes a model input or output name. "
            f"Received: {name!r}"
        )


def _describe_row(frame: pd.DataFrame, position: int) -> str:
    """Where a row is: file and line for streamed chunks, else the row."""
    first = frame.attrs.get("mtzoo_first_line")
    if first is not None:
        word = frame.attrs.get("mtzoo_line_word", "line")
        return (f"{word} {first + position} of "
                f"'{frame.attrs.get('mtzoo_source')}'")
    label = frame.index[position]
    if isinstance(label, (int, np.integer)) and label == position:
        return f"row {position}"
    return f"row {position} (index {label!r})"


def _require_column(frame: pd.DataFrame, column: str, owner: str) -> None:
    if column not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:20]))
        more = "" if len(frame.columns) <= 20 else ", ..."
        raise DataError(
            f"{owner} reads column '{column}', which is not in the data. "
            f"Available columns: {shown}{more}"
        )


def _numeric_column(
    frame: pd.DataFrame, column: str, owner: str, expected: str
) -> np.ndarray:
    """Column as float64, NaN for missing; names the first bad value."""
    series = frame[column]
    if pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=np.float64)
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna().to_numpy() & series.notna().to_numpy()
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{owner} expects {expected} in column '{column}', but "
            f"{_describe_row(frame, position)} has "
            f"{series.iloc[position]!r}"
        )
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


class FeatureSpec:
    """Base class of feature specs: shared naming, config and checks."""

    kind: ClassVar[str] = ""
    name: str
    column: str | None

    @property
    def source(self) -> str:
        """The data column the feature reads (its name unless set)."""
        return self.column or self.name

    @property
    def is_adapted(self) -> bool:
        return True

    def get_config(self) -> dict[str, Any]:
        config = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, tuple):
                value = list(value)
            config[field.name] = value
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "FeatureSpec":
        return cls(**config)

    def to_array(self, frame: pd.DataFrame) -> np.ndarray:
        """Converts the raw column into the array the model input takes."""
        raise NotImplementedError

    def input_shape(self) -> tuple:
        """Per-example shape of the model input (without batch)."""
        return ()

    def input_dtype(self) -> str:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class CategoricalFeature(FeatureSpec):
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

    def __post_init__(self):
        check_name(self.name, "Feature")
        if self.dtype not in (None, STRING, INT64):
            raise ValueError(
                f"Feature '{self.name}': `dtype` must be 'string' or "
                f"'int64'. Received: dtype={self.dtype!r}"
            )
        _check_positive_int(self, "embedding_dim")
        _check_positive_int(self, "num_oov_buckets")
        _check_positive_int(self, "min_frequency")
        if self.hash_bins is not None:
            _check_positive_int(self, "hash_bins")
            if self.vocabulary is not None:
                raise ValueError(
                    f"Feature '{self.name}' sets both `vocabulary` and "
                    f"`hash_bins`; use one of them."
                )
        if self.max_tokens is not None:
            _check_positive_int(self, "max_tokens")
        if self.vocabulary is not None:
            object.__setattr__(self, "vocabulary", tuple(self.vocabulary))
            self._check_vocabulary()

    def _check_vocabulary(self) -> None:
        if self.dtype == INT64:
            if MISSING_INT in self.vocabulary:
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

    @property
    def table_size(self) -> int:
        """Rows of the embedding table (vocabulary plus OOV buckets)."""
        if self.hash_bins is not None:
            return self.hash_bins
        return len(self.vocabulary) + self.num_oov_buckets

    def input_dtype(self) -> str:
        return self.dtype or STRING

    def _raw_values(self, frame: pd.DataFrame) -> np.ndarray:
        _require_column(frame, self.source, f"Feature '{self.name}'")
        if self.dtype == INT64:
            values = _numeric_column(
                frame, self.source, f"Feature '{self.name}'", "integers"
            )
            return _as_int_ids(values, frame, self)
        return _string_values(frame[self.source])

    def to_array(self, frame: pd.DataFrame) -> np.ndarray:
        return self._raw_values(frame)

    def tokens(self, frame: pd.DataFrame) -> np.ndarray:
        """Flat array of the values this feature contributes to a table."""
        return self._raw_values(frame)


@dataclasses.dataclass(frozen=True)
class MultiCategoricalFeature(CategoricalFeature):
    """A variable-length list of categorical values, embedded and pooled.

    For genres, tags or a history of item ids. In a DataFrame a cell is a
    list (or array) of values, or a string joined by `separator`. The model
    input is a padded `[batch, length]` tensor (padding: `""` for strings,
    `-1` for integers); lists longer than `max_length` keep their first
    `max_length` values.

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
    max_length: int | None = None
    pooling: str = "mean"
    separator: str | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.pooling not in POOLINGS:
            raise ValueError(
                f"Feature '{self.name}': `pooling` must be one of "
                f"{POOLINGS}. Received: pooling={self.pooling!r}"
            )
        if self.max_length is not None:
            _check_positive_int(self, "max_length")

    @property
    def is_adapted(self) -> bool:
        return super().is_adapted and self.max_length is not None

    def input_shape(self) -> tuple:
        return (None,)

    def _lists(self, frame: pd.DataFrame) -> list[list]:
        _require_column(frame, self.source, f"Feature '{self.name}'")
        series = frame[self.source]
        lists = []
        for position, cell in enumerate(series.to_numpy()):
            if isinstance(cell, str):
                if self.separator is None:
                    raise DataError(
                        f"Feature '{self.name}' is multi-valued but column "
                        f"'{self.source}' holds a string at "
                        f"{_describe_row(frame, position)}: {cell!r}. Set "
                        f"`separator` to split such strings, or store lists."
                    )
                items = [t for t in cell.split(self.separator) if t != ""]
            elif cell is None or (np.isscalar(cell) and pd.isna(cell)):
                items = []
            elif isinstance(cell, (list, tuple, np.ndarray)):
                items = list(cell)
            else:
                raise DataError(
                    f"Feature '{self.name}' is multi-valued but column "
                    f"'{self.source}' holds {type(cell).__name__} "
                    f"{cell!r} at {_describe_row(frame, position)}; "
                    f"expected a list or a separated string."
                )
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
                    if item is None or (
                        isinstance(item, float) and math.isnan(item)
                    ):
                        continue
                    raise DataError(
                        f"Feature '{self.name}' expects integer ids in "
                        f"column '{self.source}', but "
                        f"{_describe_row(frame, position)} has {item!r}"
                    )
                out.append(int(value))
            return out
        return [_to_token(item) for item in items if not _is_missing(item)]

    def to_array(self, frame: pd.DataFrame) -> np.ndarray:
        lists = self._lists(frame)
        length = self.max_length or max((len(x) for x in lists), default=1)
        length = max(length, 1)
        if self.dtype == INT64:
            out = np.full((len(lists), length), MISSING_INT, dtype=np.int64)
        else:
            out = np.full((len(lists), length), MISSING_STRING, dtype=object)
        for position, items in enumerate(lists):
            values = self._convert_items(items, frame, position)[:length]
            out[position, : len(values)] = values
        return out

    def tokens(self, frame: pd.DataFrame) -> np.ndarray:
        values = [
            v
            for position, items in enumerate(self._lists(frame))
            for v in self._convert_items(items, frame, position)
        ]
        return np.asarray(values, dtype=np.int64 if self.dtype == INT64
                          else object)

    def longest(self, frame: pd.DataFrame) -> int:
        return max((len(x) for x in self._lists(frame)), default=1)


@dataclasses.dataclass(frozen=True)
class NumericFeature(FeatureSpec):
    """A real number, normalized with statistics learned from training data.

    Args:
        name: str. Feature name; also the model input name.
        column: str. Data column to read. Defaults to `name`.
        log_transform: bool. Apply `sign(x) * log1p(|x|)` before normalizing,
            for heavy-tailed values such as prices or counts. Defaults to
            False.
        normalize: bool. Standardize to zero mean and unit variance with the
            statistics learned by `adapt`. Defaults to True.
        missing_indicator: bool. Also feed a 0/1 "was missing" input. Missing
            values (NaN, inf) are always replaced by the mean. Defaults to
            False.
        mean: float. Learned by `adapt`.
        variance: float. Learned by `adapt`.
    """

    kind: ClassVar[str] = "numeric"
    name: str
    column: str | None = None
    log_transform: bool = False
    normalize: bool = True
    missing_indicator: bool = False
    mean: float | None = None
    variance: float | None = None

    def __post_init__(self):
        check_name(self.name, "Feature")
        if self.variance is not None and self.variance < 0:
            raise ValueError(
                f"Feature '{self.name}': `variance` must be >= 0. "
                f"Received: variance={self.variance}"
            )

    @property
    def is_adapted(self) -> bool:
        return not self.normalize or (
            self.mean is not None and self.variance is not None
        )

    def input_dtype(self) -> str:
        return "float32"

    def to_array(self, frame: pd.DataFrame) -> np.ndarray:
        _require_column(frame, self.source, f"Feature '{self.name}'")
        values = _numeric_column(
            frame, self.source, f"Feature '{self.name}' is numeric and",
            "numbers",
        )
        return values.astype(np.float32)

    def transformed(self, values: np.ndarray) -> np.ndarray:
        """Applies the log transform, as the model does, before statistics."""
        values = np.asarray(values, dtype=np.float64)
        if self.log_transform:
            values = np.sign(values) * np.log1p(np.abs(values))
        return values


@dataclasses.dataclass(frozen=True)
class VectorFeature(FeatureSpec):
    """A dense vector computed elsewhere (text, image or LLM embeddings).

    Args:
        name: str. Feature name; also the model input name.
        dim: int. Length of the vector.
        column: str. Data column to read; each cell is a sequence of `dim`
            numbers. Defaults to `name`.
        projection_dim: int. Project the vector to this size with a learned
            linear layer. Defaults to None (use as is).
    """

    kind: ClassVar[str] = "vector"
    name: str
    dim: int = 0
    column: str | None = None
    projection_dim: int | None = None

    def __post_init__(self):
        check_name(self.name, "Feature")
        _check_positive_int(self, "dim")
        if self.projection_dim is not None:
            _check_positive_int(self, "projection_dim")

    def input_shape(self) -> tuple:
        return (self.dim,)

    def input_dtype(self) -> str:
        return "float32"

    def to_array(self, frame: pd.DataFrame) -> np.ndarray:
        _require_column(frame, self.source, f"Feature '{self.name}'")
        out = np.full((len(frame), self.dim), np.nan, dtype=np.float32)
        for position, cell in enumerate(frame[self.source].to_numpy()):
            if cell is None or (np.isscalar(cell) and not isinstance(
                    cell, str) and pd.isna(cell)):
                continue
            if isinstance(cell, str):  # "0.1 0.2", "[0.1, 0.2]" in files
                cell = cell.strip("[] ").replace(",", " ").split()
            try:
                vector = np.asarray(cell, dtype=np.float32).reshape(-1)
            except (TypeError, ValueError):
                raise DataError(
                    f"Feature '{self.name}' expects vectors of {self.dim} "
                    f"numbers in column '{self.source}', but "
                    f"{_describe_row(frame, position)} has {cell!r}"
                ) from None
            if vector.shape[0] != self.dim:
                raise DataError(
                    f"Feature '{self.name}' expects vectors of {self.dim} "
                    f"numbers in column '{self.source}', but "
                    f"{_describe_row(frame, position)} has "
                    f"{vector.shape[0]}"
                )
            out[position] = vector
        return out


SPEC_CLASSES = {
    cls.__name__: cls
    for cls in (
        CategoricalFeature,
        MultiCategoricalFeature,
        NumericFeature,
        VectorFeature,
    )
}


def serialize(spec: FeatureSpec) -> dict[str, Any]:
    """Feature spec as a JSON-compatible dict."""
    return {"class_name": type(spec).__name__, "config": spec.get_config()}


def deserialize(config: dict[str, Any] | FeatureSpec) -> FeatureSpec:
    """Feature spec from `serialize` output (specs pass through)."""
    if isinstance(config, FeatureSpec):
        return config
    class_name = config.get("class_name")
    if class_name not in SPEC_CLASSES:
        raise ValueError(
            f"Unknown feature spec class {class_name!r}; expected one of "
            f"{sorted(SPEC_CLASSES)}"
        )
    return SPEC_CLASSES[class_name].from_config(config["config"])


def validate(features: Sequence[FeatureSpec]) -> list[FeatureSpec]:
    """Checks a list of specs: unique names, consistent shared tables."""
    features = [deserialize(f) for f in features]
    if not features:
        raise ValueError("At least one feature spec is needed.")
    seen = set()
    for spec in features:
        if not isinstance(spec, FeatureSpec):
            raise TypeError(
                f"Expected feature specs from mtzoo.features. Received: "
                f"{spec!r}"
            )
        if spec.name in seen:
            raise ValueError(f"Feature name '{spec.name}' is used twice.")
        seen.add(spec.name)
    for table, members in _tables(features).items():
        first = members[0]
        for other in members[1:]:
            for attr in ("dtype", "embedding_dim", "hash_bins",
                         "num_oov_buckets"):
                if getattr(first, attr) != getattr(other, attr):
                    raise ValueError(
                        f"Features '{first.name}' and '{other.name}' share "
                        f"embedding table '{table}' but differ in `{attr}`: "
                        f"{getattr(first, attr)!r} vs "
                        f"{getattr(other, attr)!r}"
                    )
            if (first.vocabulary is not None and other.vocabulary is not None
                    and first.vocabulary != other.vocabulary):
                raise ValueError(
                    f"Features '{first.name}' and '{other.name}' share "
                    f"embedding table '{table}' but have different "
                    f"vocabularies; adapt them together with `adapt`."
                )
    return features


def check_adapted(features: Sequence[FeatureSpec]) -> None:
    """Raises a clear error if any spec still needs `adapt`."""
    for spec in features:
        if not spec.is_adapted:
            raise ValueError(
                f"Feature '{spec.name}' has not learned its "
                f"{_missing_state(spec)} yet. Call "
                f"`mtzoo.features.adapt(features, train_frame)` first, or "
                f"set it explicitly."
            )


def _missing_state(spec: FeatureSpec) -> str:
    if isinstance(spec, NumericFeature):
        return "normalization statistics (mean, variance)"
    if isinstance(spec, CategoricalFeature):
        missing = []
        if spec.dtype is None:
            missing.append("dtype")
        if spec.hash_bins is None and spec.vocabulary is None:
            missing.append("vocabulary")
        if isinstance(spec, MultiCategoricalFeature) and not spec.max_length:
            missing.append("max_length")
        return ", ".join(missing)
    return "state"


def _tables(features) -> dict[str, list[CategoricalFeature]]:
    tables = collections.defaultdict(list)
    for spec in features:
        if isinstance(spec, CategoricalFeature):
            tables[spec.table].append(spec)
    return dict(tables)


def adapt(
    features: Sequence[FeatureSpec],
    data: pd.DataFrame | Iterable[pd.DataFrame],
) -> list[FeatureSpec]:
    """Learns vocabularies, statistics and lengths from training data.

    Args:
        features: list of feature specs.
        data: a DataFrame, or an iterable of DataFrame chunks (for example
            `pd.read_csv(path, chunksize=100_000)`) for data larger than
            memory.

    Returns:
        New specs with everything the encoder needs filled in. Values already
        set (a given vocabulary, mean, ...) are kept.
    """
    features = validate(features)
    chunks = [data] if isinstance(data, pd.DataFrame) else data
    counts = collections.defaultdict(collections.Counter)
    moments = collections.defaultdict(lambda: [0, 0.0, 0.0])  # n, sum, sumsq
    longest = collections.defaultdict(int)
    dtypes: dict[str, str] = {}
    seen_rows = 0
    for chunk in chunks:
        seen_rows += len(chunk)
        for spec in features:
            if isinstance(spec, CategoricalFeature):
                dtype = spec.dtype or dtypes.get(spec.name) or _infer_dtype(
                    chunk, spec)
                dtypes[spec.name] = dtype
                typed = dataclasses.replace(spec, dtype=dtype)
                if typed.hash_bins is None and typed.vocabulary is None:
                    tokens = typed.tokens(chunk)
                    if dtype == INT64:
                        tokens = tokens[tokens != MISSING_INT]
                    else:
                        tokens = tokens[tokens != MISSING_STRING]
                    counts[spec.table].update(
                        pd.Series(tokens).value_counts(sort=False).to_dict())
                if isinstance(spec, MultiCategoricalFeature):
                    longest[spec.name] = max(
                        longest[spec.name], typed.longest(chunk))
            elif isinstance(spec, NumericFeature):
                values = spec.transformed(spec.to_array(chunk))
                values = values[np.isfinite(values)]
                acc = moments[spec.name]
                acc[0] += values.size
                acc[1] += float(values.sum())
                acc[2] += float(np.square(values).sum())
            elif isinstance(spec, VectorFeature):
                spec.to_array(chunk)  # validates shape and values
    if seen_rows == 0:
        raise DataError("Cannot adapt features on empty data (0 rows).")
    adapted = []
    for spec in features:
        if isinstance(spec, CategoricalFeature):
            updates = {"dtype": dtypes[spec.name]}
            if spec.hash_bins is None and spec.vocabulary is None:
                updates["vocabulary"] = _select_vocabulary(
                    counts[spec.table], _table_limits(features, spec.table))
            if isinstance(spec, MultiCategoricalFeature) and not spec.max_length:
                updates["max_length"] = max(longest[spec.name], 1)
            spec = dataclasses.replace(spec, **updates)
        elif isinstance(spec, NumericFeature) and spec.normalize and (
                spec.mean is None or spec.variance is None):
            n, total, total_sq = moments[spec.name]
            if n == 0:
                raise DataError(
                    f"Feature '{spec.name}': column '{spec.source}' has no "
                    f"finite values to learn normalization from."
                )
            mean = total / n
            variance = max(total_sq / n - mean * mean, 0.0)
            spec = dataclasses.replace(
                spec,
                mean=spec.mean if spec.mean is not None else mean,
                variance=(spec.variance if spec.variance is not None
                          else variance),
            )
        adapted.append(spec)
    return validate(adapted)


def _table_limits(features, table: str) -> tuple[int | None, int]:
    members = _tables(features)[table]
    max_tokens = [m.max_tokens for m in members if m.max_tokens]
    return (min(max_tokens) if max_tokens else None,
            max(m.min_frequency for m in members))


def _select_vocabulary(counter: collections.Counter, limits) -> tuple:
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


def _infer_dtype(frame: pd.DataFrame, spec: CategoricalFeature) -> str:
    _require_column(frame, spec.source, f"Feature '{spec.name}'")
    series = frame[spec.source]
    if isinstance(spec, MultiCategoricalFeature):
        for cell in series.to_numpy():
            if isinstance(cell, (list, tuple, np.ndarray)) and len(cell):
                return INT64 if all(
                    isinstance(v, (int, np.integer)) for v in cell) else STRING
        return STRING
    if pd.api.types.is_integer_dtype(series) or pd.api.types.is_bool_dtype(
            series):
        return INT64
    return STRING


def _as_int_ids(values: np.ndarray, frame, spec) -> np.ndarray:
    finite = np.isfinite(values)
    bad = finite & (values != np.round(values))
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"Feature '{spec.name}' expects integer ids in column "
            f"'{spec.source}', but {_describe_row(frame, position)} has "
            f"{frame[spec.source].iloc[position]!r}"
        )
    out = np.full(values.shape, MISSING_INT, dtype=np.int64)
    out[finite] = values[finite].astype(np.int64)
    return out


def _string_values(series: pd.Series) -> np.ndarray:
    """A column as an object array of str, `""` for missing values.

    Vectorized for string, integer and boolean columns; other columns go
    value by value.
    """
    dtype = series.dtype
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types \
            .is_object_dtype(dtype):
        return series.fillna(MISSING_STRING).to_numpy(dtype=object)
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(
            dtype):
        return series.astype(str).to_numpy(dtype=object)
    if pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(
            series, skipna=True) in ("string", "empty"):
        return series.fillna(MISSING_STRING).to_numpy(dtype=object)
    values = series.astype(object).to_numpy()
    missing = pd.isna(values)
    out = np.empty(len(values), dtype=object)
    out[missing] = MISSING_STRING
    present = ~missing
    out[present] = [_to_token(v) for v in values[present]]
    return out


def _to_token(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _check_positive_int(spec, attr: str) -> None:
    value = getattr(spec, attr)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value <= 0:
        raise ValueError(
            f"Feature '{spec.name}': `{attr}` must be a positive integer. "
            f"Received: {attr}={value!r}"
        )
