"""Hard parameter sharing: one shared encoder, one tower per task."""

from __future__ import annotations

from mtzoo.layers import MLP
from mtzoo.layers import validation
from mtzoo import tasks as tasks_lib
from mtzoo.models import blocks
from mtzoo.models.registry import register


@register("shared_bottom")
def shared_bottom(
    features,
    tasks,
    *,
    bottom_units=(128, 64),
    tower_units=(32,),
    activation="relu",
    dropout=0.0,
    l2=0.0,
    embedding_l2=0.0,
    cross_layers=0,
    dot_interaction=0,
    wide=False,
    name="shared_bottom",
):
    """Shared-bottom multi-task model (hard parameter sharing).

    All tasks share the feature embeddings and a bottom MLP; each task has
    its own tower and head on top.

    Args:
        features: list of adapted feature specs.
        tasks: list of task specs.
        bottom_units: list of int. The shared MLP. Defaults to `(128, 64)`.
        tower_units: list of int. Each task's tower. Defaults to `(32,)`.
        activation: str. Hidden activation. Defaults to `"relu"`.
        dropout: float. Dropout rate in MLPs. Defaults to 0.
        l2: float. L2 penalty on dense kernels. Defaults to 0.
        embedding_l2: float. L2 penalty on embeddings. Defaults to 0.
        cross_layers: int. DCN-v2 cross layers (keras-rs `FeatureCross`)
            on the encoded features before the bottom. Defaults to 0.
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
    the bottom, which has seen the candidate's features.

    Returns:
        A `MultiTaskModel` with one output per task.

    Example:

    ```python
    model = mtzoo.models.shared_bottom(features, tasks, bottom_units=[64])
    model.compile(optimizer="adam")
    model.fit(dataset, epochs=3)
    ```

    References:
        - [Caruana, 1997](https://doi.org/10.1023/A:1007379606734):
          Multitask Learning.
    """
    features, tasks = blocks.check_schema(
        features, tasks, architecture="shared_bottom")
    blocks.check_common(tower_units=tower_units, dropout=dropout, l2=l2,
                        embedding_l2=embedding_l2,
                        cross_layers=cross_layers, wide=wide,
                        dot_interaction=dot_interaction)
    validation.positive_int_list(bottom_units, "bottom_units",
                                 allow_empty=True)
    inputs = blocks.feature_inputs(features)
    x, parts = blocks.encode_for_tasks(inputs, features, tasks,
                                       embedding_l2=embedding_l2,
                                       cross_layers=cross_layers,
                                       dot_interaction=dot_interaction, l2=l2)
    shared_input = x
    ranking = tasks_lib.ranking_tasks(tasks)
    outputs = {}
    if ranking:
        x = MLP(bottom_units, activation=activation, dropout=dropout,
                kernel_regularizer=blocks.regularizer(l2), name="bottom")(x)
        outputs = blocks.tower_heads(
            [x] * len(ranking), ranking, tower_units=tower_units,
            activation=activation, dropout=dropout, l2=l2,
            wide_inputs=[shared_input] * len(ranking) if wide else None)
    return blocks.build_with_retrieval(
        features, inputs, parts, tasks, outputs, name, shared_layer="bottom",
        units=tower_units, activation=activation, dropout=dropout, l2=l2)
