"""Independent networks per task: the no-sharing baseline."""

from __future__ import annotations

from mtzoo.layers import MLP
from mtzoo.layers import validation
from mtzoo.models import blocks
from mtzoo.models.registry import register


@register("single_task")
def single_task(
    features,
    tasks,
    *,
    hidden_units=(128, 64),
    tower_units=(32,),
    activation="relu",
    dropout=0.0,
    l2=0.0,
    embedding_l2=0.0,
    share_embeddings=False,
    cross_layers=0,
    dot_interaction=0,
    wide=False,
    name="single_task",
):
    """One independent network per task, trained together for convenience.

    Every task has its own feature embeddings (unless `share_embeddings`)
    and its own MLP; nothing else is shared. The baseline that tells whether
    sharing helps.

    Args:
        features: list of adapted feature specs.
        tasks: list of task specs.
        hidden_units: list of int. Each task's MLP below its tower.
            Defaults to `(128, 64)`.
        tower_units: list of int. Each task's tower. Defaults to `(32,)`.
        activation: str. Hidden activation. Defaults to `"relu"`.
        dropout: float. Dropout rate in MLPs. Defaults to 0.
        l2: float. L2 penalty on dense kernels. Defaults to 0.
        embedding_l2: float. L2 penalty on embeddings. Defaults to 0.
        cross_layers: int. DCN-v2 cross layers (keras-rs `FeatureCross`)
            on the encoded features before the networks. Defaults to 0.
        dot_interaction: int. When > 0, every feature's encoding is
            projected to this size and their pairwise dot products
            (keras-rs `DotInteraction`, DLRM) join the encoded
            features. Defaults to 0 (off).
        wide: bool. Add a linear function of the encoded features to each
            task's logit (Wide & Deep). Defaults to False.
        share_embeddings: bool. Use one encoder for all tasks. Defaults to
            False.
        name: str. Model name.

    Returns:
        A `MultiTaskModel` with one output per task.

    Example:

    ```python
    model = mtzoo.models.single_task(features, tasks)
    model.compile(optimizer="adam")
    model.fit(dataset, epochs=3)
    ```
    """
    features, tasks = blocks.check_schema(
        features, tasks, architecture="single_task")
    blocks.check_common(tower_units=tower_units, dropout=dropout, l2=l2,
                        embedding_l2=embedding_l2,
                        cross_layers=cross_layers, wide=wide,
                        dot_interaction=dot_interaction)
    validation.positive_int_list(hidden_units, "hidden_units",
                                 allow_empty=True)
    inputs = blocks.feature_inputs(features)
    shared = (blocks.encode(inputs, features, embedding_l2=embedding_l2,
                            cross_layers=cross_layers,
                            dot_interaction=dot_interaction, l2=l2)
              if share_embeddings else None)
    per_task, encoded = [], []
    for task in tasks:
        x = shared if shared is not None else blocks.encode(
            inputs, features, embedding_l2=embedding_l2,
            cross_layers=cross_layers,
            dot_interaction=dot_interaction, l2=l2,
            name=f"feature_encoder_{task.name}")
        encoded.append(x)
        x = MLP(hidden_units, activation=activation, dropout=dropout,
                kernel_regularizer=blocks.regularizer(l2),
                name=f"network_{task.name}")(x)
        per_task.append(x)
    if shared is not None:
        encoded = [shared] * len(tasks)
    outputs = blocks.tower_heads(
        per_task, tasks, tower_units=tower_units, activation=activation,
        dropout=dropout, l2=l2, wide_inputs=encoded if wide else None)
    return blocks.build_model(
        features, inputs, outputs, tasks, name,
        shared_layer="feature_encoder" if share_embeddings else None)
