"""Choosing a `tf.distribute` strategy for training."""

from __future__ import annotations

import contextlib
import json
import os

import tensorflow as tf

from mtzoo import catalog

STRATEGIES = catalog.STRATEGIES


def make_strategy(name: str) -> tf.distribute.Strategy | None:
    """The strategy called `name`, or None for `"default"`.

    - `"default"`: no strategy; one device.
    - `"mirrored"`: `MirroredStrategy`, one replica per local GPU (or the
      CPU), gradients all-reduced.
    - `"multi_worker"`: `MultiWorkerMirroredStrategy`; every worker runs the
      same command with `TF_CONFIG` describing the cluster and its own
      index. Must be created before TensorFlow runs any operation.
    """
    if name == "default":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "Multi-worker training needs the TF_CONFIG environment "
                "variable, e.g. {\"cluster\": {\"worker\": [\"host1:12345\", "
                "\"host2:12345\"]}, \"task\": {\"type\": \"worker\", "
                "\"index\": 0}}, set on every worker with its own index.")
        return NestedReduceMultiWorkerStrategy()
    raise ValueError(f"Unknown strategy {name!r}; expected one of "
                     f"{list(STRATEGIES)}.")


class NestedReduceMultiWorkerStrategy(
        tf.distribute.MultiWorkerMirroredStrategy):
    """`MultiWorkerMirroredStrategy` whose `reduce` also takes nested
    structures (dicts of features, labels and weights), leaf by leaf.

    Keras's `fit` reduces the first distributed batch with
    `strategy.reduce(...)` before training, and the stock multi-worker
    strategy accepts single values only, so `fit` fails on dict inputs
    (keras-team/keras#20329).
    """

    def reduce(self, reduce_op, value, axis):
        return tf.nest.map_structure(
            lambda leaf: super(NestedReduceMultiWorkerStrategy, self).reduce(
                reduce_op, leaf, axis), value)


def is_chief(strategy: tf.distribute.Strategy | None) -> bool:
    """Whether this process writes the run's outputs: always, except on the
    workers other than worker 0 (or the `chief` task) of a cluster."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {})
    role, index = task.get("type"), task.get("index", 0)
    return role == "chief" or (role == "worker" and index == 0 and not
                               _has_chief(os.environ["TF_CONFIG"]))


def wait_for_every_worker(strategy: tf.distribute.Strategy) -> None:
    """Returns once every worker of `strategy` has called it (an all-reduce
    of one number).

    The other workers call it when they finish training and the chief when
    it has written the outputs, so no worker's process ends while the chief
    still works: the chief hosts the cluster's coordination service, which
    reports a worker that stops sending heartbeats as crashed."""
    @tf.function
    def all_reduce_one():
        return strategy.reduce(tf.distribute.ReduceOp.SUM,
                               strategy.run(lambda: tf.constant(1.0)),
                               axis=None)

    all_reduce_one()


def _has_chief(tf_config: str) -> bool:
    return bool(json.loads(tf_config).get("cluster", {}).get("chief"))


def scope(strategy: tf.distribute.Strategy | None):
    """The strategy's scope, or a no-op context for the default."""
    return strategy.scope() if strategy is not None else (
        contextlib.nullcontext())


def replicated_across_workers(strategy) -> bool:
    """Whether variables live on several machines (multi-worker)."""
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.cluster_resolver.cluster_spec().num_tasks("worker")
            > 1)


def worker_count(strategy) -> int:
    """Machines training together: the cluster's workers (and chief), or
    1 without a multi-worker strategy."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return 1
    spec = strategy.cluster_resolver.cluster_spec()
    return sum(spec.num_tasks(role) for role in ("chief", "worker")
               if role in spec.jobs)
