"""What a dataset loader returns."""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import pandas as pd


@dataclasses.dataclass
class DatasetBundle:
    """A dataset ready for mtzoo: frames plus feature and task specs.

    Attributes:
        name: dataset name.
        train: training rows.
        test: test rows (never used for early stopping).
        features: feature specs, adapted on `train`.
        tasks: task specs; label columns are in the frames.
        validation: validation rows, when the dataset defines them.
        files: the files read, by split.
        description: where the data comes from and what the tasks are.
    """

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    features: list
    tasks: list
    validation: pd.DataFrame | None = None
    files: dict[str, list[pathlib.Path]] = dataclasses.field(
        default_factory=dict)
    description: str = ""

    def split_validation(self, fraction: float = 0.1, seed: int = 0,
                         source: str = "train") -> "DatasetBundle":
        """A copy whose validation set is a random `fraction` of `source`
        (`"train"` or `"test"`), removed from it."""
        if not 0 < fraction < 1:
            raise ValueError(
                f"`fraction` must be in (0, 1). Received: fraction="
                f"{fraction!r}")
        frame = getattr(self, source)
        rng = np.random.default_rng(seed)
        chosen = np.zeros(len(frame), dtype=bool)
        chosen[rng.permutation(len(frame))[:int(round(fraction
                                                      * len(frame)))]] = True
        return dataclasses.replace(
            self, validation=frame[chosen].reset_index(drop=True),
            **{source: frame[~chosen].reset_index(drop=True)})
