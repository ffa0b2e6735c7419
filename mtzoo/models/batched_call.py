"""A model called eagerly, batch by batch: for a few batches cheaper than
`Model.predict`, whose first call traces a predict step and, for a model
whose steps XLA compiles, compiles it (about 3 s for a multi-task model on
2 cores, against 0.1-0.2 s per eager batch of 4,096 rows;
`benchmarks/run_overhead.py`)."""

from __future__ import annotations

import numpy as np


def call_in_batches(model, batches) -> dict[str, np.ndarray]:
    """`model`'s outputs (a dict) on each of `batches` (dicts of inputs),
    concatenated along the rows."""
    parts = [model(batch, training=False) for batch in batches]
    return {name: np.concatenate([np.asarray(part[name]) for part in parts])
            for name in parts[0]}
