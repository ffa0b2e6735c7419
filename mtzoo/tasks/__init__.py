"""Task specs: what a multi-task model predicts and how it is trained.

A task is the one source of truth for a prediction target: its `name` is
the model's output name, the key of its loss, of its label and of its
sample weight, and the prefix of its metrics (`ctr_auc`, `rating_rmse`).
Each kind (binary, regression, multiclass, retrieval) is a class in its
own module that owns its labels, output, loss, metrics, statistics,
evaluation and serialization (see `mtzoo.tasks.base`).

Example:

```python
tasks = [
    mtzoo.tasks.binary("click"),
    mtzoo.tasks.regression("watch_time", loss="huber", weight=0.5),
    mtzoo.tasks.multiclass("interest", num_classes=12),
]
```
"""

from mtzoo.tasks.base import KIND_CLASSES
from mtzoo.tasks.base import Task
from mtzoo.tasks.base import adapt
from mtzoo.tasks.base import create
from mtzoo.tasks.base import deserialize
from mtzoo.tasks.base import require_some_label
from mtzoo.tasks.base import serialize
from mtzoo.tasks.base import validate
from mtzoo.tasks.binary import BinaryTask
from mtzoo.tasks.binary import binary
from mtzoo.tasks.losses import LOSS_REDUCTION
from mtzoo.tasks.losses import FunctionLoss
from mtzoo.tasks.losses import LabelScaledLoss
from mtzoo.tasks.losses import standardized_labels
from mtzoo.tasks.multiclass import MulticlassTask
from mtzoo.tasks.multiclass import multiclass
from mtzoo.tasks.regression import RegressionTask
from mtzoo.tasks.regression import regression
from mtzoo.tasks.retrieval import ALL
from mtzoo.tasks.retrieval import IN_BATCH
from mtzoo.tasks.retrieval import NEGATIVES
from mtzoo.tasks.retrieval import SAMPLED
from mtzoo.tasks.retrieval import InBatchAccuracy
from mtzoo.tasks.retrieval import RetrievalSoftmax
from mtzoo.tasks.retrieval import RetrievalTask
from mtzoo.tasks.retrieval import next_item
from mtzoo.tasks.retrieval import retrieval

#: The kinds' names, as configs write them.
KINDS = tuple(KIND_CLASSES)


def retrieval_tasks(tasks) -> list[RetrievalTask]:
    """The retrieval tasks among `tasks`."""
    return [t for t in tasks if isinstance(t, RetrievalTask)]


def ranking_tasks(tasks) -> list[Task]:
    """The tasks that score the row they are given (every task but
    retrieval)."""
    return [t for t in tasks if not isinstance(t, RetrievalTask)]


__all__ = [
    "ALL", "IN_BATCH", "KINDS", "LOSS_REDUCTION", "NEGATIVES", "SAMPLED",
    "BinaryTask", "FunctionLoss", "InBatchAccuracy", "LabelScaledLoss",
    "MulticlassTask", "RegressionTask", "RetrievalSoftmax", "RetrievalTask",
    "Task", "adapt", "binary", "create", "deserialize", "multiclass",
    "next_item", "ranking_tasks", "regression", "require_some_label",
    "retrieval", "retrieval_tasks", "serialize", "standardized_labels",
    "validate",
]
