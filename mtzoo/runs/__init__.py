"""Runs as a library: a typed configuration and the steps of a run.

```python
from mtzoo import runs

result = runs.run(runs.RunConfig("synthetic", model="mmoe", epochs=2,
                                 options={"rows": 20_000}, export=False))
result["test"]["tasks"]["click"]["auc"]
```

`run` is `prepare -> build -> fit -> evaluate -> save_and_export` plus
the report; each step is public for code that needs only some of them.
The command line (`mtzoo train`, `recipes/*.py`) builds a `RunConfig`
from its flags and calls `run`.
"""

from mtzoo.runs.config import RunConfig
from mtzoo.runs.config import resolve
from mtzoo.runs.run import run
from mtzoo.runs.run import summary
from mtzoo.runs.steps import build
from mtzoo.runs.steps import evaluate
from mtzoo.runs.steps import fit
from mtzoo.runs.steps import predict
from mtzoo.runs.steps import prepare
from mtzoo.runs.steps import save_and_export

__all__ = ["RunConfig", "build", "evaluate", "fit", "predict", "prepare",
           "resolve", "run", "save_and_export", "summary"]
