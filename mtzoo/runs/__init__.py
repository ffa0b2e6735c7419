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

from mtzoo import lazy

# Loaded on first use: the command line parses a run's flags into a
# `RunConfig` without TensorFlow, so `--help` and a mistyped flag answer
# at once.
_NAMES = {"RunConfig": "config", "resolve": "config", "run": "runner",
          "summary": "runner", "build": "steps", "evaluate": "steps",
          "fit": "steps", "predict": "steps", "prepare": "steps",
          "save_and_export": "steps"}

__all__ = sorted(_NAMES)
__getattr__ = lazy.loader("mtzoo.runs", _NAMES)
