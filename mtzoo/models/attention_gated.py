"""Experts mixed by per-task scaled dot-product attention."""

from __future__ import annotations

from mtzoo.layers import ExpertAttentionGate
from mtzoo.layers import ExpertMixture
from mtzoo.layers import validation
from mtzoo.models import blocks
from mtzoo.models.registry import register


@register("attention_gated")
def attention_gated(
    features,
    tasks,
    *,
    num_experts=8,
    expert_units=(64,),
    num_heads=2,
    key_dim=16,
    tower_units=(32,),
    activation="relu",
    dropout=0.0,
    l2=0.0,
    embedding_l2=0.0,
    cross_layers=0,
    dot_interaction=0,
    wide=False,
    name="attention_gated",
):
    """Mixture of experts with attention gates instead of softmax gates.

    Like MMoE, experts are shared and each task mixes them; but each task's
    gate is scaled dot-product attention: a query computed from the input
    (plus a learned task bias) is compared with keys computed from every
    expert's output, so the weights depend on what the experts produced,
    not on the input alone. With several heads a task mixes the experts in
    several ways at once; the heads' mixtures are concatenated. Task `t`'s
    attention weights are the output of the layer `gate_<t>`, shaped
    `(batch, num_heads, num_experts)`.

    Args:
        features: list of adapted feature specs.
        tasks: list of task specs.
        num_experts: int. Number of experts. Defaults to 8.
        expert_units: list of int. Each expert's MLP. Defaults to `(64,)`.
        num_heads: int. Attention heads per task. Defaults to 2.
        key_dim: int. Query/key size per head. Defaults to 16.
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
    model = mtzoo.models.attention_gated(features, tasks, num_heads=2)
    model.compile(optimizer="adam")
    model.fit(dataset, epochs=3)
    ```

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762):
          scaled dot-product attention.
        - [Ma et al., 2018](https://doi.org/10.1145/3219819.3220007): MMoE,
          the softmax-gated counterpart.
    """
    features, tasks = blocks.check_schema(
        features, tasks, architecture="attention_gated")
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
    mixed = []
    for task in tasks:
        weights = ExpertAttentionGate(
            num_heads=num_heads, key_dim=key_dim,
            kernel_regularizer=blocks.regularizer(l2),
            name=f"gate_{task.name}")([x, experts])
        mixed.append(ExpertMixture(name=f"mixture_{task.name}")(
            [experts, weights]))
    outputs = blocks.tower_heads(
        mixed, tasks, tower_units=tower_units, activation=activation,
        dropout=dropout, l2=l2, wide_inputs=[x] * len(tasks) if wide else None)
    return blocks.build_model(features, inputs, outputs, tasks, name,
                              shared_layer="experts")
