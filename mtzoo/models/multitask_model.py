"""The Keras model class shared by every mtzoo architecture."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import keras
import tensorflow as tf
from keras import ops

from mtzoo import features as features_lib
from mtzoo import tasks as tasks_lib
from mtzoo.api_export import mtzoo_export
from mtzoo.training import distribution
from mtzoo.training import weighting as weighting_lib


#: Set to "0" to compile without XLA wherever `jit_compile` is `"auto"`.
JIT_COMPILE_VARIABLE = "MTZOO_JIT_COMPILE"


@mtzoo_export
class MultiTaskModel(keras.Model):
    """A functional Keras model that knows its tasks.

    Built like any functional model, with dict inputs keyed by feature name
    and dict outputs keyed by task name, plus the list of `tasks`:

    ```python
    model = MultiTaskModel(inputs, outputs, tasks=tasks)
    model.compile(optimizer="adam")  # losses, weights, metrics from tasks
    model.fit(dataset)  # (features, labels[, sample_weights]) dict batches
    ```

    `compile` takes each task's loss, loss weight and metrics from its spec;
    any of them can be overridden by task name. The loss of a task is the
    weighted mean over the examples that carry its label: an example whose
    sample weight for that task is 0 (a missing label) changes neither the
    loss nor the metrics of that task. Outputs without a task (such as
    ESMM's `cvr`) are predicted but not trained directly.

    Training goes through Keras's own `train_step` (so loss scaling under
    mixed precision, distribution and metrics work as for any Keras model),
    except for the weighting strategies that need one gradient per task
    (`gradnorm`, `pcgrad`).

    Logs hold `loss`, one `<task>_loss` per task, the task metrics
    (`<task>_auc`, `<task>_rmse`, ...) and, in training, each task's current
    loss multiplier `<task>_weight`.

    Args:
        inputs, outputs: as for `keras.Model`; `outputs` must be a dict
            with one entry per task name.
        tasks: list of `mtzoo.tasks.Task`.
        features: list of the adapted feature specs whose encoded values
            the inputs take; `mtzoo.models.serving_model` puts their
            preprocessing in front of the model so that it takes raw
            values. Defaults to None (a model over other inputs).
        shared_layer: str. Name of the last layer whose weights every task
            shares (the bottom MLP, the expert bank...), declared by the
            architecture; GradNorm balances gradient norms there. None when
            the tasks share nothing.
        **kwargs: other `keras.Model` arguments (`name`, ...).
    """

    def __init__(self, *args, tasks=None, features=None, shared_layer=None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        if tasks is None:
            raise ValueError("MultiTaskModel needs `tasks`.")
        self.tasks = tasks_lib.validate(tasks)
        self.features = (None if features is None
                         else features_lib.validate(features))
        output_names = set(self.output_names)
        absent = [t.name for t in self.tasks if t.name not in output_names]
        if absent:
            raise ValueError(
                f"Tasks {absent} have no model output of the same name. "
                f"Outputs: {sorted(output_names)}"
            )
        if shared_layer is not None:
            self.get_layer(shared_layer)  # fails early on a wrong name
        self.shared_layer = shared_layer
        self._training = None

    @property
    def task_names(self) -> list[str]:
        return [t.name for t in self.tasks]

    def compile(
        self,
        optimizer="adam",
        loss=None,
        loss_weights=None,
        metrics=None,
        weighting=None,
        **kwargs,
    ):
        """Configures training from the task specs.

        Args:
            optimizer: a Keras optimizer or its name. Defaults to `"adam"`.
            loss: replaces tasks' default losses: a dict keyed by task name
                (a Keras loss, a loss name or a callable each), a list with
                one entry per task in task order, or a single loss for a
                single-task model.
            loss_weights: replaces tasks' `weight`: a dict keyed by task
                name, a list in task order, or a number for a single-task
                model.
            metrics: replaces tasks' metrics: a dict keyed by task name (a
                list of Keras metrics or metric names each), a list of such
                lists in task order, or a flat list for a single-task model.
            weighting: how task losses combine during training: `"fixed"`
                (default), `"uncertainty"`, `"gradnorm"`, `"dwa"`,
                `"pcgrad"`, a config dict such as
                `{"name": "gradnorm", "alpha": 1.0}`, or a
                `mtzoo.training.Weighting`. Validation loss always uses the
                tasks' fixed weights.
            **kwargs: other `keras.Model.compile` arguments (`jit_compile`,
                `steps_per_execution`, `run_eagerly`, ...). `jit_compile`
                defaults to `"auto"`, which here means XLA whenever the
                step allows it, on CPU too (Keras' own `"auto"` leaves CPU
                uncompiled): a strategy that combines losses (not GradNorm
                or PCGrad) and no distribution strategy. On census MMoE
                that trains 1.4x faster.
        """
        if kwargs.pop("weighted_metrics", None) is not None:
            raise ValueError(
                "MultiTaskModel.compile does not take `weighted_metrics`: "
                "task metrics are always weighted by the per-task sample "
                "weights.")
        loss = self._per_task_argument(loss, "loss")
        loss_weights = self._per_task_argument(loss_weights, "loss_weights")
        metrics = self._per_task_argument(metrics, "metrics")
        strategy = weighting_lib.get(weighting)
        keras_kwargs = dict(kwargs)
        if keras_kwargs.get("jit_compile", "auto") == "auto":
            keras_kwargs["jit_compile"] = self._xla_by_default(strategy,
                                                               kwargs)
        super().compile(optimizer=optimizer, **keras_kwargs)

        training = _TaskTraining()
        for task in self.tasks:
            training.losses[task.name] = _make_loss(loss.get(task.name), task)
            training.loss_weights[task.name] = float(
                loss_weights.get(task.name, task.weight))
            training.loss_trackers[task.name] = keras.metrics.Mean(
                name=f"{task.name}_loss")
            training.metrics[task.name] = (
                _make_metrics(metrics[task.name], task)
                if task.name in metrics else task.make_metrics())
        strategy.setup([dataclasses.replace(
            t, weight=training.loss_weights[t.name]) for t in self.tasks],
            model=self)
        training.weighting = strategy
        training.config = {
            "optimizer": keras.optimizers.serialize(self.optimizer),
            "loss": _serialize_values(loss),
            "loss_weights": loss_weights or None,
            "metrics": _serialize_values(metrics),
            "weighting": strategy.describe(),
            **kwargs,
        }
        self._training = training
        # Building the optimizer now keeps variable creation out of the
        # first traced step (a tf.function that creates variables is traced
        # twice).
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def _xla_by_default(self, strategy, kwargs) -> bool:
        """Whether `jit_compile="auto"` compiles the step with XLA (Keras
        falls back, with a warning, if a layer cannot be compiled): not
        when the environment sets `MTZOO_JIT_COMPILE=0` (for many short
        trainings, where compiling takes longer than training)."""
        return (os.environ.get(JIT_COMPILE_VARIABLE, "1") != "0"
                and not kwargs.get("run_eagerly")
                and not strategy.needs_task_gradients
                and not tf.distribute.has_strategy()
                and not any(spec.slow_under_xla()
                            for spec in self.features or ()))

    def get_compile_config(self):
        if self._training is None:
            return None
        return dict(self._training.config)

    def compile_from_config(self, config):
        config = dict(config)
        config["optimizer"] = keras.optimizers.deserialize(
            config["optimizer"])
        for key in ("loss", "metrics"):
            config[key] = _deserialize_values(config.get(key))
        self.compile(**config)

    @property
    def weighting(self) -> weighting_lib.Weighting:
        """The task weighting strategy (after compile). Keras saves its
        state with the model's weights."""
        self._assert_compiled()
        return self._training.weighting

    @property
    def trainable_weights(self):
        weights = super().trainable_weights
        if self._training is not None and self.trainable:
            weights = weights + self._training.weighting.trainable_weights
        return weights

    @property
    def trainable_variables(self):
        return self.trainable_weights

    def train_step(self, data):
        strategy = self._training.weighting
        # The weights this step trains with (read before it may move them).
        weights = {f"{name}_weight": value for name, value in
                   strategy.current_weights().items()}
        if strategy.needs_task_gradients:
            logs = self._task_gradient_step(data)
        else:
            logs = super().train_step(data)
        logs.update(weights)
        return self._distributable_logs(logs)

    def _task_gradient_step(self, data):
        """A step with one gradient per task (GradNorm, PCGrad)."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        strategy = self._training.weighting
        variables = self.trainable_weights
        loss_scale = tf.cast(self.optimizer.scale_loss(
            tf.constant(1.0)), tf.float32)
        with tf.GradientTape(persistent=True) as tape:
            y_pred = self(x, training=True)
            task_losses = self._tracked_task_losses(y, y_pred, sample_weight)
            extra = self._additional_loss()
            total = strategy.combine(task_losses)
            if extra is not None:
                total = total + extra
            scaled = {name: tf.cast(value, tf.float32) * loss_scale
                      for name, value in task_losses.items()}
            scaled_extra = None if extra is None else extra * loss_scale
            scaled_total = total * loss_scale
        self._keras_loss_metric().update_state(
            total / weighting_lib.replica_share(),
            sample_weight=tf.shape(tf.nest.flatten(x)[0])[0])
        shared = (self.get_layer(self.shared_layer).trainable_weights
                  if self.shared_layer else [])
        gradients = strategy.gradients(
            tape, scaled, scaled_extra, scaled_total, variables=variables,
            shared_variables=shared, loss_scale=loss_scale)
        del tape
        self.optimizer.apply_gradients(zip(gradients, variables))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def _keras_loss_metric(self):
        # Keras's own `loss` tracker leads the metrics of a compiled model.
        return next(m for m in super().metrics if m.name == "loss")

    def test_step(self, data):
        return self._distributable_logs(super().test_step(data))

    def _distributable_logs(self, logs: dict) -> dict:
        """Gives scalar logs a leading axis under multi-worker training.

        Keras reduces step logs across workers with `axis=0`, which fails on
        scalars (tensorflow/tensorflow#72388); a shape-[1] log reduces to
        the same scalar mean.
        """
        if not distribution.replicated_across_workers(
                self.distribute_strategy):
            return logs
        return {k: tf.reshape(v, [1]) if len(v.shape) == 0 else v
                for k, v in logs.items()}

    def _per_task_argument(self, value, arg_name: str) -> dict:
        """A `loss`, `loss_weights` or `metrics` argument as a task dict.

        Keras's non-dict forms are taken where they are unambiguous: a list
        in task order, or a single value for a single-task model.
        """
        names = self.task_names
        if value is None:
            return {}
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(names))
            if unknown:
                raise ValueError(
                    f"`{arg_name}` names unknown tasks {unknown}. "
                    f"Tasks: {names}")
            return dict(value)
        nested = arg_name == "metrics"
        is_list = isinstance(value, (list, tuple))
        if len(names) == 1 and not (is_list and nested and value
                                    and isinstance(value[0], (list, tuple))):
            if is_list and not nested:
                value = _single(value, arg_name, names)
            return {names[0]: value}
        if is_list and len(value) == len(names) and (
                not nested or all(isinstance(v, (list, tuple))
                                  for v in value)):
            return dict(zip(names, value))
        shape = ("a list with one list of metrics per task"
                 if nested else "a list with one entry per task")
        raise ValueError(
            f"`{arg_name}` is ambiguous for a model with tasks {names}: "
            f"pass a dict keyed by task name, or {shape} in that order. "
            f"Received: {value!r}")

    @property
    def task_loss_weights(self) -> dict[str, float]:
        """The weight of each task's loss in the total (after compile)."""
        self._assert_compiled()
        return dict(self._training.loss_weights)

    def _assert_compiled(self):
        if self._training is None:
            raise RuntimeError(
                "Call `model.compile()` before training or evaluating.")

    def compute_task_losses(self, y, y_pred, sample_weight=None):
        """Unweighted loss of each task on a batch, as a dict.

        Under a distribution strategy each value is the replica's share
        (divided by the replica count), as Keras losses return it.
        """
        self._assert_compiled()
        y = _as_task_dict(y, self.task_names, "labels")
        sample_weight = _as_task_dict(
            sample_weight, self.task_names, "sample weights", optional=True)
        losses = {}
        for task in self.tasks:
            losses[task.name] = self._training.losses[task.name](
                y[task.name], y_pred[task.name],
                sample_weight=sample_weight.get(task.name),
            )
        return losses

    def _tracked_task_losses(self, y, y_pred, sample_weight):
        losses = self.compute_task_losses(y, y_pred, sample_weight)
        share = weighting_lib.replica_share()
        for name, value in losses.items():
            self._training.loss_trackers[name].update_state(value / share)
        return losses

    def _additional_loss(self):
        """Regularization and `add_loss` terms, as a replica's share."""
        if not self.losses:
            return None
        return weighting_lib.replica_share() * ops.sum(
            [ops.cast(v, "float32") for v in self.losses])

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training=True):
        task_losses = self._tracked_task_losses(y, y_pred, sample_weight)
        if training:
            total = self._training.weighting.combine(task_losses)
        else:  # validation compares like with like: fixed weights
            total = ops.zeros((), dtype="float32")
            for name, value in task_losses.items():
                weight = self._training.loss_weights[name]
                if weight:
                    total = total + weight * ops.cast(value, "float32")
        extra = self._additional_loss()
        return total if extra is None else total + extra

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        y = _as_task_dict(y, self.task_names, "labels")
        sample_weight = _as_task_dict(
            sample_weight, self.task_names, "sample weights", optional=True)
        for task in self.tasks:
            for metric in self._training.metrics[task.name]:
                metric.update_state(
                    y[task.name], y_pred[task.name],
                    sample_weight=sample_weight.get(task.name),
                )
        return self.get_metrics_result()

    @property
    def metrics(self):
        metrics = super().metrics
        if self._training is not None:
            metrics.extend(self._training.loss_trackers.values())
            for task_metrics in self._training.metrics.values():
                metrics.extend(task_metrics)
            metrics.extend(self._training.weighting.own_metrics())
        return metrics

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["tasks"] = [tasks_lib.serialize(t) for t in self.tasks]
        config["features"] = (None if self.features is None else
                              [features_lib.serialize(f)
                               for f in self.features])
        config["shared_layer"] = self.shared_layer
        return config


class _TaskTraining:
    """Per-task losses, weights, metrics and weighting set by `compile`.

    A plain holder, deliberately not a list or dict attribute of the model:
    Keras tracks metrics and layers assigned to a model and never forgets
    them, so a second `compile` would keep the first one's state.
    """

    def __init__(self):
        self.losses = {}
        self.loss_weights = {}
        self.loss_trackers = {}
        self.metrics = {}
        self.weighting = None
        self.config = {}


def _single(value, arg_name, names):
    if len(value) != 1:
        raise ValueError(
            f"`{arg_name}` has {len(value)} entries for the single task "
            f"{names}. Received: {value!r}")
    return value[0]


def _serialize_values(values: dict):
    """Task dict of losses or metric lists, as JSON-ready configs."""
    if not values:
        return None
    return {name: keras.saving.serialize_keras_object(value)
            for name, value in values.items()}


def _deserialize_values(values):
    if not values:
        return None
    return {name: keras.saving.deserialize_keras_object(value)
            for name, value in values.items()}


def _make_loss(override, task):
    if override is None:
        return task.make_loss()
    if isinstance(override, keras.losses.Loss):
        return override
    if isinstance(override, str):
        return task.make_loss(override)
    if callable(override):
        return tasks_lib.FunctionLoss(override, name=f"{task.name}_loss")
    raise ValueError(
        f"Task '{task.name}': `loss` must be a Keras loss, a loss name or a "
        f"callable. Received: {override!r}"
    )


def _make_metrics(overrides, task):
    if not isinstance(overrides, (list, tuple)):
        overrides = [overrides]
    metrics = []
    for metric in overrides:
        if isinstance(metric, str):
            metric = _metric_from_name(metric, task)
        if not isinstance(metric, keras.metrics.Metric):
            raise ValueError(
                f"Task '{task.name}': metrics must be Keras metrics or "
                f"metric names. Received: {metric!r}"
            )
        metrics.append(metric)
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise ValueError(
            f"Task '{task.name}': metric names must be unique. "
            f"Received: {names}"
        )
    return metrics


def _metric_from_name(name, task):
    """A task metric by mtzoo name (`auc`) or Keras name (`mse`)."""
    try:
        return task.make_metric(name)
    except ValueError:
        pass
    found = keras.metrics.get(name)
    if isinstance(found, keras.metrics.Metric):
        # Named after the task, as every task metric is (`click_mae`).
        return found.__class__.from_config(
            {**found.get_config(), "name": f"{task.name}_{name}"})
    return keras.metrics.MeanMetricWrapper(
        found, name=f"{task.name}_{name}")


def _as_task_dict(values, names, what, optional=False):
    if values is None:
        if optional:
            return {}
        raise ValueError(f"No {what} were given; expected one per task "
                         f"{names}.")
    if not isinstance(values, dict):
        if len(names) == 1:
            return {names[0]: values}
        raise ValueError(
            f"{what.capitalize()} must be a dict keyed by task name "
            f"{names}. Received a {type(values).__name__}."
        )
    absent = [n for n in names if n not in values]
    if absent and not optional:
        raise ValueError(
            f"{what.capitalize()} are missing for tasks {absent}. "
            f"Received keys: {sorted(values)}"
        )
    return values
