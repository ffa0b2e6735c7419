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

`fixed`, `uncertainty` and `dwa` only change the loss, so they train through
Keras's own step (loss scaling, distribution and metrics as for any Keras
model). `gradnorm` and `pcgrad` need one gradient per task and use a step of
their own.

A strategy is a Keras layer owned by the compiled model: its variables (and
its optimizer's, for GradNorm) are written by `model.save_weights`,
`model.save` and Keras checkpoints, and restored with them. It never takes
part in prediction, so serving graphs are the same whatever the strategy.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from mtzoo.api_export import mtzoo_export


def replica_share() -> float:
    """1 / the number of replicas training in sync (1.0 without a strategy).

    Keras losses return each replica's mean divided by the replica count,
    so gradients summed across replicas are the global mean's gradient.
    """
    return 1.0 / tf.distribute.get_strategy().num_replicas_in_sync


@mtzoo_export
class Weighting(keras.layers.Layer):
    """Base class of task weighting strategies.

    Subclasses set `strategy` (the name used in `compile`) and override
    `combine`, or set `needs_task_gradients` and override `gradients`.

    Args:
        **kwargs: Args to pass to the base class.
    """

    strategy = ""
    #: Whether the strategy needs one gradient per task (GradNorm, PCGrad).
    needs_task_gradients = False

    def __init__(self, **kwargs):
        kwargs.setdefault("name", f"weighting_{self.strategy}")
        kwargs["dtype"] = "float32"  # state stays float32 under any policy
        super().__init__(**kwargs)
        self.tasks = []

    def setup(self, tasks, model=None) -> None:
        """Creates the state for `tasks` (compile calls it once)."""
        self.tasks = list(tasks)
        self.built = True

    @property
    def task_names(self) -> list[str]:
        return [t.name for t in self.tasks]

    def current_weights(self) -> dict:
        """The multiplier of each task's loss now (logged as
        `<task>_weight`)."""
        return {t.name: tf.constant(float(t.weight)) for t in self.tasks}

    def combine(self, task_losses: dict, training: bool = True):
        """The loss to minimize, from each task's unweighted loss."""
        weights = self.current_weights()
        return tf.add_n([weights[n] * tf.cast(task_losses[n], tf.float32)
                         for n in self.task_names])

    def gradients(self, tape, scaled_task_losses: dict, scaled_extra,
                  scaled_total, *, variables, shared_variables, loss_scale):
        """Gradients of every variable, for `needs_task_gradients`.

        Everything scaled is recorded on `tape`: a loss formed after the
        tape closed has no gradient.

        Args:
            tape: the persistent tape that recorded the forward pass.
            scaled_task_losses: dict task -> unweighted loss times
                `loss_scale`.
            scaled_extra: regularization and `add_loss` terms times
                `loss_scale`, or None.
            scaled_total: `(combine(task_losses) + extra) * loss_scale`.
            variables: the variables to differentiate.
            shared_variables: the variables of the model's declared last
                shared layer (empty when it declares none).
            loss_scale: the optimizer's loss scale (1 without mixed
                precision); gradients are returned scaled by it, as the
                optimizer expects.
        """
        raise NotImplementedError

    def own_metrics(self) -> list:
        """Metrics the model must reset with its own (state per epoch)."""
        return []

    def describe(self) -> dict:
        """`{"name": ..., **options}`: what `get` rebuilds it from."""
        return {"name": self.strategy}


@mtzoo_export
class Fixed(Weighting):
    """`sum_t w_t L_t` with each task's `weight` (the default)."""

    strategy = "fixed"


@mtzoo_export
class Uncertainty(Weighting):
    """Homoscedastic uncertainty weighting (Kendall, Gal and Cipolla, 2018).

    Learns `s_t = log sigma_t^2` per task and minimizes
    `sum_t w_t (c_t exp(-s_t) L_t + s_t / 2)`, with `c_t = 1/2` for
    regression (Gaussian likelihood) and `c_t = 1` for classification
    (softmax/sigmoid likelihood). At the optimum `exp(s_t)` is the task's
    loss level, so noisy tasks are down-weighted. The `s_t` are trained by
    the model's optimizer, as in the paper. Logged weights are
    `w_t c_t exp(-s_t)`.

    References:
        - [Kendall et al., 2018](https://arxiv.org/abs/1705.07115): Multi-Task
          Learning Using Uncertainty to Weigh Losses for Scene Geometry and
          Semantics (CVPR 2018).
    """

    strategy = "uncertainty"

    def setup(self, tasks, model=None):
        super().setup(tasks, model)
        self.log_variances = {
            t.name: self.add_weight(shape=(), initializer="zeros",
                                    name=f"log_variance_{t.name}")
            for t in self.tasks}

    def _factor(self, task):
        return task.uncertainty_factor

    def current_weights(self):
        return {t.name: t.weight * self._factor(t) * tf.exp(
            -tf.convert_to_tensor(self.log_variances[t.name]))
            for t in self.tasks}

    def combine(self, task_losses, training=True):
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


class _PeriodEnd(keras.metrics.Metric):
    """A metric that only listens for resets; it reports nothing.

    Keras resets a model's metrics when an epoch begins (and `evaluate`
    when validation begins), as does a custom loop calling
    `model.reset_metrics()`; DWA closes its period there.
    """

    def __init__(self, on_reset, name="dwa_period"):
        super().__init__(name=name)
        self.on_reset = on_reset

    def update_state(self, *args, **kwargs):
        pass

    def result(self):
        return {}

    def reset_state(self):
        self.on_reset()


@mtzoo_export
class DynamicWeightAverage(Weighting):
    """Dynamic weight average (Liu, Johns and Davison, 2019).

    `w_t(k) = T exp(r_t(k-1) / tau) / sum_i exp(r_i(k-1) / tau)` with
    `r_t(k-1) = L_t(k-1) / L_t(k-2)`, the ratio of the task's mean training
    loss over the last two epochs: a task whose loss falls slowly gets more
    weight. The first two epochs use weight 1. Weights multiply the tasks'
    own `weight`.

    Under `fit`, an epoch ends where Keras resets the model's metrics (at
    each epoch's start). `train_on_batch` resets them on every call, so a
    loop built on it passes `steps_per_period` (its batches per epoch), or
    calls `model.weighting.end_period()` after each epoch.

    Args:
        temperature: float. The paper's tau; higher is smoother. Defaults
            to 2, as in the paper.
        steps_per_period: int. Close the period every this many training
            steps instead of at metric resets. Defaults to None.

    References:
        - [Liu et al., 2019](https://arxiv.org/abs/1803.10704): End-to-End
          Multi-Task Learning with Attention (CVPR 2019).
    """

    strategy = "dwa"

    def __init__(self, temperature: float = 2.0,
                 steps_per_period: int | None = None, **kwargs):
        if temperature <= 0:
            raise ValueError(f"`temperature` must be positive. Received: "
                             f"temperature={temperature!r}")
        if steps_per_period is not None and (
                not isinstance(steps_per_period, int)
                or steps_per_period <= 0):
            raise ValueError(
                f"`steps_per_period` must be a positive integer. "
                f"Received: steps_per_period={steps_per_period!r}")
        super().__init__(**kwargs)
        self.temperature = temperature
        self.steps_per_period = steps_per_period

    def setup(self, tasks, model=None):
        super().setup(tasks, model)
        count = len(self.tasks)

        def state(name, shape, initializer="zeros", aggregation="none"):
            return self.add_weight(shape=shape, initializer=initializer,
                                   trainable=False, aggregation=aggregation,
                                   name=name)

        self.dynamic = state("dynamic_weights", (count,), "ones")
        self.last_losses = state("last_epoch_losses", (count,))
        self.previous_losses = state("previous_epoch_losses", (count,))
        self.epochs_seen = state("epochs_seen", ())
        # The running period: summed over replicas (both sums gain the
        # same factor, which cancels in the ratio of means).
        self.loss_sums = state("period_loss_sums", (count,),
                               aggregation="sum")
        self.steps = state("period_steps", (), aggregation="sum")
        self.period_end = _PeriodEnd(self._on_metric_reset)

    def own_metrics(self):
        return [self.period_end]

    def current_weights(self):
        dynamic = tf.convert_to_tensor(self.dynamic)
        return {t.name: t.weight * dynamic[i]
                for i, t in enumerate(self.tasks)}

    def combine(self, task_losses, training=True):
        if training:
            self.loss_sums.assign_add(tf.stop_gradient(tf.stack(
                [tf.cast(task_losses[n], tf.float32)
                 for n in self.task_names])))
            self.steps.assign_add(1.0)
            if self.steps_per_period:
                tf.cond(tf.convert_to_tensor(self.steps)
                        >= self.steps_per_period,
                        self._close, lambda: tf.constant(False))
        return super().combine(task_losses, training)

    def _on_metric_reset(self):
        if not self.steps_per_period:
            self.end_period()

    def end_period(self) -> None:
        """Closes the running period (an epoch) if it saw any step."""
        tf.cond(tf.convert_to_tensor(self.steps) > 0, self._close,
                lambda: tf.constant(False))

    def _close(self):
        self.record_epoch(tf.convert_to_tensor(self.loss_sums)
                          / tf.convert_to_tensor(self.steps))
        self.loss_sums.assign(tf.zeros_like(self.loss_sums))
        self.steps.assign(0.0)
        return tf.constant(True)

    def record_epoch(self, mean_losses) -> None:
        """Adds one epoch's mean losses and sets the next epoch's weights."""
        mean_losses = tf.cast(mean_losses, tf.float32)
        self.previous_losses.assign(self.last_losses)
        self.last_losses.assign(mean_losses)
        self.epochs_seen.assign_add(1.0)
        previous = tf.convert_to_tensor(self.previous_losses)
        ratios = tf.where(previous > 0,
                          tf.math.divide_no_nan(mean_losses, previous),
                          tf.ones_like(mean_losses))
        weights = len(self.tasks) * tf.nn.softmax(ratios / self.temperature)
        self.dynamic.assign(tf.where(
            tf.convert_to_tensor(self.epochs_seen) >= 2, weights,
            tf.ones_like(weights)))

    def describe(self):
        described = {"name": self.strategy, "temperature": self.temperature}
        if self.steps_per_period:
            described["steps_per_period"] = self.steps_per_period
        return described

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature,
                "steps_per_period": self.steps_per_period}


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


def _is_sparse(gradient) -> bool:
    return isinstance(gradient, tf.IndexedSlices)


def _sum_sparse(gradients):
    """Sums `IndexedSlices` without densifying them."""
    return tf.IndexedSlices(
        values=tf.concat([g.values for g in gradients], axis=0),
        indices=tf.concat([g.indices for g in gradients], axis=0),
        dense_shape=gradients[0].dense_shape)


def _scaled(gradient, factor):
    if gradient is None:
        return None
    if _is_sparse(gradient):
        return tf.IndexedSlices(gradient.values * factor, gradient.indices,
                                gradient.dense_shape)
    return gradient * factor


def _sum_gradients(gradients):
    gradients = [g for g in gradients if g is not None]
    if not gradients:
        return None
    if all(_is_sparse(g) for g in gradients):
        return gradients[0] if len(gradients) == 1 else _sum_sparse(gradients)
    return tf.add_n([tf.convert_to_tensor(g) for g in gradients])


def squared_norm(gradient):
    """`|g|^2` of a dense gradient or of `IndexedSlices` (repeated rows are
    summed first, as the dense gradient would hold them)."""
    if not _is_sparse(gradient):
        return tf.reduce_sum(tf.square(tf.cast(gradient, tf.float32)))
    unique, position = tf.unique(gradient.indices)
    rows = tf.math.unsorted_segment_sum(
        tf.cast(gradient.values, tf.float32), position, tf.size(unique))
    return tf.reduce_sum(tf.square(rows))


def _flat(gradients, variables):
    return tf.concat([
        tf.reshape(tf.cast(tf.convert_to_tensor(g) if g is not None
                           else tf.zeros_like(v), tf.float32), [-1])
        for g, v in zip(gradients, variables)], axis=0)


def _unflat(vector, variables):
    out, start = [], 0
    for var in variables:
        size = 1
        for dim in var.shape:
            size *= int(dim)
        out.append(tf.reshape(vector[start:start + size], var.shape))
        start += size
    return out


@mtzoo_export
class PCGrad(Weighting):
    """Gradient surgery (Yu et al., 2020).

    Each task's gradient on the parameters shared by several tasks is
    projected onto the normal plane of every other task's gradient it
    conflicts with (negative dot product), in a random order each step;
    the projected gradients are summed. Parameters of a single task get its
    gradient unchanged. Task weights scale each task's loss first.

    Embedding tables receive sparse gradients (`IndexedSlices`, the rows a
    batch looked up). By default they are summed as they are, outside the
    projection: densifying them would cost a vocabulary-by-dimension tensor
    per task and step.

    Args:
        include_embeddings: bool. Project sparse (embedding) gradients too,
            densified. Defaults to False.
        seed: int. Seed of the random projection order.

    References:
        - [Yu et al., 2020](https://arxiv.org/abs/2001.06782): Gradient
          Surgery for Multi-Task Learning (NeurIPS 2020).
    """

    strategy = "pcgrad"
    needs_task_gradients = True

    def __init__(self, include_embeddings: bool = False, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.include_embeddings = bool(include_embeddings)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def gradients(self, tape, scaled_task_losses, scaled_extra, scaled_total,
                  *, variables, shared_variables, loss_scale):
        weights = self.current_weights()
        per_task = [[_scaled(g, weights[n]) for g in tape.gradient(
            scaled_task_losses[n], variables)] for n in self.task_names]
        result = [None] * len(variables)
        projected = []
        for i in range(len(variables)):
            grads = [g[i] for g in per_task]
            present = [g for g in grads if g is not None]
            sparse = present and all(_is_sparse(g) for g in present)
            if len(present) > 1 and (self.include_embeddings or not sparse):
                projected.append(i)
            else:
                result[i] = _sum_gradients(grads)
        if projected:
            shared = [variables[i] for i in projected]
            matrix = tf.stack([_flat([g[i] for i in projected], shared)
                               for g in per_task])
            order = keras.random.shuffle(tf.range(len(per_task)),
                                         seed=self.seed_generator)
            summed = tf.reduce_sum(project_conflicts(matrix, order), axis=0)
            for i, grad in zip(projected, _unflat(summed, shared)):
                result[i] = grad
        if scaled_extra is not None:
            extra = tape.gradient(scaled_extra, variables)
            result = [_sum_gradients([r, e]) for r, e in zip(result, extra)]
        return result

    def describe(self):
        return {"name": self.strategy,
                "include_embeddings": self.include_embeddings}

    def get_config(self):
        return {**super().get_config(),
                "include_embeddings": self.include_embeddings,
                "seed": self.seed}


@mtzoo_export
class GradNorm(Weighting):
    """Gradient normalization (Chen et al., 2018).

    Learns task weights `w_t` so that the norms of the weighted task
    gradients on the last shared layer, `G_t = |grad_W w_t L_t|`, approach
    `mean(G) * r_t^alpha`, where `r_t` is the task's loss ratio
    `L_t / L_t(0)` relative to the mean ratio: tasks that train slower get
    larger gradients. The weights follow the gradient of
    `sum_t |G_t - target_t|` (targets held constant) and are renormalized
    to sum to the number of tasks after every step.

    The last shared layer is the one the architecture declares
    (`MultiTaskModel.shared_layer`). Its embedding tables, if any, count
    through their sparse gradients (only the rows a batch used).

    Args:
        alpha: float. Strength of the pull toward equal training rates.
            Defaults to 1.5 (the paper's value for its NYUv2 experiments).
        learning_rate: float. Adam learning rate of the weights.

    References:
        - [Chen et al., 2018](https://arxiv.org/abs/1711.02257): GradNorm:
          Gradient Normalization for Adaptive Loss Balancing in Deep
          Multitask Networks (ICML 2018).
    """

    strategy = "gradnorm"
    needs_task_gradients = True

    def __init__(self, alpha: float = 1.5, learning_rate: float = 0.025,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha
        self.learning_rate = learning_rate

    def setup(self, tasks, model=None):
        super().setup(tasks, model)
        count = len(self.tasks)
        if model is not None:
            shared_layer(model)  # fails now, not at the first step
        # Not trainable: only GradNorm's own rule moves them, never the
        # model's optimizer on the task losses.
        self.task_weights = self.add_weight(
            shape=(count,), initializer="ones", trainable=False,
            name="gradnorm_weights")
        self.initial_losses = self.add_weight(
            shape=(count,), initializer="zeros", trainable=False,
            name="gradnorm_initial_losses")
        self.optimizer = keras.optimizers.Adam(self.learning_rate)
        self.optimizer.build([self.task_weights])

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

    def gradients(self, tape, scaled_task_losses, scaled_extra, scaled_total,
                  *, variables, shared_variables, loss_scale):
        norms = tf.stack([
            tf.sqrt(tf.add_n([
                squared_norm(g) for g in tape.gradient(
                    scaled_task_losses[n], shared_variables)
                if g is not None] or [tf.constant(0.0)])) / loss_scale
            for n in self.task_names])
        gradients = tape.gradient(scaled_total, variables)
        losses = tf.stack([tf.cast(scaled_task_losses[n], tf.float32)
                           for n in self.task_names]) / loss_scale
        # A mixed-precision step whose gradients overflowed is skipped by
        # the optimizer; the weights get no gradient from it either (a
        # conditional update would not run under a distribution strategy).
        finite = tf.reduce_all(tf.math.is_finite(norms))
        self.step_weights(tf.where(finite, norms, tf.zeros_like(norms)),
                          losses)
        return gradients

    def describe(self):
        return {"name": self.strategy, "alpha": self.alpha,
                "learning_rate": self.learning_rate}

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha,
                "learning_rate": self.learning_rate}


def shared_layer(model):
    """The last layer whose weights all tasks share, for GradNorm: the one
    the architecture's builder declared as `shared_layer`."""
    name = getattr(model, "shared_layer", None)
    if not name:
        raise ValueError(
            f"GradNorm needs the last layer shared by all tasks, and model "
            f"'{model.name}' declares none (`single_task` shares nothing "
            f"unless built with share_embeddings=True). Pass "
            f"`shared_layer=<layer name>` to `MultiTaskModel`.")
    layer = model.get_layer(name)
    if not layer.trainable_weights:
        raise ValueError(
            f"GradNorm: the shared layer '{name}' of model '{model.name}' "
            f"has no trainable weights.")
    return layer


STRATEGIES = {cls.strategy: cls for cls in (
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
