"""One hash table for the vocabularies of every categorical feature."""

from __future__ import annotations

import keras
import tensorflow as tf

from mtzoo.api_export import mtzoo_export

SEPARATOR = "\x1f"  # between a table's name and a value in a key


@mtzoo_export
class FusedVocabularyLookup(keras.layers.Layer):
    """Maps values of several vocabularies to ids with one hash table.

    Each key is `"<table>\\x1f<value>"` (integer values as decimal strings),
    so one `tf.lookup.StaticHashTable` serves every vocabulary, and the
    values of many features can be looked up in a single op. Known values
    get `num_oov_buckets + index`; unknown ones are hashed into the table's
    `num_oov_buckets` out-of-vocabulary ids `[0, num_oov_buckets)`.

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
        keys, ids = [], []
        for name, spec in self.tables.items():
            oov = spec["num_oov_buckets"]
            keys += [f"{name}{SEPARATOR}{value}"
                     for value in spec["vocabulary"]]
            ids += range(oov, oov + len(spec["vocabulary"]))
        self.size = len(keys)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(keys or [""], tf.string),
                tf.constant(ids or [-1], tf.int64)),
            default_value=-1)
        self.built = True

    @staticmethod
    def _as_strings(values):
        return (values if values.dtype == tf.string
                else tf.strings.as_string(tf.cast(values, tf.int64)))

    def keys(self, table: str, values):
        """The table's keys for `values` (strings or integers)."""
        return tf.strings.join([f"{table}{SEPARATOR}",
                                self._as_strings(values)])

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
        names = list(entries)
        tables = [entries[n][0] for n in names]
        # One join for all entries: values side by side, each column
        # prefixed with its table's name.
        values = tf.stack([self._as_strings(entries[n][1]) for n in names],
                          axis=1)
        prefixes = tf.constant([f"{t}{SEPARATOR}" for t in tables])
        keys = tf.strings.join([tf.broadcast_to(prefixes, tf.shape(values)),
                                values])
        ids = self._ids(keys, tables)
        return dict(zip(names, tf.unstack(ids, axis=1)))

    def _ids(self, keys, tables: list[str]):
        ids = self.table.lookup(keys)
        buckets = [self.tables[t]["num_oov_buckets"] for t in tables]
        if max(buckets) == 1:  # the one OOV id is 0
            ids = tf.maximum(ids, 0)
        else:
            hashed = tf.strings.to_hash_bucket_fast(keys, 2**31 - 1)
            oov = tf.math.floormod(hashed, tf.constant(buckets, tf.int64))
            ids = tf.where(ids < 0, oov, ids)
        return tf.cast(ids, tf.int32)

    def get_config(self):
        return {**super().get_config(), "tables": self.tables}
