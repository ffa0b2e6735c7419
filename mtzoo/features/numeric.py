"""A real number, standardized with statistics learned from training data."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import pandas as pd
import tensorflow as tf

from mtzoo.features import base

_EPSILON = 1e-7


def signed_log1p(x):
    """`sign(x) * log1p(|x|)`: the log transform, for training statistics
    and for the model alike."""
    return tf.sign(x) * tf.math.log1p(tf.abs(x))


class Moments:
    """Count, sum and sum of squares of the finite values seen."""

    def __init__(self):
        self.count = 0
        self.total = 0.0
        self.total_squares = 0.0


@dataclasses.dataclass(frozen=True)
class NumericFeature(base.FeatureSpec):
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
        base.check_name(self.name, "Feature")
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

    def missing_state(self) -> str:
        return "normalization statistics (mean, variance)"

    # === Raw input ===

    def input_dtype(self) -> str:
        return "float32"

    def file_column_type(self) -> str:
        return "float"

    def example_spec(self):
        return tf.io.FixedLenFeature([], tf.float32, default_value=np.nan)

    def example_feature(self, value):
        return tf.train.Feature(
            float_list=tf.train.FloatList(value=[float(value)]))

    def to_array(self, frame: pd.DataFrame) -> np.ndarray:
        base.require_column(frame, self.source, f"Feature '{self.name}'")
        values = base.numeric_column(
            frame, self.source, f"Feature '{self.name}' is numeric and",
            "numbers",
        )
        return values.astype(np.float32)

    def transformed(self, values):
        """The log transform if asked (statistics are learned after it)."""
        values = tf.cast(values, tf.float32)
        return signed_log1p(values) if self.log_transform else values

    # === Adapt ===

    def new_statistics(self):
        return Moments() if self.normalize and (
            self.mean is None or self.variance is None) else None

    def observe(self, chunk, statistics):
        values = self.to_array(chunk)
        if statistics is not None:
            values = np.asarray(self.transformed(values), dtype=np.float64)
            values = values[np.isfinite(values)]
            statistics.count += values.size
            statistics.total += float(values.sum())
            statistics.total_squares += float(np.square(values).sum())
        return self

    def adapted(self, statistics, features):
        if statistics is None:
            return self
        if statistics.count == 0:
            raise base.DataError(
                f"Feature '{self.name}': column '{self.source}' has no "
                f"finite values to learn normalization from.")
        mean = statistics.total / statistics.count
        variance = max(statistics.total_squares / statistics.count
                       - mean * mean, 0.0)
        return dataclasses.replace(
            self, mean=self.mean if self.mean is not None else mean,
            variance=(self.variance if self.variance is not None
                      else variance))

    # === Preprocessing stage ===

    def encoded_shape(self) -> tuple:
        return (2,) if self.missing_indicator else (1,)

    def preprocess(self, raw, layer):
        return NumericFeature.preprocess_group([self], [raw])[self.name]

    def preprocessing_group(self) -> str:
        return "numeric"

    @staticmethod
    def preprocess_group(specs, raws) -> dict:
        """Several numeric features at once: their values side by side in
        one `[batch, features]` matrix, so a served request runs one chain
        of ops for all of them rather than one per feature."""
        columns = []
        for spec, raw in zip(specs, raws):
            raw = tf.convert_to_tensor(raw)
            if raw.dtype == tf.string:
                raise TypeError(
                    f"Feature '{spec.name}' is numeric but received strings.")
            columns.append(tf.reshape(tf.cast(raw, tf.float32), [-1]))
        x = tf.stack(columns, axis=1)
        finite = tf.math.is_finite(x)
        logged = [spec.log_transform for spec in specs]
        if all(logged):
            x = signed_log1p(x)
        elif any(logged):
            x = tf.where(tf.constant(logged), signed_log1p(x), x)
        means = [spec.mean if spec.normalize else 0.0 for spec in specs]
        scales = [max(max(spec.variance, 0.0) ** 0.5, _EPSILON)
                  if spec.normalize else 1.0 for spec in specs]
        if any(means) or any(scale != 1.0 for scale in scales):
            x = (x - tf.constant(means, tf.float32)) / tf.constant(
                scales, tf.float32)
        x = tf.where(finite, x, tf.zeros_like(x))  # missing -> the mean
        out = dict(zip([spec.name for spec in specs],
                       tf.split(x, len(specs), axis=1)))
        indicators = [i for i, spec in enumerate(specs)
                      if spec.missing_indicator]
        if indicators:
            missing = 1.0 - tf.cast(finite, tf.float32)
            for i in indicators:
                out[specs[i].name] = tf.concat(
                    [out[specs[i].name], missing[:, i:i + 1]], axis=-1)
        return out

    # === Model stage ===

    @property
    def output_dim(self) -> int:
        return self.encoded_shape()[0]

    def encode(self, encoded, layer, compute_dtype):
        return tf.cast(encoded, compute_dtype)
