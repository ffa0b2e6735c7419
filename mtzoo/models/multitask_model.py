"""The Keras model class shared by every mtzoo architecture."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import ops
from keras.src.saving import serialization_lib

from mtzoo import tasks as tasks_lib
from mtzoo.api_export import mtzoo_export
from mtzoo.training import weighting as weighting_lib


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

    Logs hold `loss`, one `<task>_loss` per task and the task metrics
    (`<task>_auc`, `<task>_rmse`, ...).

    Args:
        inputs, outputs: as for `keras.Model`; `outputs` must be a dict
            with one entry per task name.
        tasks: list of `mtzoo.tasks.Task`.
        **kwargs: other `keras.Model` arguments (`name`, ...).
    """

    def __init__(self, *args, tasks=None, **kwargs):
        super().__init__(*args, **kwargs)
        if tasks is None:
            raise ValueError("MultiTaskModel needs `tasks`.")
        self.tasks = tasks_lib.validate(tasks)
        output_names = set(self.output_names)
        absent = [t.name for t in self.tasks if t.name not in output_names]
        if absent:
            raise ValueError(
                f"Tasks {absent} have no model output of the same name. "
                f"Outputs: {sorted(output_names)}"
            )
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
            loss: dict mapping task names to a loss (a Keras loss object, a
                loss name or a callable) that replaces the task's default.
            loss_weights: dict mapping task names to a float that replaces
                the task's `weight`.
            metrics: dict mapping task names to a list of Keras metrics (or
                metric names) that replaces the task's metrics.
            weighting: how task losses combine during training: `"fixed"`
                (default), `"uncertainty"`, `"gradnorm"`, `"dwa"`,
                `"pcgrad"`, a config dict such as
                `{"name": "gradnorm", "alpha": 1.0}`, or a
                `mtzoo.training.Weighting`. Training only: validation loss
                always uses the tasks' fixed weights, and saved models do
                not change.
            **kwargs: other `keras.Model.compile` arguments (`jit_compile`,
                `steps_per_execution`, `run_eagerly`, ...).
        """
        for arg_name in ("weighted_metrics",):
            if kwargs.get(arg_name) is not None:
                raise ValueError(
                    f"MultiTaskModel.compile does not take `{arg_name}`: "
                    f"task metrics are always weighted by the per-task "
                    f"sample weights."
                )
        kwargs.pop("weighted_metrics", None)
        loss = self._check_task_dict(loss, "loss")
        loss_weights = self._check_task_dict(loss_weights, "loss_weights")
        metrics = self._check_task_dict(metrics, "metrics")
        super().compile(optimizer=optimizer, **kwargs)

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
        strategy = weighting_lib.get(weighting)
        strategy.build(self._weighted_tasks(training), model=self)
        training.weighting = strategy
        self._training = training

        self._compile_config = serialization_lib.SerializableDict(
            optimizer=self.optimizer,
            loss=loss or None,
            loss_weights=loss_weights or None,
            metrics=metrics or None,
            weighting=strategy.get_config(),
            **kwargs,
        )

    def _weighted_tasks(self, training):
        """Tasks with the compiled loss weights as their `weight`."""
        import dataclasses

        return [dataclasses.replace(t, weight=training.loss_weights[t.name])
                for t in self.tasks]

    @property
    def weighting(self) -> weighting_lib.Weighting:
        """The task weighting strategy (after compile)."""
        self._assert_compiled()
        return self._training.weighting

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        strategy = self._training.weighting
        variables = self.trainable_weights
        persistent = strategy.needs_task_gradients or bool(
            strategy.variables)
        with tf.GradientTape(persistent=persistent) as tape:
            y_pred = self(x, training=True)
            # Under a distribution strategy each replica's losses are
            # divided by the replica count (see `replica_share`); logs show
            # the undivided values.
            share = weighting_lib.replica_share()
            task_losses = self.compute_task_losses(y, y_pred, sample_weight)
            extra = (tf.add_n([tf.cast(v, tf.float32) for v in self.losses])
                     * share if self.losses else None)
            total = strategy.combine(task_losses)
            if extra is not None:
                total = total + extra
        for name, value in task_losses.items():
            self._training.loss_trackers[name].update_state(value / share)
        self._loss_tracker.update_state(
            total / share, sample_weight=tf.shape(tf.nest.flatten(x)[0])[0])
        if strategy.needs_task_gradients:
            gradients = strategy.gradients(tape, task_losses, extra, total,
                                           variables)
        else:
            gradients = tape.gradient(total, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        strategy.apply_own_gradients(tape, total)
        del tape
        logs = self.compute_metrics(x, y, y_pred, sample_weight)
        logs.update({f"{name}_weight": value for name, value in
                     strategy.current_weights().items()})
        return self._distributable_logs(logs)

    def test_step(self, data):
        return self._distributable_logs(super().test_step(data))

    def _distributable_logs(self, logs: dict) -> dict:
        """Gives scalar logs a leading axis under multi-worker training.

        Keras reduces step logs across workers with `axis=0`, which fails on
        scalars (tensorflow/tensorflow#72388); a shape-[1] log reduces to
        the same scalar mean.
        """
        if not _is_multi_worker(self.distribute_strategy):
            return logs
        return {k: tf.reshape(v, [1]) if len(v.shape) == 0 else v
                for k, v in logs.items()}

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Builds the model from one replica's first batch.

        Keras averages the first batch across replicas to learn its shapes
        before training under a distribution strategy, which cannot average
        string features (keras-team/keras#21172); one replica's batch has
        the same structure, shapes and dtypes.
        """
        strategy = self.distribute_strategy
        if iterator is not None and isinstance(
                strategy, _REPLICATED_STRATEGIES):
            for _, _, steps in iterator:
                batch = next(steps)
                data_batch = tf.nest.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0]
                    if isinstance(v, tf.distribute.DistributedValues)
                    else v, batch)
                break
            iterator = None
        return super()._maybe_symbolic_build(iterator=iterator,
                                             data_batch=data_batch)

    def fit(self, *args, callbacks=None, **kwargs):
        callbacks = list(callbacks or [])
        if self._training is not None:
            callbacks.insert(0, _EpochEndHook(self._training.weighting))
        self._build_optimizer_before_tracing()
        return super().fit(*args, callbacks=callbacks, **kwargs)

    def _build_optimizer_before_tracing(self):
        # Without a distribution strategy Keras creates the optimizer's
        # variables inside the first traced train step, and a tf.function
        # that creates variables is traced twice: building them here halves
        # the time to the first step.
        if (self._distribute_strategy is None and self.built
                and self.optimizer is not None and not self.optimizer.built):
            self.optimizer.build(self.trainable_variables)

    def _check_task_dict(self, value, arg_name: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError(
                f"`{arg_name}` must be a dict keyed by task name "
                f"({self.task_names}). Received: {value!r}"
            )
        unknown = sorted(set(value) - set(self.task_names))
        if unknown:
            raise ValueError(
                f"`{arg_name}` names unknown tasks {unknown}. "
                f"Tasks: {self.task_names}"
            )
        return dict(value)

    def compile_from_config(self, config):
        config = serialization_lib.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

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
        """Unweighted loss of each task on a batch, as a dict."""
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

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training=True):
        share = weighting_lib.replica_share()
        task_losses = self.compute_task_losses(y, y_pred, sample_weight)
        total = ops.zeros((), dtype="float32")
        for name, value in task_losses.items():
            self._training.loss_trackers[name].update_state(value / share)
            weight = self._training.loss_weights[name]
            if weight:
                total = total + weight * ops.cast(value, "float32")
        if self.losses:  # regularizers and add_loss terms
            total = total + share * ops.sum(
                [ops.cast(v, "float32") for v in self.losses])
        return total

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
        return metrics

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["tasks"] = [tasks_lib.serialize(t) for t in self.tasks]
        return config


_REPLICATED_STRATEGIES = (tf.distribute.MirroredStrategy,
                          tf.distribute.MultiWorkerMirroredStrategy)


def _is_multi_worker(strategy) -> bool:
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


class _EpochEndHook(keras.callbacks.Callback):
    """Tells the weighting strategy that an epoch ended (DWA needs it)."""

    def __init__(self, strategy):
        super().__init__()
        self.strategy = strategy

    def on_epoch_end(self, epoch, logs=None):
        self.strategy.end_epoch()


class _TaskTraining:
    """Per-task losses, weights and metrics set by `compile`.

    A plain holder, deliberately not a list or dict attribute of the model:
    Keras tracks metrics assigned to a model and never forgets them, so a
    second `compile` would keep reporting the first one's metrics.
    """

    def __init__(self):
        self.losses = {}
        self.loss_weights = {}
        self.loss_trackers = {}
        self.metrics = {}
        self.weighting = None


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
    function = keras.metrics.get(name)
    if isinstance(function, keras.metrics.Metric):
        return function
    return keras.metrics.MeanMetricWrapper(
        function, name=f"{task.name}_{name}")


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
