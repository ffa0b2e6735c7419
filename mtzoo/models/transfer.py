"""Transfer: new tasks on the feature encoder and shared part of a trained
model."""

from __future__ import annotations

import keras

from mtzoo import tasks as tasks_lib
from mtzoo.models import blocks
from mtzoo.models.multitask_model import MultiTaskModel

#: What `transfer` can keep fixed.
FREEZE = ("shared", "encoder", "none")


def _copy(model: MultiTaskModel) -> MultiTaskModel:
    """An independent copy of a trained model (new layers, same weights)."""
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def transfer(trained: MultiTaskModel, tasks, *, freeze: str = "shared",
             tower_units=(32,), gate_units=(), activation="relu",
             dropout=0.0, l2=0.0, name=None) -> MultiTaskModel:
    """A model for `tasks` that reuses a trained model's shared part.

    The new model reads the same raw features through a copy of the
    trained model's feature encoder (embeddings, and any pretrained text
    encoder) and shared part (the shared bottom, the experts, or the
    encoder itself, whichever is its `shared_layer`). Each task the trained
    model already has keeps its trained tower and head; every other task
    gets a new tower (`tower_units`) over the shared part, and, when the
    shared part is a bank of experts (MMoE, OMoE, PLE, attention-gated
    experts), a new softmax gate over those experts first. The trained
    model is left unchanged.

    Args:
        trained: an mtzoo model (`mtzoo.models.MultiTaskModel`).
        tasks: the new model's tasks: new ones, and names of the trained
            model's tasks to keep.
        freeze: `"shared"` (default): the feature encoder and the shared
            part do not train; `"encoder"`: only the feature encoder is
            fixed; `"none"`: everything fine-tunes from the trained values.
        tower_units: units of each new task's tower.
        gate_units: hidden units of new gates over experts.
        activation, dropout, l2: of the new towers and gates.
        name: the new model's name. Defaults to `<trained>_transfer`.

    Returns:
        An uncompiled `MultiTaskModel` (its `.keras` file loads like any
        other).

    Example:

    ```python
    income = mtzoo.models.mmoe(features, [mtzoo.tasks.binary("income")])
    income.fit(...)
    marital = mtzoo.models.transfer(
        income, [mtzoo.tasks.binary("marital")], freeze="shared")
    ```

    References:
        - [Caruana, 1997](https://doi.org/10.1023/A:1007379606734):
          Multitask Learning (a shared representation serves new tasks).
    """
    if freeze not in FREEZE:
        raise ValueError(f"`freeze` must be one of {FREEZE}. Received: "
                         f"freeze={freeze!r}")
    tasks = tasks_lib.validate(tasks)
    if tasks_lib.retrieval_tasks(tasks):
        raise ValueError("transfer builds ranking tasks; build retrieval "
                         "tasks with their architecture.")
    if not trained.shared_layer:
        raise ValueError(
            f"Model '{trained.name}' shares no layer between its tasks "
            f"(shared_layer is None); there is nothing to transfer.")
    _, tasks = blocks.check_schema(trained.features, tasks,
                                architecture=None)
    copy = _copy(trained)
    existing = {t.name: t for t in copy.tasks}
    encoder = copy.get_layer("feature_encoder")
    encoded = encoder.output
    if isinstance(encoded, dict):  # per-feature encodings (retrieval)
        encoded = blocks.concatenate(encoded, [f.name for f in copy.features],
                                     "transfer_features")
    shared = copy.get_layer(copy.shared_layer).output
    outputs = {}
    for task in tasks:
        if task.name in existing:
            if existing[task.name] != task:
                raise ValueError(
                    f"Task '{task.name}' differs from the trained model's "
                    f"task of that name; rename the new task.")
            outputs[task.name] = copy.get_layer(task.name).output
            continue
        x = shared
        if len(shared.shape) == 3:  # a bank of experts: a new gate
            x = blocks.gated_mixture(
                encoded, shared, num_experts=shared.shape[1],
                gate_units=gate_units, activation=activation, l2=l2,
                gate_name=f"gate_{task.name}",
                mixture_name=f"mixture_{task.name}")
        x = blocks.tower(x, task, units=tower_units, activation=activation,
                         dropout=dropout, l2=l2)
        outputs[task.name] = blocks.head(x, task, l2=l2)
    frozen = {"shared": _shared_layers(copy), "encoder": [encoder],
              "none": []}[freeze]
    for layer in frozen:
        layer.trainable = False
    return MultiTaskModel(
        inputs=copy.inputs, outputs={t.name: outputs[t.name] for t in tasks},
        tasks=tasks, features=copy.features,
        shared_layer=copy.shared_layer,
        name=name or f"{trained.name}_transfer")


def _shared_layers(model: MultiTaskModel) -> list:
    """The layers from the inputs up to the shared layer: what every task
    of `model` reads."""
    path = keras.Model(model.inputs,
                       model.get_layer(model.shared_layer).output)
    return [layer for layer in path.layers
            if not isinstance(layer, keras.layers.InputLayer)]
