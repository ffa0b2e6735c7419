"""Loaders of real datasets, one module each; each returns a
`DatasetBundle`. The loader functions are also `mtzoo.data.census_income`,
`mtzoo.data.movielens`, `mtzoo.data.ali_ccp`, `mtzoo.data.aliexpress` and
`mtzoo.data.amazon_reviews`.
"""

from mtzoo.data.datasets import ali_ccp
from mtzoo.data.datasets import aliexpress
from mtzoo.data.datasets import amazon_reviews
from mtzoo.data.datasets import census_income
from mtzoo.data.datasets import movielens
from mtzoo.data.datasets.bundle import DatasetBundle

__all__ = ["DatasetBundle", "ali_ccp", "aliexpress", "amazon_reviews",
           "census_income",
           "movielens"]
