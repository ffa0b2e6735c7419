"""Two towers: retrieval with ranking heads on the pair's vectors."""

from __future__ import annotations

from mtzoo import tasks as tasks_lib
from mtzoo.models import blocks
from mtzoo.models.registry import register
from mtzoo.retrieval import towers


@register("two_tower")
def two_tower(
    features,
    tasks,
    *,
    tower_units=(64,),
    head_units=(64, 32),
    activation="relu",
    dropout=0.0,
    l2=0.0,
    embedding_l2=0.0,
    name="two_tower",
):
    """Two-tower retrieval model, with ranking tasks on the same towers.

    The first retrieval task's query tower (over user and context features)
    and candidate tower (over item features) each end in a vector; the
    retrieval task scores a candidate by the vectors' dot product and
    trains with in-batch softmax. Each ranking task (rating, click) reads
    both vectors side by side through its own MLP, as in the TensorFlow
    Recommenders multitask model: the towers and embedding tables are
    shared by every task. Further retrieval tasks get towers of their own.

    Args:
        features: list of adapted feature specs.
        tasks: list of task specs, at least one a retrieval task.
        tower_units: list of int. Hidden layers of each tower, before the
            linear layer of the task's `embedding_dim`. Defaults to `(64,)`.
        head_units: list of int. Each ranking task's MLP. Defaults to
            `(64, 32)`.
        activation: str. Hidden activation. Defaults to `"relu"`.
        dropout: float. Dropout rate. Defaults to 0.
        l2: float. L2 penalty on dense kernels. Defaults to 0.
        embedding_l2: float. L2 penalty on embeddings. Defaults to 0.
        name: str. Model name.

    Returns:
        A `MultiTaskModel` with one output per task.

    Example:

    ```python
    tasks = [mtzoo.tasks.retrieval("movie", candidate_features=["movie_id"]),
             mtzoo.tasks.regression("rating")]
    model = mtzoo.models.two_tower(features, tasks)
    ```

    References:
        - [Yi et al., 2019](https://doi.org/10.1145/3298689.3346996):
          Sampling-Bias-Corrected Neural Modeling for Large Corpus Item
          Recommendations (RecSys 2019).
    """
    features, tasks = blocks.check_schema(
        features, tasks, architecture="two_tower")
    blocks.check_common(tower_units=tower_units, dropout=dropout, l2=l2,
                        embedding_l2=embedding_l2)
    retrieval = tasks_lib.retrieval_tasks(tasks)
    if not retrieval:
        raise ValueError(
            "two_tower needs a retrieval task (`mtzoo.tasks.retrieval`); "
            "for ranking tasks alone use another architecture.")
    inputs = blocks.feature_inputs(features)
    _, parts = blocks.encode_for_tasks(inputs, features, tasks,
                                       embedding_l2=embedding_l2)
    outputs = {}
    pair = None
    for task in retrieval:
        vectors = towers.towers(
            parts, features, task, units=tower_units,
            activation=activation, dropout=dropout, l2=l2)
        outputs[task.name] = towers.head(vectors, inputs, features, task)
        if pair is None:
            pair = blocks.concatenate(
                {"query": vectors.query, "candidate": vectors.candidate},
                ["query", "candidate"], "pair")
    for task in tasks_lib.ranking_tasks(tasks):
        x = blocks.tower(pair, task, units=head_units, activation=activation,
                         dropout=dropout, l2=l2)
        outputs[task.name] = blocks.head(x, task, l2=l2)
    return blocks.build_model(
        features, inputs, {t.name: outputs[t.name] for t in tasks}, tasks,
        name, shared_layer="feature_encoder")
