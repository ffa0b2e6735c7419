"""A model called eagerly, batch by batch: for a few batches cheaper than
`Model.predict`, whose first call traces a predict step (about 3 s for a
multi-task model on 2 cores, against about 0.1 s per eager batch of 4,096
rows)."""

from __future__ import annotations

import numpy as np


def call_in_batches(model, batches) -> dict[str, np.ndarray]:
    """`model`'s outputs (a dict) on each of `batches` (dicts of inputs),
    concatenated along the rows."""
    parts = [model(batch, training=False) for batch in batches]
    return {name: np.concatenate([np.asarray(part[name]) for part in parts])
            for name in parts[0]}
