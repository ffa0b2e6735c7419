"""One-gate mixture of experts."""

from __future__ import annotations

from mtzoo.layers import validation
from mtzoo.models import blocks
from mtzoo.models.registry import register


@register("omoe")
def omoe(
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
    name="omoe",
):
    """One-gate mixture-of-experts (OMoE) multi-task model.

    Experts share the input; one softmax gate mixes them into a single
    representation that every task tower reads. The baseline of the MMoE
    paper between shared-bottom and MMoE. The gate is the layer `gate`.

    Args:
        features: list of adapted feature specs.
        tasks: list of task specs.
        num_experts: int. Number of experts. Defaults to 8.
        expert_units: list of int. Each expert's MLP. Defaults to `(64,)`.
        gate_units: list of int. Hidden layers of the gate. Defaults to
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
    model = mtzoo.models.omoe(features, tasks, num_experts=4)
    model.compile(optimizer="adam")
    model.fit(dataset, epochs=3)
    ```

    References:
        - [Ma et al., 2018](https://doi.org/10.1145/3219819.3220007):
          Modeling Task Relationships in Multi-task Learning with
          Multi-gate Mixture-of-Experts.
    """
    features, tasks = blocks.check_schema(
        features, tasks, architecture="omoe")
    blocks.check_common(tower_units=tower_units, dropout=dropout, l2=l2,
                        embedding_l2=embedding_l2,
                        cross_layers=cross_layers, wide=wide,
                        dot_interaction=dot_interaction)
    validation.positive_int(num_experts, "num_experts")
    inputs = blocks.feature_inputs(features)
    x = blocks.encode(inputs, features, embedding_l2=embedding_l2,
                      cross_layers=cross_layers,
                      dot_interaction=dot_interaction, l2=l2)
    experts = blocks.experts(x, num_experts=num_experts, units=expert_units,
                             activation=activation, dropout=dropout, l2=l2)
    mixed = blocks.gated_mixture(
        x, experts, num_experts=num_experts, gate_units=gate_units,
        activation=activation, l2=l2, gate_name="gate",
        mixture_name="mixture")
    outputs = blocks.tower_heads(
        [mixed] * len(tasks), tasks, tower_units=tower_units,
        activation=activation, dropout=dropout, l2=l2,
        wide_inputs=[x] * len(tasks) if wide else None)
    return blocks.build_model(features, inputs, outputs, tasks, name,
                              shared_layer="experts")
