"""Adaptive information transfer multi-task (AITM) model."""

from __future__ import annotations


from mtzoo import tasks as tasks_lib
from mtzoo.layers import MLP
from mtzoo.layers import AdaptiveInformationTransfer
from mtzoo.layers import CalibrationConstraint
from mtzoo.layers import validation
from mtzoo.models import blocks
from mtzoo.models.registry import register


@register("aitm")
def aitm(
    features,
    tasks,
    *,
    tower_units=(128, 64),
    activation="relu",
    dropout=0.0,
    calibration_weight=0.6,
    l2=0.0,
    embedding_l2=0.0,
    cross_layers=0,
    dot_interaction=0,
    wide=False,
    name="aitm",
):
    """AITM: multi-step conversion modelling with information transfer.

    For a funnel of binary tasks in order (e.g. `[click, purchase]` or
    `[click, add_to_cart, purchase]`), every task has a tower over the
    shared feature embeddings. From the second task on, an MLP transfers
    the previous task's representation and an attention module (AIT)
    decides how much of it to combine with the task's own tower output. A
    calibrator adds `calibration_weight * mean(max(p_t - p_{t-1}, 0))` to the
    loss, since a later step cannot be likelier than the one before it.

    Args:
        features: list of adapted feature specs.
        tasks: list of at least two binary task specs, in funnel order.
        tower_units: list of int. Each task's tower; the last size is the
            size of the transferred information. Defaults to `(128, 64)`.
        activation: str. Hidden activation. Defaults to `"relu"`.
        dropout: float. Dropout rate. Defaults to 0.
        calibration_weight: float. Strength of the calibration constraint
            (0 turns it off). Defaults to 0.6, as in the paper.
        l2: float. L2 penalty on dense kernels. Defaults to 0.
        embedding_l2: float. L2 penalty on embeddings. Defaults to 0.
        cross_layers: int. DCN-v2 cross layers (keras-rs `FeatureCross`)
            on the encoded features before the towers. Defaults to 0.
        dot_interaction: int. When > 0, every feature's encoding is
            projected to this size and their pairwise dot products
            (keras-rs `DotInteraction`, DLRM) join the encoded
            features. Defaults to 0 (off).
        wide: bool. Add a linear function of the shared input to each
            task's logit (Wide & Deep). Defaults to False.
        name: str. Model name.

    Returns:
        A `MultiTaskModel` with one probability output per task.

    Example:

    ```python
    tasks = [binary("click"), binary("purchase")]
    model = mtzoo.models.aitm(features, tasks)
    model.compile(optimizer="adam")
    model.fit(dataset, epochs=3)
    ```

    References:
        - [Xi et al., 2021](https://arxiv.org/abs/2105.08489): Modeling the
          Sequential Dependence among Audience Multi-step Conversions with
          Multi-task Learning in Targeted Display Advertising (KDD 2021).
    """
    features, tasks = blocks.check_schema(
        features, tasks, architecture="aitm", min_tasks=2)
    blocks.check_common(tower_units=tower_units, dropout=dropout, l2=l2,
                        embedding_l2=embedding_l2,
                        cross_layers=cross_layers, wide=wide,
                        dot_interaction=dot_interaction)
    tower_units = validation.positive_int_list(tower_units, "tower_units")
    validation.non_negative(calibration_weight, "calibration_weight")
    not_binary = [t.name for t in tasks
                  if not isinstance(t, tasks_lib.BinaryTask)]
    if not_binary:
        raise ValueError(
            f"AITM models a funnel of binary tasks; tasks {not_binary} are "
            f"not binary."
        )
    dim = tower_units[-1]
    reg = blocks.regularizer(l2)
    inputs = blocks.feature_inputs(features)
    x = blocks.encode(inputs, features, embedding_l2=embedding_l2,
                      cross_layers=cross_layers,
                      dot_interaction=dot_interaction, l2=l2)
    outputs = {}
    previous_z = previous_probability = None
    for task in tasks:
        z = blocks.tower(x, task, units=tower_units, activation=activation,
                         dropout=dropout, l2=l2)
        if previous_z is not None:
            transferred = MLP([dim], activation=activation,
                              kernel_regularizer=reg,
                              name=f"transfer_to_{task.name}")(previous_z)
            z = AdaptiveInformationTransfer(
                dim, kernel_regularizer=reg,
                name=f"information_transfer_{task.name}")([transferred, z])
        logit = blocks.logit(z, 1, l2=l2, name=f"logit_{task.name}",
                             wide=x if wide else None)
        if previous_probability is None:
            probability = blocks.activation(logit, "sigmoid", name=task.name)
        else:
            probability = blocks.activation(
                logit, "sigmoid", name=f"probability_{task.name}")
            probability = CalibrationConstraint(
                calibration_weight, dtype=blocks.OUTPUT_DTYPE,
                name=task.name)(
                    [previous_probability, probability])
        outputs[task.name] = probability
        previous_z, previous_probability = z, probability
    return blocks.build_model(features, inputs, outputs, tasks, name,
                              shared_layer="feature_encoder")
