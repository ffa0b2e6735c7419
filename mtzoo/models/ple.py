"""Progressive layered extraction (PLE)."""

from __future__ import annotations

import keras

from mtzoo.layers import validation
from mtzoo.models import blocks
from mtzoo.models.registry import register


@register("ple")
def ple(
    features,
    tasks,
    *,
    num_levels=2,
    num_shared_experts=2,
    num_task_experts=2,
    expert_units=(64,),
    gate_units=(),
    tower_units=(32,),
    activation="relu",
    dropout=0.0,
    l2=0.0,
    embedding_l2=0.0,
    cross_layers=0,
    dot_interaction=0,
    wide=False,
    name="ple",
):
    """Progressive layered extraction (PLE) multi-task model.

    Each extraction level (a customized gate control, CGC) has shared
    experts and experts of each task. Task `t`'s gate mixes its own experts
    with the shared ones; below the last level a shared gate mixes all
    experts into the input of the next level's shared experts. Separating
    shared and task-specific knowledge eases the "seesaw" where one task
    improves at another's expense.

    Gates are the layers `level_<l>_gate_<task>` and `level_<l>_gate_shared`
    (levels count from 1).

    Args:
        features: list of adapted feature specs.
        tasks: list of task specs.
        num_levels: int. Number of extraction levels. Defaults to 2.
        num_shared_experts: int. Shared experts per level. Defaults to 2.
        num_task_experts: int, or dict task name -> int. Experts of each
            task per level. Defaults to 2.
        expert_units: list of int. Each expert's MLP. Defaults to `(64,)`.
        gate_units: list of int. Hidden layers of the gates. Defaults to
            `()` (linear).
        tower_units: list of int. Each task's tower. Defaults to `(32,)`.
        activation: str. Hidden activation. Defaults to `"relu"`.
        dropout: float. Dropout rate. Defaults to 0.
        l2: float. L2 penalty on dense kernels. Defaults to 0.
        embedding_l2: float. L2 penalty on embeddings. Defaults to 0.
        cross_layers: int. DCN-v2 cross layers (keras-rs `FeatureCross`)
            on the encoded features before the experts. Defaults to 0.
        dot_interaction: int. When > 0, every feature's encoding is
            projected to this size and their pairwise dot products
            (keras-rs `DotInteraction`, DLRM) join the encoded
            features. Defaults to 0 (off).
        wide: bool. Add a linear function of the shared input to each
            task's logit (Wide & Deep). Defaults to False.
        name: str. Model name.

    Returns:
        A `MultiTaskModel` with one output per task.

    Example:

    ```python
    model = mtzoo.models.ple(features, tasks, num_levels=2)
    model.compile(optimizer="adam")
    model.fit(dataset, epochs=3)
    ```

    References:
        - [Tang et al., 2020](https://doi.org/10.1145/3383313.3412236):
          Progressive Layered Extraction (PLE): A Novel Multi-Task Learning
          (MTL) Model for Personalized Recommendations (RecSys 2020).
    """
    features, tasks = blocks.check_schema(
        features, tasks, architecture="ple")
    blocks.check_common(tower_units=tower_units, dropout=dropout, l2=l2,
                        embedding_l2=embedding_l2,
                        cross_layers=cross_layers, wide=wide,
                        dot_interaction=dot_interaction)
    validation.positive_int(num_levels, "num_levels")
    validation.positive_int(num_shared_experts, "num_shared_experts")
    task_experts = blocks.per_task(num_task_experts, tasks,
                                   "num_task_experts")
    for count in task_experts:
        validation.positive_int(count, "num_task_experts")
    validation.positive_int_list(expert_units, "expert_units")

    def bank(x, count, label):
        return blocks.experts(x, num_experts=count, units=expert_units,
                              activation=activation, dropout=dropout, l2=l2,
                              name=f"level_{level}_experts_{label}")

    def gate_and_mix(x, experts, count, label):
        return blocks.gated_mixture(
            x, experts, num_experts=count, gate_units=gate_units,
            activation=activation, l2=l2,
            gate_name=f"level_{level}_gate_{label}",
            mixture_name=f"level_{level}_mixture_{label}")

    inputs = blocks.feature_inputs(features)
    x = blocks.encode(inputs, features, embedding_l2=embedding_l2,
                      cross_layers=cross_layers,
                      dot_interaction=dot_interaction, l2=l2)
    shared_input = x
    task_inputs = [x] * len(tasks)
    shared_input = x
    for level in range(1, num_levels + 1):
        shared = bank(shared_input, num_shared_experts, "shared")
        own = [bank(task_x, count, task.name) for task_x, count, task
               in zip(task_inputs, task_experts, tasks)]
        next_task_inputs = []
        for task_x, task_own, count, task in zip(task_inputs, own,
                                                 task_experts, tasks):
            candidates = keras.layers.Concatenate(
                axis=1, name=f"level_{level}_candidates_{task.name}")(
                    [task_own, shared])
            next_task_inputs.append(gate_and_mix(
                task_x, candidates, count + num_shared_experts, task.name))
        if level < num_levels:
            everything = keras.layers.Concatenate(
                axis=1, name=f"level_{level}_candidates_shared")(
                    own + [shared])
            shared_input = gate_and_mix(
                shared_input, everything,
                sum(task_experts) + num_shared_experts, "shared")
        task_inputs = next_task_inputs
    outputs = blocks.tower_heads(
        task_inputs, tasks, tower_units=tower_units, activation=activation,
        dropout=dropout, l2=l2,
        wide_inputs=[shared_input] * len(tasks) if wide else None)
    return blocks.build_model(
        features, inputs, outputs, tasks, name,
        shared_layer=f"level_{num_levels}_experts_shared")
