"""Multi-gate mixture of experts (MMoE)."""

from __future__ import annotations

from mtzoo.layers import validation
from mtzoo import tasks as tasks_lib
from mtzoo.models import blocks
from mtzoo.models.registry import register


@register("mmoe")
def mmoe(
    features,
    tasks,
    *,
    num_experts=8,
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
    name="mmoe",
):
    """Multi-gate mixture-of-experts (MMoE) multi-task model.

    A set of experts reads the shared input; each task has its own softmax
    gate that weighs the experts per example, so tasks that conflict can
    rely on different experts while related tasks share them. Task `t`'s
    gate is the layer `gate_<t>`.

    Args:
        features: list of adapted feature specs.
        tasks: list of task specs.
        num_experts: int. Number of experts. Defaults to 8.
        expert_units: list of int. Each expert's MLP. Defaults to `(64,)`.
        gate_units: list of int. Hidden layers of each gate. Defaults to
            `()` (linear, as in the paper).
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

    Retrieval tasks (`mtzoo.tasks.retrieval`) get a query tower and a
    candidate tower of `tower_units` over their features' encodings, sharing
    the embedding tables with the ranking tasks; the query tower never reads
    the experts, which has seen the candidate's features.

    Returns:
        A `MultiTaskModel` with one output per task.

    Example:

    ```python
    model = mtzoo.models.mmoe(features, tasks, num_experts=8)
    model.compile(optimizer="adam")
    model.fit(dataset, epochs=3)
    mtzoo.models.gate_weights(model, batch)  # {"gate_ctr": ..., ...}
    ```

    References:
        - [Ma et al., 2018](https://doi.org/10.1145/3219819.3220007):
          Modeling Task Relationships in Multi-task Learning with
          Multi-gate Mixture-of-Experts (KDD 2018).
    """
    features, tasks = blocks.check_schema(
        features, tasks, architecture="mmoe")
    blocks.check_common(tower_units=tower_units, dropout=dropout, l2=l2,
                        embedding_l2=embedding_l2,
                        cross_layers=cross_layers, wide=wide,
                        dot_interaction=dot_interaction)
    validation.positive_int(num_experts, "num_experts")
    inputs = blocks.feature_inputs(features)
    x, parts = blocks.encode_for_tasks(inputs, features, tasks,
                                       embedding_l2=embedding_l2,
                                       cross_layers=cross_layers,
                                       dot_interaction=dot_interaction, l2=l2)
    ranking = tasks_lib.ranking_tasks(tasks)
    outputs = {}
    if ranking:
        experts = blocks.experts(x, num_experts=num_experts,
                                 units=expert_units, activation=activation,
                                 dropout=dropout, l2=l2)
        mixed = [
            blocks.gated_mixture(
                x, experts, num_experts=num_experts, gate_units=gate_units,
                activation=activation, l2=l2, gate_name=f"gate_{task.name}",
                mixture_name=f"mixture_{task.name}")
            for task in ranking
        ]
        outputs = blocks.tower_heads(
            mixed, ranking, tower_units=tower_units, activation=activation,
            dropout=dropout, l2=l2,
            wide_inputs=[x] * len(ranking) if wide else None)
    return blocks.build_with_retrieval(
        features, inputs, parts, tasks, outputs, name, shared_layer="experts",
        units=tower_units, activation=activation, dropout=dropout, l2=l2)
