"""Multi-task architectures, built by name or by their builder function.

```python
mtzoo.models.available()  # ['single_task', 'shared_bottom', ...]
model = mtzoo.models.build("mmoe", features, tasks, num_experts=8)
```
"""

from mtzoo.models.multitask_model import MultiTaskModel
from mtzoo.models.registry import available
from mtzoo.models.registry import build
from mtzoo.models.registry import get
from mtzoo.models.registry import hyperparameters

# Registration order is the order of `available()`.
from mtzoo.models.single_task import single_task  # noqa: E402
from mtzoo.models.shared_bottom import shared_bottom  # noqa: E402
from mtzoo.models.omoe import omoe  # noqa: E402
from mtzoo.models.mmoe import mmoe  # noqa: E402
from mtzoo.models.ple import ple  # noqa: E402
from mtzoo.models.attention_gated import attention_gated  # noqa: E402
from mtzoo.models.aitm import aitm  # noqa: E402
from mtzoo.models.esmm import esmm  # noqa: E402
from mtzoo.models.two_tower import two_tower  # noqa: E402
from mtzoo.models.inspection import gate_layers  # noqa: E402
from mtzoo.models.inspection import gate_model  # noqa: E402
from mtzoo.models.inspection import gate_weights  # noqa: E402
from mtzoo.models.saving import load_model  # noqa: E402
from mtzoo.models.saving import save_model  # noqa: E402
from mtzoo.models.serving import serving_model  # noqa: E402
from mtzoo.models.transfer import transfer  # noqa: E402

__all__ = [
    "MultiTaskModel",
    "aitm",
    "attention_gated",
    "available",
    "build",
    "esmm",
    "two_tower",
    "gate_layers",
    "gate_model",
    "gate_weights",
    "get",
    "hyperparameters",
    "load_model",
    "mmoe",
    "omoe",
    "ple",
    "save_model",
    "serving_model",
    "shared_bottom",
    "single_task",
    "transfer",
]
