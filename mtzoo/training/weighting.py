"""Task balancing: how per-task losses combine into what is optimized.

Choose one by name in `MultiTaskModel.compile(weighting=...)` or with a
recipe's `--weighting` flag:

| name | what it does | paper |
|---|---|---|
| `fixed` | `sum_t w_t L_t` with the tasks' weights | |
| `uncertainty` | learns each task's noise; weights `1/sigma^2` | Kendall et al., CVPR 2018 |
| `gradnorm` | learns weights that equalize gradient norms on the last shared layer, scaled by relative training rates | Chen et al., ICML 2018 |
| `dwa` | weights from how fast each loss fell over the last two epochs | Liu et al., CVPR 2019 |
| `pcgrad` | projects away the conflicting part of each task's gradient on shared parameters | Yu et al., NeurIPS 2020 |

All are training-only: their state lives outside the model, so saved and
exported models are the same whatever the strategy.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from mtzoo import tasks as tasks_lib


def replica_share() -> float:
    """1 / the number of replicas training in sync (1.0 without a strategy).

    Keras losses return each replica's mean divided by the replica count,
    so gradients summed across replicas are the global mean's gradient.
    """
    return 1.0 / tf.distribute.get_strategy().num_replicas_in_sync


class Weighting:
    """Base class. Subclasses set `name` and override `combine` or
    `gradients`."""

    name = ""
    #: Whether the strategy needs one gradient per task (GradNorm, PCGrad).
    needs_task_gradients = False

    def __init__(self):
        self.tasks = None
        self.variables = []
        self.optimizer = None

    def build(self, tasks, model=None) -> None:
        """Creates the strategy's state for `tasks` (called by compile)."""
        self.tasks = list(tasks)

    @property
    def task_names(self) -> list[str]:
        return [t.name for t in self.tasks]

    def base_weights(self) -> dict:
        return {t.name: float(t.weight) for t in self.tasks}

    def current_weights(self) -> dict:
        """The multiplier of each task's loss now (for logging)."""
        return {k: tf.constant(v, tf.float32)
                for k, v in self.base_weights().items()}

    def combine(self, task_losses: dict):
        """The loss to minimize, from each task's (unweighted) loss."""
        weights = self.current_weights()
        return tf.add_n([weights[n] * tf.cast(task_losses[n], tf.float32)
                         for n in self.task_names])

    def gradients(self, tape, task_losses, extra_loss, total, variables):
        """Gradients of every variable (for `needs_task_gradients`).

        Args:
            tape: the persistent tape that recorded the forward pass.
            task_losses: dict task -> unweighted loss (recorded).
            extra_loss: regularization and `add_loss` terms, or None.
            total: `combine(task_losses) + extra_loss` (recorded).
            variables: the model's trainable variables.
        """
        raise NotImplementedError

    def end_epoch(self) -> None:
        """Called after each training epoch."""

    def state_variables(self) -> list:
        """Variables a training checkpoint must keep: learned weights and
        their optimizer's state."""
        own = list(self.variables)
        if self.optimizer is not None:
            own += list(self.optimizer.variables)
        return own

    def get_state(self) -> dict:
        """JSON-serializable state beyond `state_variables`."""
        return {}

    def set_state(self, state: dict) -> None:
        """Restores what `get_state` returned."""

    def apply_own_gradients(self, tape, loss) -> None:
        """Updates learned strategy variables from `loss`."""
        if self.variables and self.optimizer is not None:
            grads = tape.gradient(loss, self.variables)
            self.optimizer.apply_gradients(zip(grads, self.variables))

    def get_config(self) -> dict:
        return {"name": self.name}


class Fixed(Weighting):
    """`sum_t w_t L_t` with each task's `weight` (the default)."""

    name = "fixed"


class Uncertainty(Weighting):
    """Homoscedastic uncertainty weighting (Kendall, Gal and Cipolla, 2018).

    Learns `s_t = log sigma_t^2` per task and minimizes
    `sum_t w_t (c_t exp(-s_t) L_t + s_t / 2)`, with `c_t = 1/2` for
    regression (Gaussian likelihood) and `c_t = 1` for classification
    (softmax/sigmoid likelihood). At the optimum `exp(s_t)` is the task's
    loss level, so noisy tasks are down-weighted. Logged weights are
    `w_t c_t exp(-s_t)`.

    Args:
        learning_rate: float. Adam learning rate of the `s_t`.

    References:
        - [Kendall et al., 2018](https://arxiv.org/abs/1705.07115): Multi-Task
          Learning Using Uncertainty to Weigh Losses for Scene Geometry and
          Semantics (CVPR 2018).
    """

    name = "uncertainty"

    def __init__(self, learning_rate: float = 0.01):
        super().__init__()
        self.learning_rate = learning_rate

    def build(self, tasks, model=None):
        super().build(tasks, model)
        self.log_variances = {
            t.name: keras.Variable(0.0, name=f"log_variance_{t.name}",
                                   dtype="float32")
            for t in self.tasks}
        self.variables = list(self.log_variances.values())
        self.optimizer = keras.optimizers.Adam(self.learning_rate)
        self.optimizer.build(self.variables)

    def _factor(self, task):
        return 0.5 if task.kind == tasks_lib.REGRESSION else 1.0

    def current_weights(self):
        return {t.name: t.weight * self._factor(t) * tf.exp(
            -tf.convert_to_tensor(self.log_variances[t.name]))
            for t in self.tasks}

    def combine(self, task_losses):
        terms = []
        for t in self.tasks:
            s = tf.convert_to_tensor(self.log_variances[t.name])
            # Task losses arrive already divided by the replica count; the
            # regularizer must be too, or replicas would sum it R times.
            terms.append(t.weight * (
                self._factor(t) * tf.exp(-s)
                * tf.cast(task_losses[t.name], tf.float32)
                + 0.5 * s * replica_share()))
        return tf.add_n(terms)

    def get_config(self):
        return {"name": self.name, "learning_rate": self.learning_rate}


class DynamicWeightAverage(Weighting):
    """Dynamic weight average (Liu, Johns and Davison, 2019).

    `w_t(k) = T exp(r_t(k-1) / tau) / sum_i exp(r_i(k-1) / tau)` with
    `r_t(k-1) = L_t(k-1) / L_t(k-2)`, the ratio of the task's mean training
    loss over the last two epochs: a task whose loss falls slowly gets more
    weight. The first two epochs use weight 1. Weights multiply the tasks'
    own `weight`.

    Args:
        temperature: float. The paper's tau; higher is smoother. Defaults
            to 2, as in the paper.

    References:
        - [Liu et al., 2019](https://arxiv.org/abs/1803.10704): End-to-End
          Multi-Task Learning with Attention (CVPR 2019).
    """

    name = "dwa"

    def __init__(self, temperature: float = 2.0):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"`temperature` must be positive. Received: "
                             f"temperature={temperature!r}")
        self.temperature = temperature

    def build(self, tasks, model=None):
        super().build(tasks, model)
        count = len(self.tasks)
        self.dynamic = keras.Variable(tf.ones(count), trainable=False,
                                      name="dwa_weights")
        self.sums = keras.Variable(tf.zeros(count), trainable=False,
                                   name="dwa_loss_sums")
        self.steps = keras.Variable(0.0, trainable=False, name="dwa_steps")
        self.history = []  # mean loss per task of each finished epoch

    def current_weights(self):
        dynamic = tf.convert_to_tensor(self.dynamic)
        return {t.name: t.weight * dynamic[i]
                for i, t in enumerate(self.tasks)}

    def combine(self, task_losses):
        losses = tf.stack([tf.cast(task_losses[n], tf.float32)
                           for n in self.task_names])
        self.sums.assign_add(tf.stop_gradient(losses))
        self.steps.assign_add(1.0)
        return super().combine(task_losses)

    def end_epoch(self):
        steps = float(self.steps.numpy())
        if steps:
            self.record_epoch(self.sums.numpy() / steps)
        self.sums.assign(tf.zeros(len(self.tasks)))
        self.steps.assign(0.0)

    def record_epoch(self, mean_losses) -> None:
        """Adds one epoch's mean losses and sets the next epoch's weights."""
        self.history.append([float(v) for v in mean_losses])
        self.dynamic.assign(tf.constant(self.weights_after(self.history),
                                        tf.float32))

    def get_state(self):
        return {"history": self.history}

    def set_state(self, state):
        self.history = [list(map(float, v)) for v in state["history"]]
        self.dynamic.assign(tf.constant(self.weights_after(self.history),
                                        tf.float32))

    def weights_after(self, history) -> list[float]:
        """DWA weights for the epoch following `history`."""
        count = len(self.tasks)
        if len(history) < 2:
            return [1.0] * count
        previous, before = history[-1], history[-2]
        ratios = tf.constant([p / b if b > 0 else 1.0
                              for p, b in zip(previous, before)])
        weights = count * tf.nn.softmax(ratios / self.temperature)
        return [float(w) for w in weights.numpy()]

    def get_config(self):
        return {"name": self.name, "temperature": self.temperature}


def _flat(gradients, variables):
    parts = []
    for grad, var in zip(gradients, variables):
        if grad is None:
            grad = tf.zeros_like(var)
        elif isinstance(grad, tf.IndexedSlices):
            grad = tf.convert_to_tensor(grad)
        parts.append(tf.reshape(tf.cast(grad, tf.float32), [-1]))
    return tf.concat(parts, axis=0)


def _unflat(vector, variables):
    out, start = [], 0
    for var in variables:
        size = int(math.prod(var.shape))
        out.append(tf.reshape(vector[start:start + size], var.shape))
        start += size
    return out


def project_conflicts(gradients, order=None):
    """PCGrad's surgery on a `[tasks, parameters]` matrix of gradients.

    For each task `i`, for each other task `j` (in `order`), when
    `g_i . g_j < 0` the component of `g_i` along `g_j` is removed:
    `g_i -= (g_i . g_j) / |g_j|^2 g_j`. Non-conflicting pairs are left
    unchanged.

    Returns:
        The projected `[tasks, parameters]` matrix.
    """
    gradients = tf.convert_to_tensor(gradients, tf.float32)
    count = gradients.shape[0]
    order = tf.range(count) if order is None else order
    projected = []
    for i in range(count):
        g = gradients[i]
        for k in range(count):
            j = order[k]
            other = gradients[j]
            dot = tf.reduce_sum(g * other)
            norm = tf.reduce_sum(other * other)
            conflict = tf.logical_and(tf.not_equal(j, i), dot < 0)
            g = tf.where(conflict,
                         g - tf.math.divide_no_nan(dot, norm) * other, g)
        projected.append(g)
    return tf.stack(projected)


class PCGrad(Weighting):
    """Gradient surgery (Yu et al., 2020).

    Each task's gradient on the parameters shared by several tasks is
    projected onto the normal plane of every other task's gradient it
    conflicts with (negative dot product), in a random order each step;
    the projected gradients are summed. Parameters of a single task get its
    gradient unchanged. Task weights scale each task's loss first.

    References:
        - [Yu et al., 2020](https://arxiv.org/abs/2001.06782): Gradient
          Surgery for Multi-Task Learning (NeurIPS 2020).
    """

    name = "pcgrad"
    needs_task_gradients = True

    def gradients(self, tape, task_losses, extra_loss, total, variables):
        weights = self.current_weights()
        # Weights are constants here: scale each gradient, not the loss
        # (a product formed outside the tape has no gradient).
        per_task = [[None if g is None else weights[n] * g
                     for g in tape.gradient(task_losses[n], variables)]
                    for n in self.task_names]
        shared = [i for i in range(len(variables))
                  if sum(g[i] is not None for g in per_task) > 1]
        result = [None] * len(variables)
        for i in range(len(variables)):
            if i not in shared:
                grads = [g[i] for g in per_task if g[i] is not None]
                result[i] = grads[0] if grads else None
        if shared:
            shared_vars = [variables[i] for i in shared]
            matrix = tf.stack([_flat([g[i] for i in shared], shared_vars)
                               for g in per_task])
            order = tf.random.shuffle(tf.range(len(per_task)))
            summed = tf.reduce_sum(project_conflicts(matrix, order), axis=0)
            for i, grad in zip(shared, _unflat(summed, shared_vars)):
                result[i] = grad
        if extra_loss is not None:
            extra = tape.gradient(extra_loss, variables)
            result = [r if e is None else (e if r is None else r + e)
                      for r, e in zip(result, extra)]
        return result


def shared_layer(model):
    """The last layer whose weights all tasks share, for GradNorm."""
    names = [layer.name for layer in model.layers]
    for name in ("bottom", "experts"):
        if name in names and model.get_layer(name).trainable_weights:
            return model.get_layer(name)
    levels = [n for n in names if n.startswith("level_")
              and n.endswith("_experts_shared")]
    if levels:
        return model.get_layer(sorted(levels)[-1])
    if "feature_encoder" in names:
        return model.get_layer("feature_encoder")
    raise ValueError(
        f"GradNorm needs parameters shared by all tasks; model "
        f"'{model.name}' has none (single_task without share_embeddings?).")


class GradNorm(Weighting):
    """Gradient normalization (Chen et al., 2018).

    Learns task weights `w_t` so that the norms of the weighted task
    gradients on the last shared layer, `G_t = |grad_W w_t L_t|`, approach
    `mean(G) * r_t^alpha`, where `r_t` is the task's loss ratio
    `L_t / L_t(0)` relative to the mean ratio: tasks that train slower get
    larger gradients. The weights follow the gradient of
    `sum_t |G_t - target_t|` (targets held constant) and are renormalized
    to sum to the number of tasks after every step.

    Args:
        alpha: float. Strength of the pull toward equal training rates.
            Defaults to 1.5 (the paper's value for its NYUv2 experiments).
        learning_rate: float. Adam learning rate of the weights.

    References:
        - [Chen et al., 2018](https://arxiv.org/abs/1711.02257): GradNorm:
          Gradient Normalization for Adaptive Loss Balancing in Deep
          Multitask Networks (ICML 2018).
    """

    name = "gradnorm"
    needs_task_gradients = True

    def __init__(self, alpha: float = 1.5, learning_rate: float = 0.025):
        super().__init__()
        self.alpha = alpha
        self.learning_rate = learning_rate

    def build(self, tasks, model=None):
        super().build(tasks, model)
        count = len(self.tasks)
        self.shared_variables = (shared_layer(model).trainable_weights
                                 if model is not None else [])
        self.task_weights = keras.Variable(tf.ones(count),
                                           name="gradnorm_weights")
        self.initial_losses = keras.Variable(tf.zeros(count),
                                             trainable=False,
                                             name="gradnorm_initial_losses")
        self.variables = [self.task_weights]
        self.optimizer = keras.optimizers.Adam(self.learning_rate)
        self.optimizer.build(self.variables)

    def state_variables(self):
        return super().state_variables() + [self.initial_losses]

    def _normalized(self, weights):
        clipped = tf.maximum(weights, 1e-3)
        return clipped * len(self.tasks) / tf.reduce_sum(clipped)

    def current_weights(self):
        # Normalizing on read is idempotent after the step's renormalizing
        # assign, and keeps every read positive and summing to T even when
        # a read is scheduled between the optimizer update and that assign.
        learned = self._normalized(tf.convert_to_tensor(self.task_weights))
        return {t.name: t.weight * learned[i]
                for i, t in enumerate(self.tasks)}

    def step_weights(self, gradient_norms, losses) -> None:
        """One GradNorm update from per-task gradient norms of the
        unweighted losses on the shared layer, and the current losses."""
        losses = tf.cast(losses, tf.float32)
        self.initial_losses.assign(tf.where(
            self.initial_losses > 0, self.initial_losses, losses))
        learned = tf.convert_to_tensor(self.task_weights)
        norms = learned * gradient_norms  # G_t = w_t |grad L_t|
        ratios = tf.math.divide_no_nan(losses, self.initial_losses)
        relative = tf.math.divide_no_nan(ratios, tf.reduce_mean(ratios))
        target = tf.stop_gradient(tf.reduce_mean(norms)
                                  * relative ** self.alpha)
        # d/dw_t sum |w_t n_t - target_t| = sign(G_t - target_t) n_t.
        grad = tf.sign(norms - target) * gradient_norms
        self.optimizer.apply_gradients([(grad, self.task_weights)])
        self.task_weights.assign(
            self._normalized(tf.convert_to_tensor(self.task_weights)))

    def gradients(self, tape, task_losses, extra_loss, total, variables):
        norms = [tf.norm(_flat(tape.gradient(task_losses[n],
                                             self.shared_variables),
                               self.shared_variables))
                 for n in self.task_names]
        gradients = tape.gradient(total, variables)
        self.step_weights(tf.stack(norms), tf.stack(
            [tf.cast(task_losses[n], tf.float32) for n in self.task_names]))
        return gradients

    def get_config(self):
        return {"name": self.name, "alpha": self.alpha,
                "learning_rate": self.learning_rate}


STRATEGIES = {cls.name: cls for cls in (
    Fixed, Uncertainty, GradNorm, DynamicWeightAverage, PCGrad)}


def get(identifier) -> Weighting:
    """A fresh strategy from a name, a config dict or an instance."""
    if identifier is None:
        return Fixed()
    if isinstance(identifier, Weighting):
        return identifier
    if isinstance(identifier, str):
        identifier = {"name": identifier}
    if isinstance(identifier, dict):
        config = dict(identifier)
        name = config.pop("name", None)
        if name not in STRATEGIES:
            raise ValueError(
                f"Unknown weighting {name!r}. Choose one of "
                f"{sorted(STRATEGIES)}.")
        return STRATEGIES[name](**config)
    raise ValueError(f"`weighting` must be a name, a config dict or a "
                     f"Weighting. Received: {identifier!r}")
