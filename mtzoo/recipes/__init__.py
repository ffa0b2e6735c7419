"""Recipes: one training setup per dataset (data, splits, tasks, defaults).

A run of a recipe is `mtzoo.runs.run(mtzoo.runs.RunConfig(name, ...))`;
from the command line:

```
mtzoo recipes
mtzoo train census_income --model mmoe --data-dir ../shared/data/census-income
python recipes/census_income.py --model ple --epochs 5
```
"""

from mtzoo.recipes.base import Recipe
from mtzoo.recipes.base import Splits
from mtzoo.recipes.definitions import RECIPES
from mtzoo.recipes.definitions import available
from mtzoo.recipes.definitions import get

__all__ = ["RECIPES", "Recipe", "Splits", "available", "get"]
