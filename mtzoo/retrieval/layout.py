"""How a retrieval head packs candidate ids into its float32 output.

An id is written as two float32 columns, `id // 2**16` and `id % 2**16`,
each exact in float32, so every int32 id (a catalogue of any size a
vocabulary can hold) comes back exactly; a single float32 column is
exact only below 2**24 (16.7M) ids.
"""

from __future__ import annotations

from keras import ops

#: Columns one packed id takes.
ID_COLUMNS = 2
_BASE = 2 ** 16


def pack_ids(ids):
    """`(batch, 2)` float32 columns of `(batch,)` int ids."""
    ids = ops.cast(ids, "int32")
    high = ops.floor_divide(ids, _BASE)
    low = ids - high * _BASE
    return ops.cast(ops.stack([high, low], axis=-1), "float32")


def unpack_ids(columns):
    """`(batch,)` int32 ids from the columns of `pack_ids`."""
    columns = ops.cast(columns, "int32")
    return columns[:, 0] * _BASE + columns[:, 1]
