"""Recipes: one runnable training setup per dataset.

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
from mtzoo.recipes.runner import build_parser
from mtzoo.recipes.runner import main
from mtzoo.recipes.runner import run
from mtzoo.recipes.runner import run_in_process

__all__ = ["RECIPES", "Recipe", "Splits", "available", "build_parser", "get",
           "main", "run", "run_in_process"]
