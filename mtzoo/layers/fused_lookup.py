"""One hash table for the vocabularies of every categorical feature."""

from __future__ import annotations

import hashlib

import keras
import numpy as np
import tensorflow as tf

from mtzoo.api_export import mtzoo_export

#: Strings are fingerprinted into [0, 2**63 - 1) before lookup.
_HASH_SPACE = 2**63 - 1


def table_salt(table: str) -> int:
    """A fixed 64-bit number per table name, mixed into its keys so equal
    values of two tables are two keys."""
    digest = hashlib.blake2b(table.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def hashed_values(values):
    """Strings as their 64-bit fingerprints, integers as they are."""
    if values.dtype == tf.string:
        return tf.strings.to_hash_bucket_fast(values, _HASH_SPACE)
    return tf.cast(values, tf.int64)


@mtzoo_export
class FusedVocabularyLookup(keras.layers.Layer):
    """Maps values of several vocabularies to ids with one hash table.

    Each key is a value's 64-bit fingerprint (integers as they are) XOR a
    fixed number derived from its table's name, so one int64
    `tf.lookup.StaticHashTable` serves every vocabulary, and the values of
    many features are looked up in a single op with no string copies.
    Known values get `num_oov_buckets + index`; unknown ones are hashed
    into the table's `num_oov_buckets` out-of-vocabulary ids
    `[0, num_oov_buckets)`. An unknown value shares a known value's key
    with probability about (vocabulary size) / 2**63; two known values that
    share a key are refused when the layer is built.

    Args:
        tables: dict mapping a table name to `{"vocabulary": [...],
            "num_oov_buckets": int}`.
        **kwargs: Args to pass to the base class.

    Example:

    ```python
    lookup = FusedVocabularyLookup({
        "city": {"vocabulary": ["paris", "rome"], "num_oov_buckets": 1},
        "item": {"vocabulary": [10, 20], "num_oov_buckets": 1}})
    lookup.lookup({"city": tf.constant(["rome", "oslo"]),
                   "item": tf.constant([20, 7], tf.int64)})
    # {"city": [2, 0], "item": [2, 0]}
    ```
    """

    def __init__(self, tables: dict, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.tables = {
            name: {"vocabulary": list(spec["vocabulary"]),
                   "num_oov_buckets": int(spec["num_oov_buckets"])}
            for name, spec in tables.items()}
        self._salts = {name: table_salt(name) for name in self.tables}
        keys, ids = [], []
        for name, spec in self.tables.items():
            vocabulary = spec["vocabulary"]
            if not vocabulary:
                continue
            oov = spec["num_oov_buckets"]
            keys.append(self.keys(name, tf.constant(vocabulary)).numpy())
            ids.append(np.arange(oov, oov + len(vocabulary)))
        keys = np.concatenate(keys) if keys else np.zeros(1, np.int64)
        ids = np.concatenate(ids) if ids else np.full(1, -1)
        if len(np.unique(keys)) != len(keys):
            raise ValueError(
                "Two vocabulary values share a 64-bit key; rename one of "
                "the tables (features' `embedding_table`) to change its "
                "keys.")
        self.size = int((ids >= 0).sum())
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(keys, tf.int64), tf.constant(ids, tf.int64)),
            default_value=-1)
        self.built = True

    def keys(self, table: str, values):
        """The table's keys for `values` (strings or integers)."""
        return tf.bitwise.bitwise_xor(
            hashed_values(values),
            tf.constant(self._salts[table], tf.int64))

    def lookup(self, values_by_table: dict) -> dict:
        """Ids of each table's values, with one table lookup in all.

        Args:
            values_by_table: dict mapping an entry name to `(table, values)`
                (or to `values` when the name is the table's): tensors of
                the same rank 1 shape `[batch]`, or any shapes when there is
                only one entry.

        Returns:
            dict of int32 id tensors, shaped as the values.
        """
        entries = {name: value if isinstance(value, tuple) else (name, value)
                   for name, value in values_by_table.items()}
        if len(entries) == 1:
            (name, (table, values)), = entries.items()
            return {name: self._ids(self.keys(table, values), [table])}
        # Keys stacked column by column (`[columns, batch]`: contiguous
        # copies, several times faster than side by side), strings
        # fingerprinted before they are stacked (stacking strings copies
        # them); one xor with every column's table salt.
        strings = [n for n in entries if entries[n][1].dtype == tf.string]
        others = [n for n in entries if n not in strings]
        parts = []
        if strings:
            parts.append(tf.stack([hashed_values(entries[n][1])
                                   for n in strings]))
        if others:
            parts.append(hashed_values(tf.stack([entries[n][1]
                                                 for n in others])))
        hashed = parts[0] if len(parts) == 1 else tf.concat(parts, axis=0)
        order = strings + others
        tables = [entries[n][0] for n in order]
        keys = tf.bitwise.bitwise_xor(hashed, tf.constant(
            [[self._salts[t]] for t in tables], tf.int64))
        ids = self._ids(keys, tables, per_row=True)
        return dict(zip(order, tf.unstack(ids)))

    def _ids(self, keys, tables: list[str], per_row: bool = False):
        """Ids of `keys`, whose rows (`per_row`) or last axis are the
        `tables`' keys."""
        ids = self.table.lookup(keys)
        buckets = [self.tables[t]["num_oov_buckets"] for t in tables]
        if max(buckets) == 1:  # the one OOV id is 0
            ids = tf.maximum(ids, 0)
        else:
            if per_row:
                buckets = [[b] for b in buckets]
            oov = tf.math.floormod(keys, tf.constant(buckets, tf.int64))
            ids = tf.where(ids < 0, oov, ids)
        return tf.cast(ids, tf.int32)

    def get_config(self):
        return {**super().get_config(), "tables": self.tables}
