"""Loaders of real datasets, each returning a `DatasetBundle`."""

from mtzoo.data.datasets.ali_ccp import ali_ccp
from mtzoo.data.datasets.aliexpress import aliexpress
from mtzoo.data.datasets.bundle import DatasetBundle
from mtzoo.data.datasets.census_income import census_income
from mtzoo.data.datasets.movielens import from_frame as movielens_from_frame
from mtzoo.data.datasets.movielens import movielens

__all__ = ["DatasetBundle", "ali_ccp", "aliexpress", "census_income",
           "movielens", "movielens_from_frame"]
