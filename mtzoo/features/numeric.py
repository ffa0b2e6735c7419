"""A real number, standardized with statistics learned from training data;
optionally also as a piecewise-linear encoding over quantile bins and as an
embedding of its frequent exact values."""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import ClassVar

import numpy as np
import pandas as pd
import tensorflow as tf

from mtzoo.features import base

_EPSILON = 1e-7

#: What `NumericFeature.beyond_range` accepts.
BEYOND_RANGE = ("compress", "clip", "linear")


def signed_log1p(x):
    """`sign(x) * log1p(|x|)`: the log transform, for training statistics
    and for the model alike."""
    return tf.sign(x) * tf.math.log1p(tf.abs(x))


#: `log_transform="auto"` takes the log of a column whose values are all
#: >= 0 and right-skewed beyond this (sample skewness), when the log at
#: least halves the skewness: counts, prices, durations.
AUTO_LOG_SKEWNESS = 2.0


class Moments:
    """Count, range, and sums of the finite values seen and of their
    squares and cubes (about a shift, the first chunk's mean, so large
    values keep their precision), and how often each value occurs when
    bins or a value vocabulary are learned. `logged`: the same of the
    log-transformed values, kept while `log_transform="auto"` is
    undecided."""

    def __init__(self, count_values: bool = False, *, logged: bool = False):
        self.count = 0
        self.shift = None
        self.shifted = np.zeros(3)  # sums of (x - shift) ** 1, 2, 3
        self.low, self.high = math.inf, -math.inf
        self.values = collections.Counter() if count_values else None
        self.logged = Moments() if logged else None

    def add(self, values: np.ndarray) -> None:
        """Counts `values` (finite float64)."""
        if not values.size:
            return
        self.count += values.size
        self.low = min(self.low, float(values.min()))
        self.high = max(self.high, float(values.max()))
        if self.shift is None:
            self.shift = float(values.mean())
        centred = values - self.shift
        self.shifted += [centred.sum(), np.square(centred).sum(),
                         (centred ** 3).sum()]

    def mean(self) -> float:
        return float(self.shift + self.shifted[0] / self.count)

    def variance(self) -> float:
        m1, m2 = self.shifted[:2] / self.count
        return max(float(m2 - m1 * m1), 0.0)

    def skewness(self) -> float:
        """The sample skewness of the values seen (0 if constant)."""
        if not self.count:
            return 0.0
        m1, m2, m3 = self.shifted / self.count
        variance = m2 - m1 * m1
        if variance <= 1e-12 * max(1.0, m2):
            return 0.0
        return float((m3 - 3 * m1 * m2 + 2 * m1 ** 3) / variance ** 1.5)

    def log_helps(self) -> bool:
        """Whether the log transform suits these raw values (see
        `AUTO_LOG_SKEWNESS`)."""
        raw = self.skewness()
        return (self.low >= 0 and raw > AUTO_LOG_SKEWNESS
                and abs(self.logged.skewness()) < raw / 2)


def quantile_edges(values: collections.Counter, bins: int) -> tuple:
    """`bins + 1` edges at the quantiles of the counted values (equal
    edges where one value holds more than a bin's share)."""
    points = np.array(sorted(values), dtype=np.float64)
    weights = np.array([values[v] for v in points], dtype=np.float64)
    cumulative = np.cumsum(weights) / weights.sum()
    targets = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    inner = points[np.minimum(np.searchsorted(cumulative, targets),
                              len(points) - 1)]
    return tuple(float(v) for v in (points[0], *inner, points[-1]))


def piecewise_linear(x, edges):
    """Gorishniy et al.'s piecewise-linear encoding: for each bin
    `[lo, hi]`, 0 below it, 1 above it, linear inside (a step at `hi` for
    an empty bin). `x`: `[batch]`; returns `[batch, bins]`."""
    low = tf.constant(edges[:-1], tf.float32)
    high = tf.constant(edges[1:], tf.float32)
    width = high - low
    x = x[:, None]
    ramp = tf.clip_by_value((x - low) / tf.maximum(width, _EPSILON), 0., 1.)
    step = tf.cast(x >= high, tf.float32)
    return tf.where(width > 0, ramp, step)


def value_ids(x, vocabulary):
    """Row of each value in the sorted `vocabulary` plus one; 0 for values
    outside it (and for missing ones). `x`: `[batch]`."""
    if not vocabulary:
        return tf.zeros_like(x)
    known = tf.constant(vocabulary, tf.float32)
    position = tf.searchsorted(known, x, side="left")
    position = tf.minimum(position, len(vocabulary) - 1)
    found = tf.gather(known, position) == x
    return tf.where(found, tf.cast(position + 1, tf.float32), 0.0)


def _beyond_range(x, specs):
    """`x` (`[batch, features]`, after the log transform) with values
    outside each feature's training range compressed or clipped."""
    lows, highs, scales, clipped = [], [], [], []
    for spec in specs:
        mode = spec.beyond_range or "compress"
        if spec.value_range is None or mode == "linear":
            lows.append(-math.inf)
            highs.append(math.inf)
        else:
            lows.append(spec.value_range[0])
            highs.append(spec.value_range[1])
        scales.append(max(spec.variance or 0.0, 0.0) ** 0.5 or 1.0)
        clipped.append(mode == "clip")
    if all(math.isinf(low) for low in lows):
        return x
    low = tf.constant(lows, tf.float32)
    high = tf.constant(highs, tf.float32)
    scale = tf.constant(scales, tf.float32)
    inside = tf.clip_by_value(x, low, high)
    if all(clipped):
        return inside
    excess = x - inside  # > 0 above the range, < 0 below, 0 inside
    compressed = inside + tf.sign(excess) * scale * tf.math.log1p(
        tf.abs(excess) / scale)
    return tf.where(tf.constant(clipped), inside, compressed) \
        if any(clipped) else compressed


@dataclasses.dataclass(frozen=True)
class NumericFeature(base.FeatureSpec):
    """A real number, normalized with statistics learned from training data.

    Args:
        name: str. Feature name; also the model input name.
        column: str. Data column to read. Defaults to `name`.
        log_transform: bool, or `"auto"`. Apply `sign(x) * log1p(|x|)`
            before normalizing, for heavy-tailed values such as prices or
            counts. `"auto"` (the default) lets `adapt` decide from the
            training values: the log when they are all >= 0, their
            skewness exceeds `AUTO_LOG_SKEWNESS` and the log at least
            halves it. A spec given its `mean`, or not normalized, keeps
            its values as given: `"auto"` is then False.
        normalize: bool. Standardize to zero mean and unit variance with the
            statistics learned by `adapt`. Defaults to True.
        missing_indicator: bool. Also feed a 0/1 "was missing" input. Missing
            values (NaN, inf) are always replaced by the mean. Defaults to
            False.
        piecewise_linear_bins: int. Also encode the value piecewise-linearly
            over this many quantile bins learned by `adapt` (one input per
            bin: 0 below the bin, 1 above, linear inside), which lets a
            network draw thresholds as trees do. Defaults to 0 (off).
        embed_values: bool. Also embed the value itself, as a category,
            when it is one of the values seen at least `min_frequency` times
            in training (others share one row). For numbers whose exact
            values mean something, e.g. a capital gain of 15,024 or a wage
            of 0. Defaults to False.
        min_frequency: int. Occurrences a value needs to get its own
            embedding with `embed_values`. Defaults to 5.
        embedding_dim: int. Width of the value embedding. Defaults to 8.
        beyond_range: what a value outside the training range `[min, max]`
            (after the log transform) becomes: `"compress"` (the default
            when `adapt` learns the range) keeps it monotone but grows only
            logarithmically beyond the range, `s * log1p(excess / s)` with
            `s` the standard deviation, so a test period outside the
            training range cannot send predictions arbitrarily far;
            `"clip"` holds it at the range's edge; `"linear"` leaves it as
            it is. Defaults to None: `"compress"`, or `"linear"` for specs
            whose statistics were given without a range.
        mean: float. Learned by `adapt`.
        variance: float. Learned by `adapt`.
        bin_edges: the `piecewise_linear_bins + 1` quantile edges. Learned
            by `adapt`.
        value_vocabulary: the embedded values, sorted. Learned by `adapt`.
        value_range: `(min, max)` of the training values after the log
            transform. Learned by `adapt`.

    References:
        - [Gorishniy et al., 2022](https://arxiv.org/abs/2203.05556): On
          Embeddings for Numerical Features in Tabular Deep Learning
          (NeurIPS 2022), piecewise-linear encoding.
    """

    kind: ClassVar[str] = "numeric"
    name: str
    column: str | None = None
    log_transform: bool | str = "auto"
    normalize: bool = True
    missing_indicator: bool = False
    piecewise_linear_bins: int = 0
    embed_values: bool = False
    min_frequency: int = 5
    embedding_dim: int = 8
    beyond_range: str | None = None
    mean: float | None = None
    variance: float | None = None
    bin_edges: tuple | None = None
    value_vocabulary: tuple | None = None
    value_range: tuple | None = None

    def __post_init__(self):
        base.check_name(self.name, "Feature")
        if self.log_transform not in (True, False, "auto"):
            raise ValueError(
                f"Feature '{self.name}': `log_transform` must be true, "
                f"false or \"auto\". Received: "
                f"log_transform={self.log_transform!r}")
        if self.log_transform == "auto" and (self.mean is not None
                                             or not self.normalize):
            object.__setattr__(self, "log_transform", False)
        if self.variance is not None and self.variance < 0:
            raise ValueError(
                f"Feature '{self.name}': `variance` must be >= 0. "
                f"Received: variance={self.variance}"
            )
        if self.beyond_range not in (None, *BEYOND_RANGE):
            raise ValueError(
                f"Feature '{self.name}': `beyond_range` must be one of "
                f"{list(BEYOND_RANGE)}. Received: "
                f"beyond_range={self.beyond_range!r}")
        if self.value_range is not None:
            low, high = (float(v) for v in self.value_range)
            if not low <= high:
                raise ValueError(
                    f"Feature '{self.name}': `value_range` must be (min, "
                    f"max) with min <= max. Received: "
                    f"value_range={self.value_range!r}")
            object.__setattr__(self, "value_range", (low, high))
        if self.piecewise_linear_bins:
            base.check_positive_int(self, "piecewise_linear_bins")
        base.check_positive_int(self, "min_frequency")
        base.check_positive_int(self, "embedding_dim")
        for attr in ("bin_edges", "value_vocabulary"):
            value = getattr(self, attr)
            if value is not None:  # lists from a config
                object.__setattr__(self, attr,
                                   tuple(float(v) for v in value))
        if (self.bin_edges is not None
                and len(self.bin_edges) != self.piecewise_linear_bins + 1):
            raise ValueError(
                f"Feature '{self.name}': `bin_edges` needs "
                f"piecewise_linear_bins + 1 = {self.piecewise_linear_bins + 1}"
                f" edges. Received {len(self.bin_edges)}.")

    @property
    def _needs_range(self) -> bool:
        """Whether `adapt` is still to learn the range: asked for, or by
        default on a spec that learns its statistics (a spec given its
        mean without a range, as saved before ranges, stays linear)."""
        if self.value_range is not None or self.beyond_range == "linear":
            return False
        return self.beyond_range is not None or (
            self.normalize and self.mean is None)

    @property
    def _log_undecided(self) -> bool:
        return self.log_transform == "auto"

    @property
    def is_adapted(self) -> bool:
        return not self._log_undecided and not self._needs_range and (
            not self.normalize or (
                self.mean is not None and self.variance is not None)) and (
            not self.piecewise_linear_bins or self.bin_edges is not None) and (
            not self.embed_values or self.value_vocabulary is not None)

    def missing_state(self) -> str:
        return ("whether to take the log (log_transform=\"auto\"), "
                "normalization statistics (mean, variance), quantile bin "
                "edges or value vocabulary")

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

    # === Adapt ===

    def _counts_values(self) -> bool:
        return (self.piecewise_linear_bins and self.bin_edges is None) or (
            self.embed_values and self.value_vocabulary is None)

    def new_statistics(self):
        moments = (self.normalize and (
            self.mean is None or self.variance is None)) or self._needs_range
        return Moments(count_values=self._counts_values(),
                       logged=self._log_undecided) if (
            moments or self._counts_values() or self._log_undecided) else None

    def observe(self, chunk, statistics):
        raw = self.to_array(chunk)
        if statistics is not None:
            values = np.asarray(raw, dtype=np.float64)
            values = values[np.isfinite(values)]
            if self.log_transform is not False:  # True, or undecided
                logged = np.sign(values) * np.log1p(np.abs(values))
            if statistics.logged is not None:
                statistics.logged.add(logged)
            statistics.add(logged if self.log_transform is True else values)
            if statistics.values is not None:
                # Bins and the vocabulary are of raw values (float32, as
                # served): the log transform changes neither quantile ranks
                # nor which values are equal.
                raw = raw[np.isfinite(raw)]
                distinct, counts = np.unique(raw, return_counts=True)
                statistics.values.update(dict(zip(distinct.tolist(),
                                                  counts.tolist())))
        return self

    def adapted(self, statistics, features):
        if statistics is None:
            return self
        if statistics.count == 0:
            raise base.DataError(
                f"Feature '{self.name}': column '{self.source}' has no "
                f"finite values to learn normalization from.")
        learned = {}
        counted = statistics.values  # of raw values, as served
        if self._log_undecided:
            learned["log_transform"] = statistics.log_helps()
            if learned["log_transform"]:
                statistics = statistics.logged
        if self.normalize:
            learned.update(
                mean=(self.mean if self.mean is not None
                      else statistics.mean()),
                variance=(self.variance if self.variance is not None
                          else statistics.variance()))
        if self._needs_range:
            learned["value_range"] = (statistics.low, statistics.high)
        if self.piecewise_linear_bins and self.bin_edges is None:
            learned["bin_edges"] = quantile_edges(
                counted, self.piecewise_linear_bins)
        if self.embed_values and self.value_vocabulary is None:
            learned["value_vocabulary"] = tuple(sorted(
                float(v) for v, c in counted.items()
                if c >= self.min_frequency))
        return dataclasses.replace(self, **learned)

    # === Preprocessing stage ===

    def encoded_shape(self) -> tuple:
        """Standardized value, then the missing indicator, the
        piecewise-linear bins and the value's embedding row (as a float),
        each when asked for."""
        return (1 + int(self.missing_indicator) + self.piecewise_linear_bins
                + int(self.embed_values),)

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
        logged = [spec.log_transform is True for spec in specs]
        if all(logged):
            x = signed_log1p(x)
        elif any(logged):
            x = tf.where(tf.constant(logged), signed_log1p(x), x)
        x = _beyond_range(x, specs)
        means = [spec.mean if spec.normalize else 0.0 for spec in specs]
        scales = [max(max(spec.variance, 0.0) ** 0.5, _EPSILON)
                  if spec.normalize else 1.0 for spec in specs]
        if any(means) or any(scale != 1.0 for scale in scales):
            x = (x - tf.constant(means, tf.float32)) / tf.constant(
                scales, tf.float32)
        x = tf.where(finite, x, tf.zeros_like(x))  # missing -> the mean
        out = dict(zip([spec.name for spec in specs],
                       tf.split(x, len(specs), axis=1)))
        missing = 1.0 - tf.cast(finite, tf.float32)
        for i, spec in enumerate(specs):
            extra = []
            if spec.missing_indicator:
                extra.append(missing[:, i:i + 1])
            raw = columns[i]
            if spec.piecewise_linear_bins:
                bins = piecewise_linear(raw, spec.bin_edges)
                extra.append(tf.where(finite[:, i:i + 1], bins,
                                      tf.zeros_like(bins)))
            if spec.embed_values:
                extra.append(value_ids(raw, spec.value_vocabulary)[:, None])
            if extra:
                out[spec.name] = tf.concat([out[spec.name], *extra], axis=-1)
        return out

    # === Model stage ===

    @property
    def output_dim(self) -> int:
        return (self.encoded_shape()[0] - int(self.embed_values)
                + (self.embedding_dim if self.embed_values else 0))

    def embedding(self) -> tuple[str, int, int] | None:
        if not self.embed_values:
            return None
        return self.name, len(self.value_vocabulary) + 1, self.embedding_dim

    def embedding_ids(self, encoded):
        return tf.cast(encoded[:, -1], tf.int32)

    def encode(self, encoded, layer, compute_dtype):
        if not self.embed_values:
            return tf.cast(encoded, compute_dtype)
        # `layer`: the embedding rows of the value ids (the last column).
        return tf.concat([tf.cast(encoded[:, :-1], compute_dtype),
                          tf.cast(layer, compute_dtype)], axis=-1)


def takes_piecewise_linear_bins(spec) -> bool:
    """Whether `with_piecewise_linear_bins` would bin this spec: a numeric
    feature declared without bins."""
    return isinstance(spec, NumericFeature) and not spec.piecewise_linear_bins


def with_piecewise_linear_bins(specs, bins: int) -> list:
    """`specs` with every numeric feature declared without bins also
    encoded piecewise-linearly over `bins` quantile bins (their edges left
    for `adapt` to learn)."""
    return [dataclasses.replace(spec, piecewise_linear_bins=bins,
                                bin_edges=None)
            if takes_piecewise_linear_bins(spec) else spec for spec in specs]
