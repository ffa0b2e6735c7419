"""Entire space multi-task model (ESMM)."""

from __future__ import annotations

import keras

from mtzoo import tasks as tasks_lib
from mtzoo.features import check_name
from mtzoo.models import blocks
from mtzoo.models.registry import register


@register("esmm")
def esmm(
    features,
    tasks,
    *,
    ctr_task="ctr",
    ctcvr_task="ctcvr",
    cvr_output="cvr",
    tower_units=(128, 64),
    activation="relu",
    dropout=0.0,
    l2=0.0,
    embedding_l2=0.0,
    cross_layers=0,
    dot_interaction=0,
    wide=False,
    name="esmm",
):
    """ESMM: post-click conversion rate learned over the entire space.

    CVR models trained on clicked impressions only suffer from sample
    selection bias and sparse data. ESMM predicts `pCTR` and `pCVR` with two
    towers over shared embeddings and trains `pCTCVR = pCTR * pCVR` on all
    impressions, with the click label for CTR and the click-and-convert
    label for CTCVR; `pCVR` is learned implicitly.

    The model has three outputs: `ctr_task`, `cvr_output` and `ctcvr_task`.
    The tasks must include binary tasks named `ctr_task` and `ctcvr_task`;
    a binary task named `cvr_output` is optional (it adds a direct CVR loss,
    usually restricted to clicked impressions by its sample weights).

    Args:
        features: list of adapted feature specs.
        tasks: list of task specs (see above).
        ctr_task: str. Name of the click task. Defaults to `"ctr"`.
        ctcvr_task: str. Name of the click-and-convert task. Defaults to
            `"ctcvr"`.
        cvr_output: str. Name of the conversion-rate output. Defaults to
            `"cvr"`.
        tower_units: list of int. CTR and CVR towers. Defaults to
            `(128, 64)`.
        activation: str. Hidden activation. Defaults to `"relu"`.
        dropout: float. Dropout rate. Defaults to 0.
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
        A `MultiTaskModel` with outputs `ctr`, `cvr` and `ctcvr`.

    Example:

    ```python
    tasks = [binary("ctr", label="click"), binary("ctcvr", label="buy")]
    model = mtzoo.models.esmm(features, tasks)
    model.compile(optimizer="adam")
    model.fit(dataset, epochs=3)
    ```

    References:
        - [Ma et al., 2018](https://arxiv.org/abs/1804.07931): Entire Space
          Multi-Task Model: An Effective Approach for Estimating
          Post-Click Conversion Rate (SIGIR 2018).
    """
    features, tasks = blocks.check_schema(
        features, tasks, architecture="esmm")
    blocks.check_common(tower_units=tower_units, dropout=dropout, l2=l2,
                        embedding_l2=embedding_l2,
                        cross_layers=cross_layers, wide=wide,
                        dot_interaction=dot_interaction)
    for arg_name, value in (("ctr_task", ctr_task),
                            ("ctcvr_task", ctcvr_task),
                            ("cvr_output", cvr_output)):
        check_name(value, f"`{arg_name}`")
    if len({ctr_task, ctcvr_task, cvr_output}) != 3:
        raise ValueError(
            "`ctr_task`, `ctcvr_task` and `cvr_output` must differ. "
            f"Received: {ctr_task!r}, {ctcvr_task!r}, {cvr_output!r}"
        )
    by_name = {t.name: t for t in tasks}
    for required in (ctr_task, ctcvr_task):
        if required not in by_name:
            raise ValueError(
                f"ESMM needs a binary task named '{required}'. Received "
                f"tasks: {sorted(by_name)}. Name your tasks so, or pass "
                f"`ctr_task=`/`ctcvr_task=`."
            )
    extra = sorted(set(by_name) - {ctr_task, ctcvr_task, cvr_output})
    if extra:
        raise ValueError(
            f"ESMM predicts '{ctr_task}', '{cvr_output}' and '{ctcvr_task}' "
            f"only; tasks {extra} have no output."
        )
    not_binary = [n for n, t in by_name.items()
                  if not isinstance(t, tasks_lib.BinaryTask)]
    if not_binary:
        raise ValueError(f"ESMM tasks must be binary; {not_binary} are not.")

    inputs = blocks.feature_inputs(features)
    x = blocks.encode(inputs, features, embedding_l2=embedding_l2,
                      cross_layers=cross_layers,
                      dot_interaction=dot_interaction, l2=l2)
    probabilities = {}
    for output in (ctr_task, cvr_output):
        h = blocks.tower(x, None, units=tower_units, activation=activation,
                         dropout=dropout, l2=l2, name=f"tower_{output}")
        logit = blocks.logit(h, 1, l2=l2, name=f"logit_{output}",
                             wide=x if wide else None)
        probabilities[output] = blocks.activation(logit, "sigmoid",
                                                  name=output)
    ctcvr = keras.layers.Multiply(dtype=blocks.OUTPUT_DTYPE,
                                  name=ctcvr_task)(
        [probabilities[ctr_task], probabilities[cvr_output]])
    outputs = {ctr_task: probabilities[ctr_task],
               cvr_output: probabilities[cvr_output],
               ctcvr_task: ctcvr}
    return blocks.build_model(features, inputs, outputs, tasks, name,
                              shared_layer="feature_encoder")
