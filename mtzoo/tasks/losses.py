"""Loss wrappers shared by task kinds."""

from __future__ import annotations

import keras
from keras import ops

# Masked or weighted examples count by their weight: the loss is the
# weighted mean over examples that carry a label.
LOSS_REDUCTION = "mean_with_sample_weight"


class FunctionLoss(keras.losses.Loss):
    """A per-example loss function as a Keras loss with mtzoo's reduction
    (weighted mean over labelled examples)."""

    def __init__(self, function, name=None):
        super().__init__(name=name, reduction=LOSS_REDUCTION)
        self.function = function

    def call(self, y_true, y_pred):
        return self.function(y_true, y_pred)


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


class ClassWeightedLoss(keras.losses.Loss):
    """A classification loss with each example weighted by its class
    (`class_weights[c]` for class id `c`; a binary label `y` in [0, 1]
    weighs `y * w1 + (1 - y) * w0`), so rare classes count as much as
    frequent ones in training. Metrics are not weighted."""

    def __init__(self, loss, class_weights, name=None):
        super().__init__(name=name, reduction=LOSS_REDUCTION)
        self.loss = loss
        self.class_weights = tuple(float(w) for w in class_weights)

    def call(self, y_true, y_pred):
        weights = ops.convert_to_tensor(self.class_weights, "float32")
        if len(self.class_weights) == 2 and y_pred.shape[-1] == 1:
            labels = ops.cast(ops.reshape(y_true, (-1,)), "float32")
            example_weights = labels * weights[1] + (1.0 - labels) * weights[0]
        else:
            ids = ops.cast(ops.reshape(y_true, (-1,)), "int32")
            example_weights = ops.take(weights, ids)
        return self.loss.call(y_true, y_pred) * example_weights
