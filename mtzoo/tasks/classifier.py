"""What the task kinds that predict classes share (binary, multiclass):
optional class weighting for rare classes, learned from training labels."""

from __future__ import annotations

import dataclasses

import numpy as np

from mtzoo.tasks.base import Task
from mtzoo.tasks.losses import ClassWeightedLoss

#: The class weightings a classifier task accepts.
CLASS_WEIGHTINGS = ("balanced",)


@dataclasses.dataclass(frozen=True)
class ClassifierTask(Task):
    """A task that predicts classes.

    Args:
        class_weighting: `"balanced"` weighs each training example's loss
            by `n / (classes * n_class)` (scikit-learn's "balanced"), so a
            rare class counts as much as a frequent one; metrics stay
            unweighted. Defaults to None (every example counts alike).
        class_weights: learned by `adapt` with `class_weighting`, one per
            class (binary: negative, positive).
        (and the arguments of `Task`)
    """

    class_weighting: str | None = None
    class_weights: tuple | None = None

    classifier = True

    def __post_init__(self):
        super().__post_init__()
        if self.class_weighting not in (None, *CLASS_WEIGHTINGS):
            raise ValueError(
                f"Task '{self.name}': class_weighting must be one of "
                f"{list(CLASS_WEIGHTINGS)} or None. Received: "
                f"class_weighting={self.class_weighting!r}")
        if self.class_weights is not None:
            object.__setattr__(self, "class_weights",
                               tuple(float(w) for w in self.class_weights))

    @property
    def needs_adapt(self) -> bool:
        return bool(self.class_weighting) and self.class_weights is None

    def class_counts(self, labels: np.ndarray,
                     present: np.ndarray) -> np.ndarray:
        """How many training examples (weights: a soft binary label counts
        partly) each class has."""
        labels = labels.reshape(-1)[present.reshape(-1)]
        if self.output_units == 1:
            positives = float(np.sum(labels))
            return np.array([len(labels) - positives, positives])
        return np.bincount(labels.astype(int),
                           minlength=self.output_units).astype(float)

    def adapt(self, labels, present, frame):
        if not self.needs_adapt:
            return self
        counts = self.class_counts(labels, present)
        # A class with no training example keeps weight 1.
        weights = np.where(counts > 0, counts.sum() / (
            len(counts) * np.maximum(counts, 1e-12)), 1.0)
        return dataclasses.replace(self, class_weights=tuple(weights))

    def make_loss(self, loss=None):
        made = super().make_loss(loss)
        if self.class_weights is None:
            return made
        return ClassWeightedLoss(made, self.class_weights, name=made.name)
