"""Shared helpers for datasets published as pre-encoded id tables."""

from __future__ import annotations

import re

import pandas as pd

from mtzoo import features as features_lib
from mtzoo.data import sources
from mtzoo.features import DataError


def feature_name(column: str) -> str:
    """A valid feature name for a column such as `"101"` or `"109_14"`."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", str(column))
    return name if re.match(r"^[A-Za-z_]", name) else f"f{name}"


def feature_specs(categorical, numeric, *, embedding_dim: int,
                  min_frequency: int) -> list:
    """Integer-id categorical specs and numeric specs for the columns."""
    specs = [features_lib.CategoricalFeature(
        feature_name(c), column=c, dtype="int64",
        embedding_dim=embedding_dim, min_frequency=min_frequency)
        for c in categorical]
    specs += [features_lib.NumericFeature(feature_name(c), column=c)
              for c in numeric]
    return specs


def read(path, max_rows: int | None = None) -> pd.DataFrame:
    """Reads one CSV split, all columns numeric."""
    frame = pd.read_csv(path, nrows=max_rows)
    if len(frame) == 0:
        raise DataError(f"CSV file '{path}' has no rows.")
    return frame


def locate_splits(dataset: str, layouts: list[dict[str, str]], data_dir,
                  instructions: str) -> dict:
    """Finds a layout (split name -> file name) in the data folders."""
    folder, names = sources.locate(
        dataset, [list(layout.values()) for layout in layouts],
        data_dir=data_dir, instructions=instructions)
    layout = next(layout for layout in layouts
                  if list(layout.values()) == names)
    return {split: folder / name for split, name in layout.items()}


def check_columns(frame: pd.DataFrame, required, path) -> None:
    absent = [c for c in required if c not in frame.columns]
    if absent:
        raise DataError(
            f"File '{path}' lacks columns {absent} of its dataset's layout. "
            f"Its columns: {list(frame.columns)[:20]}")
