"""Retrieval tasks: find the row's candidate (item) among all candidates.

Three variants, by where a query's negatives come from (`negatives`):

- `"in_batch"`: two towers; the batch's other candidates, scored by the
  candidate tower (Yi et al., 2019);
- `"all"`: a softmax over every row of an item table (Covington et al.,
  2016);
- `"sampled"`: that softmax over `num_sampled` rows drawn by sampling
  probability, corrected by their expected count (Jean et al., 2015).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import keras
import numpy as np
from keras import ops

from mtzoo import catalog
from mtzoo.keras_rs_import import keras_rs
from mtzoo.retrieval import layout
from mtzoo.retrieval import next_item_head
from mtzoo.retrieval import softmax
from mtzoo.tasks.base import Task
from mtzoo.tasks.base import create
from mtzoo.tasks.base import deserialize
from mtzoo.tasks.base import register_kind
from mtzoo.tasks.losses import LOSS_REDUCTION

NEGATIVES = catalog.RETRIEVAL_NEGATIVES
IN_BATCH, SAMPLED, ALL = NEGATIVES


@register_kind
@dataclasses.dataclass(frozen=True)
class RetrievalTask(Task):
    """A retrieval task (see `retrieval` and `next_item`).

    Loss: `"softmax"`. Metrics: `in_batch_accuracy` (none by default:
    recall and NDCG over the catalogue come from
    `mtzoo.retrieval.evaluate`).

    Args:
        candidate_features: the features of the candidate tower, the
            candidate's id first.
        query_features: the features of the query tower (default: every
            other feature).
        embedding_dim: size of query and candidate vectors.
        temperature: scores are divided by it.
        cosine: score by cosine instead of dot product.
        remove_accidental_hits: ignore negatives that are the positive
            candidate itself.
        sampling_correction: subtract each negative's log sampling
            probability (log Q correction).
        num_hard_negatives: keep only this many highest scoring negatives
            per query.
        ks: cut-offs of recall and NDCG over the catalogue.
        negatives: `"in_batch"`, `"all"` or `"sampled"` (see the module).
        num_sampled: negatives drawn per batch when `negatives="sampled"`.
        exclude_seen: a query feature holding the user's past items (a
            sequence reading the candidate id's table): its items are not
            recommended again: evaluation leaves them out of the ranking
            (but for the row's own candidate), and the SavedModel's
            `top_k_unseen` leaves them out of the results.
        sequence: a query feature of past items (a transformer-pooled
            `SequenceFeature` reading the candidate id's table) to train at
            every position: each past item predicts the one after it, the
            newest predicts the row's candidate (SASRec). With an item
            table only (`negatives="all"` or `"sampled"`); the query vector
            scored at serving time is the newest position's.
        positions_per_row: with `sequence`, train each row on this many
            of its positions, drawn at random at every step (default:
            every position; `mtzoo.retrieval.NextItemHead`).
        (and the arguments of `Task`; the label column is the candidate
        id's column: rows where it is missing do not count)
    """

    candidate_features: tuple | None = None
    query_features: tuple | None = None
    embedding_dim: int = 32
    temperature: float = 1.0
    cosine: bool = False
    remove_accidental_hits: bool = True
    sampling_correction: bool = True
    num_hard_negatives: int | None = None
    ks: tuple = (1, 10, 50, 100)
    negatives: str = IN_BATCH
    num_sampled: int = 1000
    exclude_seen: str | None = None
    sequence: str | None = None
    positions_per_row: int | None = None

    kind = "retrieval"
    LOSSES = {"softmax": None}  # made by `make_loss`: it needs the task
    DEFAULT_LOSS = "softmax"
    DEFAULT_METRICS = ()

    def __post_init__(self):
        for attr in ("candidate_features", "query_features", "ks"):
            if getattr(self, attr) is not None:
                object.__setattr__(self, attr, tuple(getattr(self, attr)))
        if self.label is None and self.candidate_features:
            object.__setattr__(self, "label", self.candidate_features[0])
        super().__post_init__()
        self._check()

    def _check(self) -> None:
        if not self.candidate_features:
            raise ValueError(
                f"Retrieval task '{self.name}' needs `candidate_features`, "
                f"the candidate's id feature first (e.g. "
                f"candidate_features=['movie_id', 'genres']).")
        if self.exclude_seen in self.candidate_features:
            raise ValueError(
                f"Retrieval task '{self.name}': exclude_seen names "
                f"'{self.exclude_seen}', a candidate feature; it must be a "
                f"query feature holding the user's past items.")
        shared = set(self.query_features or ()) & set(self.candidate_features)
        if shared:
            raise ValueError(
                f"Retrieval task '{self.name}': features {sorted(shared)} "
                f"are both query and candidate features.")
        if not isinstance(self.embedding_dim, int) or self.embedding_dim < 1:
            raise ValueError(f"Retrieval task '{self.name}': "
                             f"`embedding_dim` must be a positive integer. "
                             f"Received: embedding_dim={self.embedding_dim!r}")
        if not self.temperature > 0:
            raise ValueError(f"Retrieval task '{self.name}': `temperature` "
                             f"must be > 0. Received: "
                             f"temperature={self.temperature!r}")
        if not self.ks or any(not isinstance(k, int) or k < 1
                              for k in self.ks):
            raise ValueError(f"Retrieval task '{self.name}': `ks` must be "
                             f"positive integers. Received: ks={self.ks!r}")
        if self.negatives not in NEGATIVES:
            raise ValueError(f"Retrieval task '{self.name}': `negatives` "
                             f"must be one of {NEGATIVES}. Received: "
                             f"negatives={self.negatives!r}")
        if self.item_softmax:
            self._check_item_table()
        elif self.sequence:
            raise ValueError(
                f"Retrieval task '{self.name}': sequence='{self.sequence}' "
                f"trains every position against rows of an item table; "
                f"use negatives='all' or 'sampled' (next_item), not "
                f"{self.negatives!r}.")
        if self.positions_per_row is not None and (
                not self.sequence or isinstance(self.positions_per_row, bool)
                or not isinstance(self.positions_per_row, int)
                or self.positions_per_row < 1):
            raise ValueError(
                f"Retrieval task '{self.name}': `positions_per_row` is a "
                f"positive integer, with `sequence`. Received: "
                f"positions_per_row={self.positions_per_row!r}, "
                f"sequence={self.sequence!r}.")
        if self.sequence and self.num_hard_negatives:
            raise ValueError(
                f"Retrieval task '{self.name}': sequence training scores "
                f"every negative; num_hard_negatives does not apply.")
        if self.negatives == SAMPLED and (
                not isinstance(self.num_sampled, int) or self.num_sampled < 1):
            raise ValueError(f"Retrieval task '{self.name}': `num_sampled` "
                             f"must be a positive integer. Received: "
                             f"num_sampled={self.num_sampled!r}")

    def _check_item_table(self) -> None:
        if len(self.candidate_features) != 1:
            raise ValueError(
                f"Retrieval task '{self.name}': negatives="
                f"{self.negatives!r} scores rows of an item table, so the "
                f"candidate is its id alone; received candidate_features="
                f"{list(self.candidate_features)}. Use negatives='in_batch' "
                f"for a candidate tower over item features.")
        if self.cosine:
            raise ValueError(
                f"Retrieval task '{self.name}': cosine scores apply to two "
                f"towers (negatives='in_batch'); an item table scores by "
                f"dot product plus a per-item bias.")

    # === What the model builds ===

    @property
    def candidate_id(self) -> str:
        """The feature naming the candidate."""
        return self.candidate_features[0]

    @property
    def item_softmax(self) -> bool:
        """Whether candidates are rows of an item table (a softmax over the
        vocabulary, full or sampled) rather than a candidate tower."""
        return self.negatives != IN_BATCH

    @property
    def sampled_rows(self) -> int | None:
        """Item-table rows drawn per batch (None: every row, or none)."""
        return self.num_sampled if self.negatives == SAMPLED else None

    @property
    def output_units(self) -> int:
        # Query and candidate vectors, log sampling probability, id.
        return 2 * self.embedding_dim + 1 + layout.ID_COLUMNS

    def query_feature_names(self, feature_names) -> list[str]:
        """The features the query tower reads."""
        if self.query_features:
            return list(self.query_features)
        return [n for n in feature_names
                if n not in self.candidate_features]

    # === Labels ===

    def labels(self, frame):
        # The positive is the row's own candidate, read from its features:
        # the label only says which rows have one.
        present = frame[self.label_column].notna().to_numpy()
        if self.missing_label is not None:
            present = present & (frame[self.label_column]
                                 != self.missing_label).to_numpy()
        return np.zeros((len(frame), 1), np.float32), present

    # === Loss and metrics ===

    def make_loss(self, loss=None):
        if (loss or self.loss_name) in self.LOSSES:
            return RetrievalSoftmax(self, reduction=LOSS_REDUCTION,
                                    name=f"{self.name}_loss")
        return super().make_loss(loss)

    def metric_factories(self):
        if self.sequence:  # the output holds losses, not scores
            return {}
        return {"in_batch_accuracy": lambda: InBatchAccuracy(
            self, name=f"{self.name}_in_batch_accuracy")}

    def split_output(self, y_pred):
        """Query vectors, candidate vectors, log sampling probabilities and
        candidate ids of the task's output (two towers)."""
        dim = self.embedding_dim
        return (y_pred[:, :dim], y_pred[:, dim:2 * dim], y_pred[:, 2 * dim],
                layout.unpack_ids(y_pred[:, 2 * dim + 1:]))

    def in_batch_arguments(self, y_pred) -> dict:
        """Query and candidate vectors of the output and the corrections
        the task asks for (see `mtzoo.retrieval.softmax`)."""
        query, candidate, log_probability, ids = self.split_output(y_pred)
        return {"query": query, "candidate": candidate,
                "temperature": self.temperature,
                "log_q": log_probability if self.sampling_correction
                else None,
                # keras-rs 0.4's RemoveAccidentalHits adds a tiny positive
                # number instead of masking (keras-rs pull request #206).
                "ids": ids if self.remove_accidental_hits else None}

    def logits(self, y_pred):
        """`(logits, labels)`: each query's scores against its negatives and
        its positive, and the positive's column.

        In-batch: `[batch, batch]` scores, the positive on the diagonal. An
        item table (`mtzoo.retrieval.ItemSoftmaxHead`): with
        `negatives="all"`, scores of every item row, the positive at its
        id; with `"sampled"`, the positive's score first, then the sampled
        rows'.
        """
        if self.negatives == IN_BATCH:
            logits = softmax.in_batch_logits(**self.in_batch_arguments(y_pred))
            return logits, ops.arange(ops.shape(logits)[0])
        if self.negatives == ALL:
            return (y_pred[:, :-layout.ID_COLUMNS],
                    layout.unpack_ids(y_pred[:, -layout.ID_COLUMNS:]))
        return y_pred, ops.zeros((ops.shape(y_pred)[0],), "int32")

    # === Evaluation ===

    @property
    def primary_metric(self) -> str:
        return f"recall_at_{max(self.ks)}"

    def report_metrics(self, result):
        ks = sorted(self.ks)
        return ([f"recall_at_{k}" for k in ks]
                + [f"ndcg_at_{k}" for k in ks])

    def evaluate(self, labels, predictions, weights):
        raise ValueError(
            f"Task '{self.name}' is a retrieval task: its metrics need the "
            f"whole catalogue. Pass them from mtzoo.retrieval.evaluate as "
            f"`retrieval={{'{self.name}': ...}}`.")


class RetrievalSoftmax(keras.losses.Loss):
    """Softmax cross-entropy of each query's positive candidate against its
    negatives (a retrieval task's loss): the batch's other candidates, or
    every (or a sample of the) rows of an item table."""

    def __init__(self, task: RetrievalTask, reduction=LOSS_REDUCTION,
                 name=None):
        super().__init__(reduction=reduction, name=name)
        self.task = task

    def call(self, y_true, y_pred):
        task = self.task
        if task.sequence:
            return next_item_head.position_losses(y_pred)
        if task.negatives == IN_BATCH and not task.num_hard_negatives:
            return softmax.cross_entropy(**task.in_batch_arguments(y_pred))
        logits, labels = task.logits(y_pred)
        if task.num_hard_negatives:
            one_hot = ops.one_hot(labels, ops.shape(logits)[1],
                                  dtype=logits.dtype)
            logits, one_hot = keras_rs().layers.HardNegativeMining(
                task.num_hard_negatives)(logits, one_hot)
            return keras.losses.categorical_crossentropy(
                one_hot, logits, from_logits=True)
        # Sparse labels: no [batch, candidates] one-hot matrix to read.
        return keras.losses.sparse_categorical_crossentropy(
            labels, logits, from_logits=True)

    def get_config(self):
        return {**super().get_config(), "task": self.task.get_config()}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["task"] = deserialize(config["task"])
        return cls(**config)


class InBatchAccuracy(keras.metrics.Mean):
    """Share of queries whose own candidate scores highest among the
    negatives the loss sees."""

    def __init__(self, task: RetrievalTask, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.task = task

    def update_state(self, y_true, y_pred, sample_weight=None):
        logits, labels = self.task.logits(y_pred)
        hits = ops.cast(ops.equal(ops.cast(ops.argmax(logits, axis=-1),
                                           "int32"),
                                  ops.cast(labels, "int32")), "float32")
        return super().update_state(hits, sample_weight=sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                "task": self.task.get_config()}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["task"] = deserialize(config["task"])
        return cls(**config)


def retrieval(name: str, candidate_features: Sequence[str],
              **kwargs) -> RetrievalTask:
    """Retrieval with two towers: find the row's candidate among all.

    A query tower over the query features (by default every feature not in
    `candidate_features`) and a candidate tower over `candidate_features`
    each end in an `embedding_dim` vector; a candidate's score for a query
    is their dot product (or cosine) over `temperature`. Training uses the
    other candidates of the batch as negatives (in-batch softmax), with
    log Q correction by each candidate's sampling probability (its
    frequency in the training data, set with
    `mtzoo.retrieval.set_sampling_probabilities`), accidental hits
    removed, and optionally only the hardest negatives kept. Recall and
    NDCG at `ks` over the whole catalogue come from
    `mtzoo.retrieval.evaluate`.

    The label column is the candidate id's column: rows where it is
    missing do not count.

    Example:

    ```python
    mtzoo.tasks.retrieval("movie", candidate_features=["movie_id", "genres"])
    ```

    References:
        - [Yi et al., 2019](https://doi.org/10.1145/3298689.3346996):
          Sampling-Bias-Corrected Neural Modeling for Large Corpus Item
          Recommendations (RecSys 2019).
    """
    return create("retrieval", name, candidate_features=tuple(
        candidate_features or ()), **kwargs)


def next_item(name: str, item_feature: str, *, num_sampled: int | None = None,
              **kwargs) -> RetrievalTask:
    """Next-item prediction as a softmax over the item vocabulary.

    The query tower's vector (plus a constant 1) is scored against every
    row of a trainable item table (an item's vector plus its bias), the
    form of YouTube's candidate generation network: a multiclass head over
    every item of `item_feature`'s vocabulary. With `num_sampled`, training
    computes the softmax over the positive and `num_sampled` rows drawn
    by sampling probability (sampled softmax, corrected by each row's
    expected count), for catalogues too large for the full softmax;
    otherwise over every row.

    With `sequence` (a transformer-pooled history of the same items), each
    row trains on every position of its history at once: each past item's
    vector predicts the item after it, the newest the row's own (SASRec);
    `positions_per_row` trains each row on that many of its positions,
    drawn at random at every step, at a fraction of the cost.

    It is a retrieval task (`negatives="sampled"` or `"all"`): recall and
    NDCG over the catalogue, `top_k` in the SavedModel and sampling
    probabilities work as for two towers. The task's output holds training
    logits; score items with `mtzoo.retrieval` or the `top_k` signature.

    Example:

    ```python
    mtzoo.tasks.next_item("next_movie", "movie_id", num_sampled=500)
    mtzoo.tasks.next_item("next_movie", "movie_id", sequence="history",
                          query_features=["history"])
    ```

    References:
        - [Covington et al., 2016](https://doi.org/10.1145/2959100.2959190):
          Deep Neural Networks for YouTube Recommendations (RecSys 2016).
        - [Jean et al., 2015](https://aclanthology.org/P15-1001/): On Using
          Very Large Target Vocabulary for Neural Machine Translation
          (sampled softmax with expected-count correction).
        - [Kang & McAuley, 2018](https://arxiv.org/abs/1808.09781):
          Self-Attentive Sequential Recommendation (ICDM 2018).
    """
    if num_sampled is not None:
        kwargs["num_sampled"] = num_sampled
    return retrieval(name, [item_feature],
                     negatives=SAMPLED if num_sampled is not None else ALL,
                     **kwargs)
