"""Recipes: one training setup per dataset (data, splits, tasks, defaults).

A run of a recipe is `mtzoo.runs.run(mtzoo.runs.RunConfig(name, ...))`;
from the command line:

```
mtzoo recipes
mtzoo train census_income --model mmoe --data-dir ../shared/data/census-income
python recipes/census_income.py --model ple --epochs 5
```
"""


from mtzoo import lazy

# Loaded on first use: `mtzoo init-config` reads a table with
# `mtzoo.recipes.table` alone, without TensorFlow.
_NAMES = {"Recipe": "base", "Splits": "base", "RECIPES": "definitions",
          "available": "definitions", "get": "definitions"}

__all__ = sorted(_NAMES)
__getattr__ = lazy.loader("mtzoo.recipes", _NAMES)

