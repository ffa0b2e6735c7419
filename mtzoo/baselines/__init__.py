"""Baselines beside every run: what a user would otherwise fit.

Per retrieval task, the most popular items of the training rows. Per
ranking task, scikit-learn's histogram gradient boosting (early-stopped
on the validation rows), a linear model (logistic regression or Ridge, its
regularization chosen on the validation rows) and a constant (the training
mean or class frequencies), trained on the run's training rows and scored
on its test rows with the task's own metrics. A run whose network loses a
task to one of them says so.

Example:

```python
baselines = mtzoo.baselines.fit_and_score(splits, seed=0)
baselines["click"]["gradient_boosting"]["auc"]
```

The baselines also come as Keras models over the encoded features,
predicting what scikit-learn's fitted models (and the constant) do
(`design, fits = fitted(splits)`; `boosted_model`, `linear_model` and
`constant_model` of `design`, each task's fit and the splits' features and
tasks), which a run's ensemble may join (`mtzoo.runs.ensembles`).
"""

from mtzoo.baselines.design import Design
from mtzoo.baselines.fit import MAX_TRAIN_ROWS
from mtzoo.baselines.fit import NAMES
from mtzoo.baselines.fit import fit_and_score
from mtzoo.baselines.fit import fit_score_and_keep
from mtzoo.baselines.fit import fitted
from mtzoo.baselines.fit import losses
from mtzoo.baselines.fit import validation_targets
from mtzoo.baselines.keras_linear import constant_model
from mtzoo.baselines.keras_linear import linear_model
from mtzoo.baselines.keras_trees import boosted_model

__all__ = ["MAX_TRAIN_ROWS", "NAMES", "Design", "boosted_model",
           "constant_model", "fit_and_score", "fit_score_and_keep",
           "fitted", "linear_model", "losses", "validation_targets"]
