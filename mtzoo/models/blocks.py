"""Pieces every architecture builder uses: inputs, encoder, towers, heads."""

from __future__ import annotations

import warnings
from typing import Sequence

import keras

from mtzoo import catalog
from mtzoo import features as features_lib
from mtzoo import tasks as tasks_lib
from mtzoo.keras_rs_import import keras_rs
from mtzoo.layers import MLP
from mtzoo.layers import ExpertBank
from mtzoo.layers import ExpertMixture
from mtzoo.layers import FeatureEncoder
from mtzoo.layers import LabelScale
from mtzoo.layers import SoftmaxGate
from mtzoo.layers import validation
from mtzoo.models.multitask_model import MultiTaskModel
from mtzoo.retrieval import towers


def check_schema(features, tasks, *, architecture: str | None,
                 min_tasks: int = 1):
    """Validates specs and returns them as lists.

    Retrieval tasks are refused unless `architecture` (a name of
    `mtzoo.catalog.ARCHITECTURES`) takes them. Besides each list's own
    checks, a feature must not read a task's label column or weight column
    (that would leak the label into the input).
    """
    features = features_lib.validate(features)
    features_lib.check_adapted(features)
    tasks = tasks_lib.validate(tasks)
    retrieval_tasks = [t.name for t in tasks_lib.retrieval_tasks(tasks)]
    if retrieval_tasks and not (
            architecture and catalog.architecture(architecture).retrieval):
        raise ValueError(
            f"Tasks {retrieval_tasks} are retrieval tasks; "
            f"{architecture or 'this model'} does not build them. Use one "
            f"of {list(catalog.RETRIEVAL_ARCHITECTURES)}.")
    if len(tasks) < min_tasks:
        raise ValueError(
            f"This architecture needs at least {min_tasks} tasks. "
            f"Received {len(tasks)}: {[t.name for t in tasks]}"
        )
    names = {f.name: f for f in features}
    for task in tasks_lib.retrieval_tasks(tasks):
        towers.check_features(task, names)
    for task in tasks:
        retrieves = isinstance(task, tasks_lib.RetrievalTask)
        for column, role in ((task.label_column, "label"),
                             (task.weight_column, "weight")):
            if role == "label" and retrieves:
                continue  # the candidate id: the candidate tower reads it
            # A space column (e.g. click for CVR) may well be a feature.
            leaking = [f.name for f in features if f.source == column]
            if column and leaking:
                raise ValueError(
                    f"Feature {leaking[0]!r} reads column '{column}', the "
                    f"{role} column of task '{task.name}'. Remove it from "
                    f"the features: a model must not see its label."
                )
    unadapted = [t.name for t in tasks if t.needs_adapt]
    if unadapted:
        warnings.warn(
            f"Tasks {unadapted} have label statistics still to learn "
            f"(regression: the mean and scale the model trains in, so "
            f"without them it trains on raw labels; balanced classes: the "
            f"class weights, ignored without them). Call "
            f"`tasks = mtzoo.tasks.adapt(tasks, train_frame)` before "
            f"building (or pass standardize=False to train a regression "
            f"task on its labels as they are).", UserWarning, stacklevel=3)
    names = {f.name for f in features} & {t.name for t in tasks}
    if names:
        raise ValueError(
            f"Names {sorted(names)} are used by both a feature and a task; "
            f"inputs and outputs need distinct names."
        )
    return features, tasks


def check_common(*, tower_units, dropout, l2, embedding_l2, cross_layers=0,
                 wide=False, dot_interaction=0):
    """Validates the hyperparameters shared by every builder."""
    validation.positive_int_list(tower_units, "tower_units", allow_empty=True)
    validation.rate(dropout, "dropout")
    validation.non_negative(l2, "l2")
    validation.non_negative(embedding_l2, "embedding_l2")
    validation.non_negative_int(cross_layers, "cross_layers")
    validation.non_negative_int(dot_interaction, "dot_interaction")
    if not isinstance(wide, bool):
        raise ValueError(f"`wide` must be True or False. Received: "
                         f"wide={wide!r}")


def feature_inputs(features) -> dict[str, keras.KerasTensor]:
    """One named `keras.Input` per feature, taking its encoded values (what
    `mtzoo.data` pipelines and `mtzoo.layers.FeaturePreprocessor` give)."""
    return {
        spec.name: keras.Input(
            shape=spec.encoded_shape(), dtype=spec.encoded_dtype(),
            name=spec.name)
        for spec in features
    }


def regularizer(l2: float):
    return keras.regularizers.L2(l2) if l2 else None


def encode(inputs, features, *, embedding_l2=0.0, cross_layers=0,
           dot_interaction=0, l2=0.0, name="feature_encoder"):
    """Encodes the encoded inputs into one dense vector with a
    `FeatureEncoder`, crossed by `cross_layers` DCN-v2 layers, beside the
    features' pairwise dot products when `dot_interaction` > 0."""
    suffix = name[len("feature_encoder"):]
    if not dot_interaction:
        encoder = FeatureEncoder(
            features, embeddings_regularizer=regularizer(embedding_l2),
            name=name)
        return cross(encoder(inputs), cross_layers, l2=l2,
                     name=f"feature_cross{suffix}")
    parts = encode_per_feature(inputs, features, embedding_l2=embedding_l2,
                               name=name)
    return interact(parts, [f.name for f in features],
                    cross_layers=cross_layers,
                    dot_interaction=dot_interaction, l2=l2, suffix=suffix)


def encode_per_feature(inputs, features, *, embedding_l2=0.0,
                       name="feature_encoder", positions=()) -> dict:
    """Each feature's encoding by name, through one `FeatureEncoder` (its
    embedding tables shared by whatever reads the parts), with the
    every-position vectors of the sequences in `positions`."""
    return FeatureEncoder(
        features, embeddings_regularizer=regularizer(embedding_l2),
        per_feature=True, positions=positions, name=name)(inputs)


def encode_for_tasks(inputs, features, tasks, *, embedding_l2=0.0,
                     cross_layers=0, dot_interaction=0, l2=0.0,
                     name="feature_encoder"):
    """`(x, parts)`: every feature's encoding concatenated (and crossed),
    and, when a task is a retrieval task, each feature's encoding by name
    (its towers read subsets through the same embedding tables); parts is
    None otherwise."""
    if not tasks_lib.retrieval_tasks(tasks):
        return encode(inputs, features, embedding_l2=embedding_l2,
                      cross_layers=cross_layers,
                      dot_interaction=dot_interaction, l2=l2,
                      name=name), None
    positions = sorted({t.sequence for t in tasks_lib.retrieval_tasks(tasks)
                        if t.sequence})
    parts = encode_per_feature(inputs, features, embedding_l2=embedding_l2,
                               name=name, positions=positions)
    return interact(parts, [f.name for f in features],
                    cross_layers=cross_layers,
                    dot_interaction=dot_interaction, l2=l2), parts


def interact(parts: dict, names, *, cross_layers, dot_interaction, l2,
             suffix=""):
    """The features' encodings side by side, crossed (`cross`), beside
    their pairwise dot products when `dot_interaction` > 0 (`dot_products`).
    """
    x = concatenate(parts, names, f"all_features{suffix}")
    x = cross(x, cross_layers, l2=l2, name=f"feature_cross{suffix}")
    if not dot_interaction:
        return x
    products = dot_products(parts, names, dot_interaction, l2=l2,
                            name=f"dot_interaction{suffix}")
    return keras.layers.Concatenate(name=f"interactions{suffix}")(
        [x, products])


def dot_products(parts: dict, names, size: int, *, l2=0.0,
                 name="dot_interaction"):
    """Each feature's encoding projected to `size`, then the dot product of
    every pair of features (DLRM's interaction): a user-item affinity that
    is an inner product of latent factors is one of these numbers, which an
    MLP over concatenated embeddings approximates poorly.

    References:
        - [Naumov et al., 2019](https://arxiv.org/abs/1906.00091): Deep
          Learning Recommendation Model for Personalization and
          Recommendation Systems (DLRM).
    """
    if len(names) < 2:
        raise ValueError(
            f"`dot_interaction` needs at least two features to pair; the "
            f"model has {len(names)}: {list(names)}.")
    DotInteraction = keras_rs().layers.DotInteraction
    projected = [keras.layers.Dense(size, kernel_regularizer=regularizer(l2),
                                    name=f"{name}_{n}")(parts[n])
                 for n in names]
    return DotInteraction(name=name)(projected)


def cross(x, layers: int, *, l2=0.0, name="feature_cross"):
    """`layers` keras-rs `FeatureCross` layers over `x` (DCN-v2's cross
    network: `x_{l+1} = x_0 * (W x_l + b) + x_l`), explicit feature
    interactions of growing degree before the deep part; `x` when 0.

    References:
        - [Wang et al., 2021](https://arxiv.org/abs/2008.13535): DCN V2:
          Improved Deep & Cross Network (WWW 2021).
    """
    if not layers:
        return x
    FeatureCross = keras_rs().layers.FeatureCross
    x0 = x
    for i in range(layers):
        x = FeatureCross(kernel_regularizer=regularizer(l2),
                         name=f"{name}_{i + 1}")(x0, x)
    return x


def concatenate(parts: dict, names, name: str):
    """The named encodings side by side."""
    if len(names) == 1:
        return parts[names[0]]
    return keras.layers.Concatenate(name=name)([parts[n] for n in names])


def build_with_retrieval(features, inputs, parts, tasks, ranking_outputs,
                         name, *, shared_layer, units, activation, dropout,
                         l2) -> MultiTaskModel:
    """The model of a ranking architecture given its ranking tasks'
    outputs, with the towers of its retrieval tasks added (GradNorm's
    shared layer is the feature encoder when every task is retrieval)."""
    outputs = dict(ranking_outputs)
    outputs.update(towers.outputs(
        parts, inputs, features, tasks, units=units, activation=activation,
        dropout=dropout, l2=l2))
    return build_model(
        features, inputs, {t.name: outputs[t.name] for t in tasks}, tasks,
        name, shared_layer=shared_layer if ranking_outputs
        else "feature_encoder")


def experts(x, *, num_experts, units, activation, dropout, l2,
            name="experts"):
    """A bank of `num_experts` expert MLPs: `(batch, experts, units[-1])`."""
    return ExpertBank(num_experts, units, activation=activation,
                      dropout=dropout, kernel_regularizer=regularizer(l2),
                      first_layer="inputs_first", name=name)(x)


def gated_mixture(gate_input, expert_outputs, *, num_experts, gate_units,
                  activation, l2, gate_name, mixture_name):
    """Mixes expert outputs with a softmax gate over `gate_input`."""
    weights = SoftmaxGate(num_experts, units=gate_units,
                          activation=activation,
                          kernel_regularizer=regularizer(l2),
                          name=gate_name)(gate_input)
    return ExpertMixture(name=mixture_name)([expert_outputs, weights])


def tower(x, task, *, units, activation, dropout, l2, name=None):
    """The task-specific MLP on top of the shared part."""
    return MLP(units, activation=activation, dropout=dropout,
               kernel_regularizer=regularizer(l2),
               name=name or f"tower_{task.name}")(x)


# Output layers compute in float32 under a mixed-precision policy: logits
# and probabilities in float16 lose the resolution losses and metrics need.
OUTPUT_DTYPE = "float32"


def logit(x, units, *, l2=0.0, name, wide=None):
    """A float32 `Dense` output layer (logits or a regression value); with
    `wide`, plus a linear function of it (the wide part of Wide & Deep,
    Cheng et al., DLRS 2016), so mostly linear relations need no hidden
    layer to pass through."""
    deep = keras.layers.Dense(units, kernel_regularizer=regularizer(l2),
                              dtype=OUTPUT_DTYPE, name=name)(x)
    if wide is None:
        return deep
    linear = keras.layers.Dense(units, kernel_regularizer=regularizer(l2),
                                use_bias=False, dtype=OUTPUT_DTYPE,
                                name=f"wide_{name}")(wide)
    return keras.layers.Add(dtype=OUTPUT_DTYPE,
                            name=f"{name}_with_wide")([deep, linear])


def activation(x, function, *, name):
    """A float32 output activation."""
    return keras.layers.Activation(function, dtype=OUTPUT_DTYPE,
                                   name=name)(x)


def head(x, task, *, l2=0.0, wide=None):
    """The task's output layer, named after the task (plus a linear
    function of `wide` when given).

    Returns probabilities for binary and multiclass tasks and the value for
    regression tasks, in float32.
    """
    logits = logit(x, task.output_units, l2=l2, name=f"logit_{task.name}",
                   wide=wide)
    if task.label_scaling is not None:
        mean, scale, log_transform = task.label_scaling
        return LabelScale(mean, scale, log_transform, dtype=OUTPUT_DTYPE,
                          name=task.name)(logits)
    return activation(logits, task.activation, name=task.name)


def tower_heads(per_task_inputs: Sequence, tasks, *, tower_units, activation,
                dropout, l2, wide_inputs: Sequence | None = None) -> dict:
    """One tower and head per task over that task's input tensor; with
    `wide_inputs` (one per task), each logit adds a linear function of its
    wide input."""
    outputs = {}
    wide_inputs = wide_inputs or [None] * len(tasks)
    for x, task, wide in zip(per_task_inputs, tasks, wide_inputs):
        x = tower(x, task, units=tower_units, activation=activation,
                  dropout=dropout, l2=l2)
        outputs[task.name] = head(x, task, l2=l2, wide=wide)
    return outputs


def build_model(features, inputs, outputs, tasks, name, *,
                shared_layer: str | None) -> MultiTaskModel:
    """The model; `shared_layer` names the last layer every task shares
    (GradNorm balances gradients there), None when nothing is shared."""
    return MultiTaskModel(inputs=inputs, outputs=outputs, tasks=tasks,
                          features=features, shared_layer=shared_layer,
                          name=name)


def per_task(value, tasks, arg_name: str) -> list:
    """Expands a value given once (or as a list per task) to one per task."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - {t.name for t in tasks})
        if unknown:
            raise ValueError(
                f"`{arg_name}` names unknown tasks {unknown}.")
        missing = [t.name for t in tasks if t.name not in value]
        if missing:
            raise ValueError(
                f"`{arg_name}` has no entry for tasks {missing}.")
        return [value[t.name] for t in tasks]
    return [value] * len(tasks)
