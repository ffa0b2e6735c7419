"""A dense vector computed elsewhere (text, image or LLM embeddings)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from mtzoo.features import base


@dataclasses.dataclass(frozen=True)
class VectorFeature(base.FeatureSpec):
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
        base.check_name(self.name, "Feature")
        base.check_positive_int(self, "dim")
        if self.projection_dim is not None:
            base.check_positive_int(self, "projection_dim")

    # === Raw input ===

    def input_shape(self) -> tuple:
        return (self.dim,)

    def input_dtype(self) -> str:
        return "float32"

    def file_column_type(self) -> str:
        return "string"  # "0.1 0.2 ..." in files

    def example_spec(self):
        return tf.io.FixedLenFeature([self.dim], tf.float32,
                                     default_value=[np.nan] * self.dim)

    def example_feature(self, value):
        return tf.train.Feature(float_list=tf.train.FloatList(
            value=[float(v) for v in value]))

    def to_array(self, frame: pd.DataFrame) -> np.ndarray:
        base.require_column(frame, self.source, f"Feature '{self.name}'")
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
                raise base.DataError(
                    f"Feature '{self.name}' expects vectors of {self.dim} "
                    f"numbers in column '{self.source}', but "
                    f"{base.describe_row(frame, position)} has {base.plain(cell)!r}"
                ) from None
            if vector.shape[0] != self.dim:
                raise base.DataError(
                    f"Feature '{self.name}' expects vectors of {self.dim} "
                    f"numbers in column '{self.source}', but "
                    f"{base.describe_row(frame, position)} has "
                    f"{vector.shape[0]}")
            out[position] = vector
        return out

    # === Preprocessing stage ===

    def preprocess(self, raw, layer):
        x = tf.cast(tf.convert_to_tensor(raw), tf.float32)
        return tf.where(tf.math.is_finite(x), x, tf.zeros_like(x))

    # === Model stage ===

    @property
    def output_dim(self) -> int:
        return self.projection_dim or self.dim

    def model_key(self) -> str | None:
        return f"projection_{self.name}" if self.projection_dim else None

    def make_model_layer(self, *, embeddings_initializer,
                         embeddings_regularizer, dtype):
        return keras.layers.Dense(self.projection_dim, dtype=dtype,
                                  name=f"projection_{self.name}")

    def encode(self, encoded, layer, compute_dtype):
        x = tf.cast(encoded, compute_dtype)
        return layer(x) if layer is not None else x
