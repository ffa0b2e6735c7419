"""What every feature kind shares: naming, config, column conversion and
the two stages a feature goes through.

A feature kind is a frozen dataclass (the spec) that owns, in one module:

- its raw input (`input_shape`, `input_dtype`) and the conversion of a
  DataFrame column into it (`to_array`, with errors naming the feature,
  column and row);
- the statistics `adapt` learns (`statistics_key`, `new_statistics`,
  `observe`, `adapted`);
- the *preprocessing* stage, raw values to int32 ids or float32 values
  (`encoded_shape`, `encoded_dtype`, `make_preprocessing`, `preprocess`),
  run once per row when data is encoded and again inside exported models;
- the *model* stage, encoded values to a dense vector (`output_dim`,
  `make_model_layer` or `embedding`, `encode`), the part that trains.
  Kinds embedded from a table declare it with `embedding` and
  `embedding_ids`; the tables of one width live in one
  `mtzoo.layers.EmbeddingTables`, which reads every feature's rows at once.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, ClassVar

import numpy as np
import pandas as pd

STRING = "string"
INT64 = "int64"
MISSING_STRING = ""
MISSING_INT = -1

_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DataError(ValueError):
    """Raised when data does not match the specs that describe it."""


def check_name(name: Any, what: str) -> None:
    """Checks that `name` can be a Keras input/output and signature key;
    the error says what to write for a column whose name cannot be one."""
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        hint = ""
        if isinstance(name, str) and name:
            valid = suggested_name(name)
            hint = (f" To read column {name!r}, name the feature and give "
                    f"the column: e.g. CategoricalFeature({valid!r}, "
                    f"column={name!r})" if what == "Feature" else
                    f" To read labels from column {name!r}, name the task "
                    f"and give the column: e.g. binary({valid!r}, "
                    f"label={name!r})")
        raise ValueError(
            f"{what} name must be a Python-identifier-like string "
            f"(letters, digits, underscores, not starting with a digit), "
            f"because it becomes a model input or output name. "
            f"Received: {plain(name)!r}.{hint}"
        )


def is_valid_name(name) -> bool:
    """Whether `name` can be a feature or task name as it is."""
    return isinstance(name, str) and bool(_NAME_PATTERN.match(name))


def suggested_name(column: str) -> str:
    """A valid feature or task name for a column name (`"Clothing ID"` ->
    `"clothing_id"`)."""
    name = re.sub(r"[^0-9A-Za-z_]+", "_", column).strip("_").lower()
    if not name or name[0].isdigit():
        name = f"c_{name}"
    return name


def plain(value):
    """A numpy scalar as the Python number or string it holds (for
    messages: `5`, not `np.int64(5)`); other values unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def check_positive_int(spec, attr: str) -> None:
    value = getattr(spec, attr)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value <= 0:
        raise ValueError(
            f"Feature '{spec.name}': `{attr}` must be a positive integer. "
            f"Received: {attr}={value!r}"
        )


# === Columns ===


def describe_row(frame: pd.DataFrame, position: int) -> str:
    """Where a row is: file and line for streamed chunks, else the row."""
    if frame.attrs.get("mtzoo_index_is_line"):  # a table read whole
        word = frame.attrs.get("mtzoo_line_word", "line")
        return (f"{word} {plain(frame.index[position])} of "
                f"'{frame.attrs.get('mtzoo_source')}'")
    first = frame.attrs.get("mtzoo_first_line")
    if first is not None:
        word = frame.attrs.get("mtzoo_line_word", "line")
        return (f"{word} {first + position} of "
                f"'{frame.attrs.get('mtzoo_source')}'")
    label = frame.index[position]
    if isinstance(label, (int, np.integer)) and label == position:
        return f"row {position}"
    return f"row {position} (index {plain(label)!r})"


def bad_values(frame: pd.DataFrame, column: str, bad: np.ndarray, owner: str,
               expected: str, *, count: bool = False) -> DataError:
    """The error for the rows of `column` where `bad` is true: it names the
    first such row, its value and what was expected (and how many rows are
    bad, with `count`)."""
    position = int(np.flatnonzero(bad)[0])
    how_many = f" ({int(np.sum(bad))} such rows)" if count else ""
    return DataError(
        f"{owner} expects {expected} in column '{column}', but "
        f"{describe_row(frame, position)} has "
        f"{plain(frame[column].iloc[position])!r}{how_many}")


def require_column(frame: pd.DataFrame, column: str, owner: str) -> None:
    if column not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:20]))
        more = "" if len(frame.columns) <= 20 else ", ..."
        raise DataError(
            f"{owner} reads column '{column}', which is not in the data. "
            f"Available columns: {shown}{more}"
        )


def numeric_column(
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
        raise bad_values(frame, column, bad, owner, expected)
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


def string_values(series: pd.Series) -> np.ndarray:
    """A column as an object array of str, `""` for missing values.

    Vectorized for categorical, string, integer and boolean columns; other
    columns go value by value. A categorical column converts each category
    once and shares the strings across rows.
    """
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        tokens = string_values(pd.Series(dtype.categories))
        codes = series.cat.codes.to_numpy()
        # Code -1 (missing) reads the appended missing token.
        return np.append(tokens, MISSING_STRING).astype(object)[codes]
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
    out[present] = [to_token(v) for v in values[present]]
    return out


def as_int_ids(values: np.ndarray, frame, spec) -> np.ndarray:
    """Float column values as int64 ids, `-1` for missing."""
    finite = np.isfinite(values)
    bad = finite & (values != np.round(values))
    if bad.any():
        raise bad_values(frame, spec.source, bad, f"Feature '{spec.name}'",
                         "integer ids")
    out = np.full(values.shape, MISSING_INT, dtype=np.int64)
    out[finite] = values[finite].astype(np.int64)
    return out


def to_token(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# === The spec base class ===


class FeatureSpec:
    """Base class of feature specs (see the module docstring)."""

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

    def missing_state(self) -> str:
        """What `adapt` still has to learn, for error messages."""
        return "state"

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

    # Raw input.

    def to_array(self, frame: pd.DataFrame) -> np.ndarray:
        """Converts the raw column into the array the raw input takes."""
        raise NotImplementedError

    def input_shape(self) -> tuple:
        """Per-example shape of the raw input (without batch)."""
        return ()

    def input_dtype(self) -> str:
        raise NotImplementedError

    def file_column_type(self) -> str:
        """How files hold the column: `"string"` or `"float"`."""
        raise NotImplementedError

    def example_spec(self):
        """How a serialized `tf.train.Example` holds the raw value (a
        `tf.io.parse_example` feature; absent values parse as missing)."""
        raise NotImplementedError

    def from_example(self, parsed):
        """The raw input tensor from `parse_example`'s output for it."""
        return parsed

    def example_feature(self, value):
        """One row's raw value (from `to_array`) as a `tf.train.Feature`."""
        raise NotImplementedError

    # Adapt.

    def statistics_key(self) -> str:
        """Specs with the same key share one statistics accumulator."""
        return self.name

    def new_statistics(self):
        """A fresh accumulator for `observe`, or None if nothing is
        learned."""
        return None

    def observe(self, chunk: pd.DataFrame, statistics) -> "FeatureSpec":
        """Adds a chunk of training data to `statistics`; returns the spec
        with what the chunk settled (such as an inferred dtype)."""
        self.to_array(chunk)  # validates the values
        return self

    def adapted(self, statistics, features) -> "FeatureSpec":
        """The spec with what `statistics` learned filled in."""
        return self

    # Preprocessing stage.

    def encoded_shape(self) -> tuple:
        """Per-example shape of the encoded input the model trains on."""
        return self.input_shape()

    def encoded_dtype(self) -> str:
        return "float32"

    def vocabulary_table(self) -> tuple[str, dict] | None:
        """The vocabulary table the feature's values are looked up in, for
        the preprocessor's fused lookup; None for other kinds."""
        return None

    def preprocessing_key(self) -> str | None:
        """Specs with the same key share one preprocessing layer."""
        return None

    def make_preprocessing(self):
        """The Keras layer `preprocess` uses (a lookup table...), or
        None."""
        return None

    def preprocess(self, raw, layer):
        """Raw values (a tensor) to the encoded tensor."""
        raise NotImplementedError

    def encode_column(self, frame: pd.DataFrame):
        """The encoded values of every row of `frame` when the kind has a
        faster way than the preprocessing stage batch by batch (a frozen
        text encoder encodes each distinct text once), else None."""
        return None

    def preprocessing_group(self) -> str | None:
        """Specs with the same group are preprocessed together, by the
        static `preprocess_group(specs, raws)` of their class (returning
        encoded tensors by feature name); None for one at a time."""
        return None

    # Model stage.

    @property
    def output_dim(self) -> int:
        raise NotImplementedError

    def model_key(self) -> str | None:
        """Specs with the same key share one model-stage layer."""
        return None

    def make_model_layer(self, *, embeddings_initializer,
                         embeddings_regularizer, dtype):
        """The trainable layer `encode` uses, or None."""
        return None

    def embedding(self) -> tuple[str, int, int] | None:
        """`(table, rows, width)` of the embedding table the feature reads,
        or None for kinds that are not embedded."""
        return None

    def id_dropout_rate(self) -> float:
        """The share of its embedding ids replaced in training by the
        out-of-vocabulary id (row 0)."""
        return 0.0

    def attends_to(self) -> str | None:
        """The feature whose embedding this one's encoding reads besides
        its own (a history scored against the candidate item), or None."""
        return None

    def slow_under_xla(self) -> bool:
        """Whether the feature's model layer trains slowly when XLA
        compiles it on CPU (a pretrained encoder's layers drop out with
        Keras' own dropout, whose random masks XLA compiles to slow code;
        `mtzoo.layers.Dropout` draws with Philox)."""
        return False

    def has_positions(self) -> bool:
        """Whether the model holds a vector at every position of the
        feature (a sequence pooled by a causal transformer)."""
        return False

    def embedding_ids(self, encoded):
        """The table rows to read for the encoded tensor (never negative)."""
        raise NotImplementedError

    def encode(self, encoded, layer, compute_dtype):
        """Encoded values to a `[batch, output_dim]` tensor.

        `layer` is the feature's `make_model_layer` (or None); for an
        embedded kind, it is the rows read for its `embedding_ids`.
        """
        raise NotImplementedError
