"""Task specs: what a multi-task model predicts and how it is trained.

A `Task` is the one source of truth for a prediction target: its `name` is
the model's output name, the key of its loss, of its label and of its sample
weight, and the prefix of its metrics (`ctr_auc`, `rating_rmse`).

Example:

```python
tasks = [
    mtzoo.tasks.binary("click"),
    mtzoo.tasks.regression("watch_time", loss="huber", weight=0.5),
    mtzoo.tasks.multiclass("interest", num_classes=12),
]
```
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import keras
import numpy as np
from keras import ops

from mtzoo import in_batch_softmax
from mtzoo.features import DataError
from mtzoo.features import base as columns
from mtzoo.features import check_name

BINARY = "binary"
REGRESSION = "regression"
MULTICLASS = "multiclass"
RETRIEVAL = "retrieval"
KINDS = (BINARY, REGRESSION, MULTICLASS, RETRIEVAL)

#: Negatives of a retrieval task: the batch's other candidates (two
#: towers), or rows of an item table over the candidate id's vocabulary
#: (a softmax over every item, or over a sample of them).
IN_BATCH = "in_batch"
SAMPLED = "sampled"
ALL = "all"
NEGATIVES = (IN_BATCH, SAMPLED, ALL)

_DEFAULT_LOSS = {
    BINARY: "binary_crossentropy",
    REGRESSION: "mse",
    MULTICLASS: "sparse_categorical_crossentropy",
    RETRIEVAL: "softmax",
}
_DEFAULT_METRICS = {
    BINARY: ("auc", "accuracy"),
    REGRESSION: ("rmse", "mae"),
    MULTICLASS: ("accuracy", "top_k_accuracy"),
    # In-batch accuracy scores the batch's queries against its candidates
    # a second time (the loss already did): asked for by name only. Recall
    # over the catalogue comes from mtzoo.retrieval.evaluate.
    RETRIEVAL: (),
}
_LOSSES = {
    BINARY: {
        "binary_crossentropy": keras.losses.BinaryCrossentropy,
        "binary_focal_crossentropy": keras.losses.BinaryFocalCrossentropy,
    },
    REGRESSION: {
        "mse": keras.losses.MeanSquaredError,
        "mae": keras.losses.MeanAbsoluteError,
        "huber": keras.losses.Huber,
        "log_cosh": keras.losses.LogCosh,
    },
    MULTICLASS: {
        "sparse_categorical_crossentropy":
            keras.losses.SparseCategoricalCrossentropy,
    },
    RETRIEVAL: {
        "softmax": lambda reduction, name, task: RetrievalSoftmax(
            task, reduction=reduction, name=name),
    },
}
# Masked or weighted examples count by their weight: the loss is the
# weighted mean over examples that carry a label.
LOSS_REDUCTION = "mean_with_sample_weight"


@dataclasses.dataclass(frozen=True)
class Task:
    """One prediction target of a multi-task model.

    Args:
        name: str. Output name, loss/label/sample-weight key and metric
            prefix.
        kind: str. `"binary"` (sigmoid output, binary cross-entropy),
            `"regression"` (linear output, MSE or Huber) or `"multiclass"`
            (softmax output, sparse categorical cross-entropy).
        label: str. Data column holding the label. Defaults to `name`.
        loss: str. Loss name; defaults by kind. Binary:
            `"binary_crossentropy"`, `"binary_focal_crossentropy"`.
            Regression: `"mse"`, `"mae"`, `"huber"`, `"log_cosh"`.
            Multiclass: `"sparse_categorical_crossentropy"`.
        metrics: list of str. Metric names; defaults by kind. Binary:
            `auc`, `pr_auc`, `log_loss`, `accuracy`, `precision`, `recall`.
            Regression: `rmse`, `mae`, `mse`. Multiclass: `accuracy`,
            `top_k_accuracy`, `log_loss`.
        weight: float. Weight of the task's loss in the total loss.
            Defaults to 1.
        num_classes: int. Number of classes (multiclass only); labels are
            integers in `[0, num_classes)`, or values of `classes`.
        classes: list. Multiclass only: the label values, in output order
            (e.g. `[1, 2, 3, 4, 5]` for star ratings); label `classes[i]` is
            class `i`. Sets `num_classes`.
        top_k: int. `k` of the multiclass `top_k_accuracy`. Defaults to 5
            (at most `num_classes - 1`).
        missing_label: float. A label value that means "no label" besides
            NaN (e.g. `-1`). Examples without a label do not count in the
            task's loss or metrics. Defaults to None.
        weight_column: str. Data column with a per-example weight for this
            task (e.g. census `instance_weight`). Defaults to None.
        space_column: str. The task's sample space: only examples where
            this column is non-zero count for the task (e.g. a CVR task
            learned on clicked impressions only: `space_column="click"`).
            Defaults to None (every example with a label).
        candidate_features: retrieval only (see `retrieval`): the features
            of the candidate tower, the candidate's id first.
        query_features: retrieval only: the features of the query tower.
        embedding_dim: retrieval only: size of query and candidate vectors.
        temperature: retrieval only: scores are divided by it.
        cosine: retrieval only: score by cosine instead of dot product.
        remove_accidental_hits: retrieval only: ignore in-batch negatives
            that are the positive candidate itself.
        sampling_correction: retrieval only: subtract each in-batch
            candidate's log sampling probability (log Q correction).
        num_hard_negatives: retrieval only: keep only this many highest
            scoring negatives per query.
        ks: retrieval only: cut-offs of recall and NDCG over the catalogue.
        negatives: retrieval only: `"in_batch"` (the batch's other
            candidates, scored by the candidate tower), `"all"` (a softmax
            over every row of an item table) or `"sampled"` (that softmax
            over `num_sampled` rows drawn by sampling probability).
        num_sampled: retrieval only: negatives drawn per batch when
            `negatives="sampled"`.
        standardize: regression only: train on labels standardized with
            the mean and standard deviation `adapt` learns from training
            data; the model still predicts, and its loss is still reported,
            in the label's own units. Defaults to True.
        log_transform: regression only: standardize `log1p(label)` instead
            of the label (heavy-tailed targets such as watch time or
            spend; labels must be > -1). Defaults to False.
        label_mean: regression only: learned by `adapt`.
        label_scale: regression only: learned by `adapt` (the standard
            deviation, 1 for a constant label).
    """

    name: str
    kind: str
    label: str | None = None
    loss: str | None = None
    metrics: tuple | None = None
    weight: float = 1.0
    num_classes: int | None = None
    classes: tuple | None = None
    top_k: int = 5
    missing_label: float | None = None
    weight_column: str | None = None
    space_column: str | None = None
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
    standardize: bool = True
    log_transform: bool = False
    label_mean: float | None = None
    label_scale: float | None = None

    def __post_init__(self):
        check_name(self.name, "Task")
        if self.classes is not None:
            self._check_classes()
        for attr in ("candidate_features", "query_features", "ks"):
            if getattr(self, attr) is not None:
                object.__setattr__(self, attr, tuple(getattr(self, attr)))
        if self.kind == RETRIEVAL:
            self._check_retrieval()
        elif self.candidate_features or self.query_features:
            raise ValueError(
                f"Task '{self.name}' is {self.kind}; candidate and query "
                f"features belong to retrieval tasks only.")
        if self.kind not in KINDS:
            raise ValueError(
                f"Task '{self.name}': `kind` must be one of {KINDS}. "
                f"Received: kind={self.kind!r}"
            )
        if self.kind == MULTICLASS:
            if (not isinstance(self.num_classes, int)
                    or isinstance(self.num_classes, bool)
                    or self.num_classes < 2):
                raise ValueError(
                    f"Task '{self.name}' is multiclass and needs "
                    f"`num_classes` >= 2. Received: "
                    f"num_classes={self.num_classes!r}"
                )
        elif self.num_classes is not None:
            raise ValueError(
                f"Task '{self.name}' is {self.kind}; `num_classes` applies "
                f"to multiclass tasks only. Received: "
                f"num_classes={self.num_classes!r}"
            )
        if (not isinstance(self.weight, (int, float))
                or not math.isfinite(self.weight) or self.weight < 0):
            raise ValueError(
                f"Task '{self.name}': `weight` must be a finite number >= 0. "
                f"Received: weight={self.weight!r}"
            )
        if self.loss is not None and self.loss not in _LOSSES[self.kind]:
            raise ValueError(
                f"Task '{self.name}': loss {self.loss!r} does not fit a "
                f"{self.kind} task. Choose one of "
                f"{sorted(_LOSSES[self.kind])}, or pass a Keras loss to "
                f"`compile(loss={{'{self.name}': ...}})`."
            )
        if self.metrics is not None:
            object.__setattr__(self, "metrics", tuple(self.metrics))
            for metric in self.metrics:
                _metric_factory(self, metric)  # raises if unknown
        if self.kind != REGRESSION and (
                self.log_transform or self.label_mean is not None
                or self.label_scale is not None):
            raise ValueError(
                f"Task '{self.name}' is {self.kind}; `log_transform`, "
                f"`label_mean` and `label_scale` apply to regression tasks "
                f"only.")
        if self.label_scale is not None and not self.label_scale > 0:
            raise ValueError(
                f"Task '{self.name}': `label_scale` must be > 0. Received: "
                f"label_scale={self.label_scale!r}")

    @property
    def label_scaling(self) -> tuple[float, float, bool] | None:
        """`(mean, scale, log_transform)` the model trains its output in,
        or None when the task trains on its labels as they are."""
        if (self.kind != REGRESSION or not self.standardize
                or self.label_mean is None):
            return None
        return self.label_mean, self.label_scale, self.log_transform

    @property
    def needs_adapt(self) -> bool:
        """A regression task that standardizes but has no statistics."""
        return (self.kind == REGRESSION and self.standardize
                and self.label_mean is None)

    def _check_classes(self) -> None:
        classes = tuple(v.item() if hasattr(v, "item") else v
                        for v in self.classes)
        if self.kind != MULTICLASS:
            raise ValueError(f"Task '{self.name}' is {self.kind}; `classes` "
                             f"applies to multiclass tasks only.")
        if len(set(classes)) != len(classes) or len(classes) < 2:
            raise ValueError(f"Task '{self.name}': `classes` must hold at "
                             f"least 2 distinct label values. Received: "
                             f"classes={list(classes)}")
        if self.num_classes is not None and self.num_classes != len(classes):
            raise ValueError(f"Task '{self.name}': num_classes="
                             f"{self.num_classes} but {len(classes)} classes "
                             f"are listed; give one of them.")
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "num_classes", len(classes))

    def _check_retrieval(self) -> None:
        if not self.candidate_features:
            raise ValueError(
                f"Retrieval task '{self.name}' needs `candidate_features`, "
                f"the candidate's id feature first (e.g. "
                f"candidate_features=['movie_id', 'genres']).")
        if self.query_features and set(self.query_features) & set(
                self.candidate_features):
            raise ValueError(
                f"Retrieval task '{self.name}': features "
                f"{sorted(set(self.query_features) & set(self.candidate_features))} "
                f"are both query and candidate features.")
        for attr in ("embedding_dim",):
            value = getattr(self, attr)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"Retrieval task '{self.name}': `{attr}` "
                                 f"must be a positive integer. Received: "
                                 f"{attr}={value!r}")
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
            if len(self.candidate_features) != 1:
                raise ValueError(
                    f"Retrieval task '{self.name}': negatives="
                    f"{self.negatives!r} scores rows of an item table, so "
                    f"the candidate is its id alone; received "
                    f"candidate_features={list(self.candidate_features)}. "
                    f"Use negatives='in_batch' for a candidate tower over "
                    f"item features.")
            if self.cosine:
                raise ValueError(
                    f"Retrieval task '{self.name}': cosine scores apply to "
                    f"two towers (negatives='in_batch'); an item table "
                    f"scores by dot product plus a per-item bias.")
        if self.negatives == SAMPLED and (
                not isinstance(self.num_sampled, int) or self.num_sampled < 1):
            raise ValueError(f"Retrieval task '{self.name}': `num_sampled` "
                             f"must be a positive integer. Received: "
                             f"num_sampled={self.num_sampled!r}")

    @property
    def candidate_id(self) -> str | None:
        """The feature naming the candidate (retrieval tasks)."""
        return self.candidate_features[0] if self.candidate_features else None

    @property
    def item_softmax(self) -> bool:
        """Whether candidates are rows of an item table (a softmax over the
        vocabulary, full or sampled) rather than a candidate tower."""
        return self.kind == RETRIEVAL and self.negatives != IN_BATCH

    @property
    def label_column(self) -> str:
        return self.label or self.name

    @property
    def columns(self) -> list[str]:
        """Every data column the task reads: label, weight and space."""
        return [c for c in (self.label_column, self.weight_column,
                            self.space_column) if c]

    @property
    def output_units(self) -> int:
        if self.kind == RETRIEVAL:
            # Query and candidate vectors, log sampling probability, id.
            return 2 * self.embedding_dim + 2
        return self.num_classes if self.kind == MULTICLASS else 1

    @property
    def activation(self) -> str:
        return {BINARY: "sigmoid", REGRESSION: "linear",
                MULTICLASS: "softmax", RETRIEVAL: "linear"}[self.kind]

    @property
    def loss_name(self) -> str:
        return self.loss or _DEFAULT_LOSS[self.kind]

    @property
    def metric_names(self) -> tuple:
        return self.metrics if self.metrics is not None else \
            _DEFAULT_METRICS[self.kind]

    def make_loss(self, loss: str | None = None) -> keras.losses.Loss:
        """A fresh Keras loss object for this task.

        Args:
            loss: a loss name overriding the task's `loss`: one of the names
                listed for the task's kind, or any Keras loss function name.
        """
        loss = loss or self.loss_name
        if self.label_scaling is not None:
            return LabelScaledLoss(self._make_loss(loss), self.label_scaling,
                                   name=f"{self.name}_loss")
        return self._make_loss(loss)

    def _make_loss(self, loss: str) -> keras.losses.Loss:
        if self.kind == RETRIEVAL and loss in _LOSSES[self.kind]:
            return _LOSSES[self.kind][loss](
                reduction=LOSS_REDUCTION, name=f"{self.name}_loss",
                task=self)
        if loss in _LOSSES[self.kind]:
            return _LOSSES[self.kind][loss](
                reduction=LOSS_REDUCTION, name=f"{self.name}_loss")
        try:
            function = keras.losses.get(loss)
        except ValueError:
            function = None
        if function is None:
            raise ValueError(
                f"Task '{self.name}': unknown loss {loss!r}. Choose one of "
                f"{sorted(_LOSSES[self.kind])} or a Keras loss name."
            )
        return FunctionLoss(function, name=f"{self.name}_loss")

    def make_metrics(self) -> list[keras.metrics.Metric]:
        """Fresh Keras metric objects, named `<task>_<metric>`."""
        return [self.make_metric(m) for m in self.metric_names]

    def make_metric(self, metric: str) -> keras.metrics.Metric:
        """A fresh Keras metric object by mtzoo metric name."""
        return _metric_factory(self, metric)()

    def get_config(self) -> dict[str, Any]:
        config = dataclasses.asdict(self)
        for key, value in config.items():
            if isinstance(value, tuple):
                config[key] = list(value)
        if self.kind != RETRIEVAL:
            for key in _RETRIEVAL_FIELDS:
                config.pop(key)
        if self.kind != REGRESSION:
            for key in _REGRESSION_FIELDS:
                config.pop(key)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Task":
        return cls(**config)


_RETRIEVAL_FIELDS = ("candidate_features", "query_features",
                     "embedding_dim", "temperature", "cosine",
                     "remove_accidental_hits", "sampling_correction",
                     "num_hard_negatives", "ks", "negatives", "num_sampled")


_REGRESSION_FIELDS = ("standardize", "log_transform", "label_mean",
                      "label_scale")


def standardized_labels(values, scaling):
    """Labels (or predictions) in the units a regression task trains in:
    `(f(y) - mean) / scale`, `f` being `log1p` with `log_transform`."""
    mean, scale, log_transform = scaling
    values = ops.cast(values, "float32")
    if log_transform:
        values = ops.log1p(ops.maximum(values, -1.0 + 1e-6))
    return (values - mean) / scale


class LabelScaledLoss(keras.losses.Loss):
    """A regression loss computed on standardized labels and predictions
    (the model outputs the label's units; `LabelScale` is its last layer),
    so tasks of any scale weigh alike in the total loss."""

    def __init__(self, loss, scaling, name=None):
        super().__init__(name=name, reduction=LOSS_REDUCTION)
        self.loss = loss
        self.scaling = tuple(scaling)

    def call(self, y_true, y_pred):
        return self.loss.call(standardized_labels(y_true, self.scaling),
                              standardized_labels(y_pred, self.scaling))


def adapt(tasks, frame) -> list[Task]:
    """Tasks with what they learn from training data filled in: each
    standardizing regression task's label mean and scale (of `log1p` of
    the label with `log_transform`), over its labelled rows.

    Raises:
        DataError: a regression label column with no numbers, or labels
            <= -1 for a log-transformed task (naming the row).
    """
    from mtzoo.data import frames

    tasks = validate(tasks)
    labels, weights = frames.label_arrays(frame, tasks)
    adapted = []
    for task in tasks:
        if not task.needs_adapt:
            adapted.append(task)
            continue
        values = np.asarray(labels[task.name], dtype=np.float64).reshape(-1)
        known = (np.asarray(weights[task.name]).reshape(-1) > 0) & \
            np.isfinite(values)
        if not known.any():
            raise DataError(
                f"Task '{task.name}': column '{task.label_column}' has no "
                f"labels to learn their scale from.")
        if task.log_transform and (known & (values <= -1)).any():
            raise columns.bad_values(
                frame, task.label_column, known & (values <= -1),
                f"Task '{task.name}'", "labels > -1 (it takes log1p of "
                "them)", count=True)
        values = values[known]
        if task.log_transform:
            values = np.log1p(values)
        scale = float(values.std())
        adapted.append(dataclasses.replace(
            task, label_mean=float(values.mean()),
            label_scale=scale if scale > 0 else 1.0))
    return adapted


class FunctionLoss(keras.losses.Loss):
    """A per-example loss function as a Keras loss with mtzoo's reduction
    (weighted mean over labelled examples)."""

    def __init__(self, function, name=None):
        super().__init__(name=name, reduction=LOSS_REDUCTION)
        self.function = function

    def call(self, y_true, y_pred):
        return self.function(y_true, y_pred)


def _metric_factory(task: Task, metric: str):
    name = f"{task.name}_{metric}"
    k = min(task.top_k, (task.num_classes or 2) - 1)
    factories = {
        BINARY: {
            "auc": lambda: keras.metrics.AUC(name=name, num_thresholds=1000),
            "pr_auc": lambda: keras.metrics.AUC(
                name=name, curve="PR", num_thresholds=1000),
            "log_loss": lambda: keras.metrics.BinaryCrossentropy(name=name),
            "accuracy": lambda: keras.metrics.BinaryAccuracy(name=name),
            "precision": lambda: keras.metrics.Precision(name=name),
            "recall": lambda: keras.metrics.Recall(name=name),
        },
        REGRESSION: {
            "rmse": lambda: keras.metrics.RootMeanSquaredError(name=name),
            "mae": lambda: keras.metrics.MeanAbsoluteError(name=name),
            "mse": lambda: keras.metrics.MeanSquaredError(name=name),
        },
        RETRIEVAL: {
            "in_batch_accuracy": lambda: InBatchAccuracy(task, name=name),
        },
        MULTICLASS: {
            "accuracy": lambda: keras.metrics.SparseCategoricalAccuracy(
                name=name),
            "top_k_accuracy": lambda: keras.metrics.SparseTopKCategoricalAccuracy(
                k=k, name=f"{task.name}_top{k}_accuracy"),
            "log_loss": lambda: keras.metrics.SparseCategoricalCrossentropy(
                name=name),
        },
    }[task.kind]
    if metric not in factories:
        raise ValueError(
            f"Task '{task.name}': unknown {task.kind} metric {metric!r}. "
            f"Choose from {sorted(factories)}, or pass Keras metrics to "
            f"`compile(metrics={{'{task.name}': [...]}})`."
        )
    return factories[metric]


def binary(name: str, **kwargs) -> Task:
    """A binary task (click, conversion, like): sigmoid output."""
    return Task(name, BINARY, **kwargs)


def regression(name: str, **kwargs) -> Task:
    """A regression task (rating, watch time): linear output, in the
    label's units. `mtzoo.tasks.adapt(tasks, train_frame)` learns the
    label's scale, so the network trains on standardized labels (recipes
    do this themselves)."""
    return Task(name, REGRESSION, **kwargs)


def multiclass(name: str, num_classes: int | None = None, *,
               classes=None, **kwargs) -> Task:
    """A multiclass task (interest category, star rating): softmax output.

    Labels are class ids in `[0, num_classes)`, or, with `classes`, the
    label values themselves: `multiclass("stars", classes=[1, 2, 3, 4, 5])`.
    """
    return Task(name, MULTICLASS, num_classes=num_classes,
                classes=None if classes is None else tuple(classes),
                **kwargs)


def retrieval(name: str, candidate_features: Sequence[str], **kwargs) -> Task:
    """Retrieval: find the row's candidate (item) among all candidates.

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
    candidate_features = tuple(candidate_features or ())
    kwargs.setdefault("label", candidate_features[0]
                      if candidate_features else None)
    return Task(name, RETRIEVAL, candidate_features=candidate_features,
                **kwargs)


def next_item(name: str, item_feature: str, *, num_sampled: int | None = None,
              **kwargs) -> Task:
    """Next-item prediction as a softmax over the item vocabulary.

    The query tower's vector (plus a constant 1) is scored against every
    row of a trainable item table (an item's vector plus its bias), the
    form of YouTube's candidate generation network: a multiclass head over
    every item of `item_feature`'s vocabulary. With `num_sampled`, training
    computes the softmax over the positive and `num_sampled` rows drawn
    by sampling probability (sampled softmax, corrected by each row's
    expected count), for catalogues too large for the full softmax;
    otherwise over every row.

    It is a retrieval task (`negatives="sampled"` or `"all"`): recall and
    NDCG over the catalogue, `top_k` in the SavedModel and sampling
    probabilities work as for two towers. The task's output holds training
    logits; score items with `mtzoo.retrieval` or the `top_k` signature.

    Example:

    ```python
    mtzoo.tasks.next_item("next_movie", "movie_id", num_sampled=500)
    ```

    References:
        - [Covington et al., 2016](https://doi.org/10.1145/2959100.2959190):
          Deep Neural Networks for YouTube Recommendations (RecSys 2016).
        - [Jean et al., 2015](https://aclanthology.org/P15-1001/): On Using
          Very Large Target Vocabulary for Neural Machine Translation
          (sampled softmax with expected-count correction).
    """
    if num_sampled is not None:
        kwargs["num_sampled"] = num_sampled
    return retrieval(name, [item_feature],
                     negatives=SAMPLED if num_sampled is not None else ALL,
                     **kwargs)


def split_retrieval_output(y_pred, dim: int):
    """Query vectors, candidate vectors, log sampling probabilities and
    candidate ids from a retrieval task's output."""
    query = y_pred[:, :dim]
    candidate = y_pred[:, dim:2 * dim]
    log_probability = y_pred[:, 2 * dim]
    ids = ops.cast(y_pred[:, 2 * dim + 1], "int32")
    return query, candidate, log_probability, ids


def in_batch_arguments(task: Task, y_pred) -> dict:
    """Query and candidate vectors of a retrieval task's output and the
    corrections its task asks for (see `mtzoo.in_batch_softmax`)."""
    query, candidate, log_probability, ids = split_retrieval_output(
        y_pred, task.embedding_dim)
    return {"query": query, "candidate": candidate,
            "temperature": task.temperature,
            "log_q": log_probability if task.sampling_correction else None,
            # keras-rs 0.4's RemoveAccidentalHits adds a tiny positive
            # number instead of masking (keras-rs pull request #206).
            "ids": ids if task.remove_accidental_hits else None}


def in_batch_logits(task: Task, y_pred):
    """`[batch, batch]` logits of every query against every candidate of
    the batch (the diagonal holds the positives), corrected as the task
    says."""
    return in_batch_softmax.in_batch_logits(
        **in_batch_arguments(task, y_pred))


def retrieval_logits(task: Task, y_pred):
    """`(logits, labels)` of a retrieval task's output: each query's scores
    against its negatives and its positive, and the positive's column.

    In-batch: `[batch, batch]` scores, the positive on the diagonal. An
    item table (`mtzoo.layers.ItemSoftmaxHead`): with `negatives="all"`,
    scores of every item row, the positive at its id; with `"sampled"`,
    the positive's score first, then the sampled rows'.
    """
    if task.negatives == IN_BATCH:
        logits = in_batch_logits(task, y_pred)
        return logits, ops.arange(ops.shape(logits)[0])
    if task.negatives == ALL:
        return y_pred[:, :-1], ops.cast(y_pred[:, -1], "int32")
    return y_pred, ops.zeros((ops.shape(y_pred)[0],), "int32")


class RetrievalSoftmax(keras.losses.Loss):
    """Softmax cross-entropy of each query's positive candidate against its
    negatives (a retrieval task's loss): the batch's other candidates, or
    every (or a sample of the) rows of an item table."""

    def __init__(self, task: Task, reduction=LOSS_REDUCTION, name=None):
        super().__init__(reduction=reduction, name=name)
        self.task = task

    def call(self, y_true, y_pred):
        if (self.task.negatives == IN_BATCH
                and not self.task.num_hard_negatives):
            return in_batch_softmax.cross_entropy(
                **in_batch_arguments(self.task, y_pred))
        logits, labels = retrieval_logits(self.task, y_pred)
        if self.task.num_hard_negatives:
            import keras_rs

            one_hot = ops.one_hot(labels, ops.shape(logits)[1],
                                  dtype=logits.dtype)
            logits, one_hot = keras_rs.layers.HardNegativeMining(
                self.task.num_hard_negatives)(logits, one_hot)
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
        config["task"] = Task.from_config(config["task"])
        return cls(**config)


class InBatchAccuracy(keras.metrics.Mean):
    """Share of queries whose own candidate scores highest among the
    negatives the loss sees."""

    def __init__(self, task: Task, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.task = task

    def update_state(self, y_true, y_pred, sample_weight=None):
        logits, labels = retrieval_logits(self.task, y_pred)
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
        config["task"] = Task.from_config(config["task"])
        return cls(**config)


def serialize(task: Task) -> dict[str, Any]:
    return task.get_config()


def deserialize(config: dict[str, Any] | Task) -> Task:
    if isinstance(config, Task):
        return config
    return Task.from_config(config)


def validate(tasks: Sequence[Task]) -> list[Task]:
    """Checks a list of tasks: at least one, unique names."""
    if isinstance(tasks, Task):
        tasks = [tasks]
    tasks = [deserialize(t) for t in tasks]
    if not tasks:
        raise ValueError("At least one task is needed.")
    names = [t.name for t in tasks]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(
            f"Task names must be unique; {duplicates} appear more than once. "
            f"A task's name is its output, loss, label and metric key."
        )
    return tasks
