"""Design matrices for the baselines, from the features as mtzoo encodes
them (so the baselines see exactly the columns the network sees: the same
vocabularies, imputation and standardization).

- Trees (gradient boosting) get a dense matrix: ids of single-valued
  categorical features as categories (or as ordinal codes when the
  vocabulary exceeds what a histogram tree splits on), numbers and
  pretrained text vectors as they are, and the count of values of
  multi-valued features.
- Linear models get a sparse matrix: one-hot ids, bags of ids for
  multi-valued features and texts (TF-IDF weighted), standardized numbers.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import sparse

#: Categories a histogram gradient-boosting tree splits on (its bins less
#: the one kept for missing values).
MAX_TREE_CATEGORIES = 254


@dataclasses.dataclass
class Design:
    """The columns of one feature set, learned on the training rows.

    `fit` learns the number of rows of each id space and the IDF weights
    of bags; `trees` and `linear` turn encoded arrays into matrices.
    """

    features: list
    id_rows: dict = dataclasses.field(default_factory=dict)
    idf: dict = dataclasses.field(default_factory=dict)
    scale: tuple | None = None

    def fit(self, encoded: dict) -> "Design":
        for spec in self.features:
            values = np.asarray(encoded[spec.name])
            if np.issubdtype(values.dtype, np.integer):
                table = spec.embedding()
                self.id_rows[spec.name] = int(max(
                    table[1] if table else 0, values.max(initial=0) + 1))
                if values.ndim == 2:
                    bag = self._bag(spec.name, values)
                    documents = np.asarray((bag > 0).sum(axis=0)).ravel()
                    self.idf[spec.name] = np.log(
                        (1 + len(values)) / (1 + documents)) + 1
        dense = self._dense_linear(encoded)
        self.scale = (dense.mean(axis=0), dense.std(axis=0) + 1e-6)
        return self

    def single_id_columns(self) -> dict[str, int]:
        """Each single-valued id feature's column of `trees`."""
        names = [s.name for s in self.features if s.name in self.id_rows
                 and s.name not in self.idf]
        return dict(zip(names, [c for c, _ in self._single_ids()]))

    def _single_ids(self) -> list[tuple[int, bool]]:
        """`(column of trees, few categories)` of each single-valued id."""
        found, column = [], 0
        for spec in self.features:
            if spec.name in self.id_rows and spec.name not in self.idf:
                found.append((column, self.id_rows[spec.name]
                              <= MAX_TREE_CATEGORIES))
            column += self._tree_width(spec)
        return found

    @property
    def categorical(self) -> list[bool]:
        """Which columns of `trees` are categories a tree splits on."""
        flags = [False] * sum(self._tree_width(s) for s in self.features)
        for column, few in self._single_ids():
            flags[column] = few
        return flags

    @property
    def many_valued(self) -> list[int]:
        """Columns of `trees` holding ids of more categories than a tree
        splits on (target-encode them per task)."""
        return [column for column, few in self._single_ids() if not few]

    def _tree_width(self, spec) -> int:
        if spec.name in self.id_rows:
            return 1
        shape = spec.encoded_shape()
        return int(np.prod(shape)) if shape else 1

    def trees(self, encoded: dict) -> np.ndarray:
        columns = []
        for spec in self.features:
            values = np.asarray(encoded[spec.name])
            if spec.name in self.idf:  # a bag: how many values
                columns.append((values >= 0).sum(axis=1, keepdims=True))
            elif spec.name in self.id_rows:
                columns.append(values.reshape(-1, 1))
            else:
                columns.append(values.reshape(len(values), -1))
        return np.hstack(columns).astype(np.float32)

    def _bag(self, name: str, values: np.ndarray):
        rows = np.repeat(np.arange(len(values)), values.shape[1])
        ids = values.reshape(-1)
        keep = (ids >= 0) & (ids < self.id_rows[name])
        return sparse.csr_matrix(
            (np.ones(int(keep.sum()), np.float32), (rows[keep], ids[keep])),
            shape=(len(values), self.id_rows[name]))

    def _dense_linear(self, encoded: dict) -> np.ndarray:
        columns = [np.asarray(encoded[s.name], np.float32).reshape(
            len(encoded[s.name]), -1) for s in self.features
            if s.name not in self.id_rows]
        rows = len(next(iter(encoded.values())))
        return np.hstack(columns) if columns else np.zeros((rows, 0))

    def linear(self, encoded: dict):
        mean, std = self.scale
        parts = [sparse.csr_matrix((self._dense_linear(encoded) - mean)
                                   / std)]
        for spec in self.features:
            if spec.name not in self.id_rows:
                continue
            values = np.asarray(encoded[spec.name])
            if spec.name in self.idf:
                bag = self._bag(spec.name, values).multiply(
                    self.idf[spec.name][None, :]).tocsr()
                norms = np.sqrt(np.asarray(bag.multiply(bag).sum(axis=1)))
                parts.append(sparse.csr_matrix(
                    bag.multiply(1 / np.maximum(norms, 1e-12))))
            else:
                ids = np.clip(values.reshape(-1), 0,
                              self.id_rows[spec.name] - 1)
                parts.append(sparse.csr_matrix(
                    (np.ones(len(ids), np.float32), (np.arange(len(ids)),
                                                     ids)),
                    shape=(len(ids), self.id_rows[spec.name])))
        return sparse.hstack(parts).tocsr()
