"""UCI Census-Income (KDD), the benchmark of the MMoE paper."""

from __future__ import annotations

import pandas as pd

from mtzoo import features as features_lib
from mtzoo import tasks as tasks_lib
from mtzoo.data import readers
from mtzoo.data import sources
from mtzoo.data.datasets.bundle import DatasetBundle

NAME = "census-income"
COLUMNS = (
    "age", "class_worker", "det_ind_code", "det_occ_code", "education",
    "wage_per_hour", "hs_college", "marital_stat", "major_ind_code",
    "major_occ_code", "race", "hisp_origin", "sex", "union_member",
    "unemp_reason", "full_or_part_emp", "capital_gains", "capital_losses",
    "stock_dividends", "tax_filer_stat", "region_prev_res",
    "state_prev_res", "det_hh_fam_stat", "det_hh_summ", "instance_weight",
    "mig_chg_msa", "mig_chg_reg", "mig_move_reg", "mig_same",
    "mig_prev_sunbelt", "num_emp", "fam_under_18", "country_father",
    "country_mother", "country_self", "citizenship", "own_or_self",
    "vet_question", "vet_benefits", "weeks_worked", "year", "income_50k",
)
NUMERIC = ("age", "wage_per_hour", "capital_gains", "capital_losses",
           "stock_dividends", "num_emp", "weeks_worked")
HEAVY_TAILED = ("wage_per_hour", "capital_gains", "capital_losses",
                "stock_dividends")
INTEGER_CODES = ("det_ind_code", "det_occ_code", "own_or_self",
                 "vet_benefits", "year")
# Label sources and the sampling weight are never features.
NOT_FEATURES = ("income_50k", "marital_stat", "instance_weight")
#: `census_income(**PLAIN_NUMBERS)`: numbers standardized only, no
#: piecewise-linear bins or value embeddings (the first defaults, and what
#: the speed benchmarks and peer libraries use, like for like).
PLAIN_NUMBERS = {"piecewise_linear_bins": 0, "value_embeddings": False}
TRAIN_FILE = "census-income.data.gz"
TEST_FILE = "census-income.test.gz"
_BASE_URL = ("https://archive.ics.uci.edu/ml/machine-learning-databases/"
             "census-income-mld/")
DOWNLOADS = [
    sources.Download(
        _BASE_URL + TRAIN_FILE,
        "3676a81db7d3528f3f8b9f3c699d0f0aa28db45e6e994fa0b8ed38327539ee86",
        content_sha256=True),
    sources.Download(
        _BASE_URL + TEST_FILE,
        "98402b1ab879573d0a7f38a699a40258080e25e33d3401e7bf9c96d3fa0fab8c",
        content_sha256=True),
]


def read(path, max_rows: int | None = None) -> pd.DataFrame:
    """Reads one census file (no header, `", "`-separated): text columns as
    pandas categoricals (each distinct string held once: 25 MB for the
    training file where plain strings take 145 MB), numbers as numbers,
    keeping `NA` and `?` as the ordinary categories they are."""
    frame = pd.read_csv(path, header=None, names=list(COLUMNS), nrows=max_rows,
                        skipinitialspace=True, keep_default_na=False,
                        na_values=[], dtype={c: "category" for c in COLUMNS
                                             if c not in NUMERIC
                                             and c not in INTEGER_CODES
                                             and c != "instance_weight"})
    return add_labels(frame)


def add_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds the MMoE paper's labels: `income` (> 50K) and `marital`
    (never married)."""
    frame = frame.copy()
    frame["income"] = (frame["income_50k"].str.strip() == "50000+.").astype(
        "float32")
    frame["marital"] = (frame["marital_stat"].str.strip()
                        == "Never married").astype("float32")
    return frame


#: How the raw census files are laid out, for `mtzoo.data.from_csv`.
CSV_FORMAT = readers.CsvFormat(column_names=COLUMNS, strip_whitespace=True)


def feature_specs(embedding_dim: int = 8, *, piecewise_linear_bins: int = 0,
                  value_embeddings=False) -> list:
    """One spec per census column except labels and `instance_weight`."""
    embedded = _value_embedding_columns(value_embeddings)
    specs = []
    for column in COLUMNS:
        if column in NOT_FEATURES:
            continue
        if column in NUMERIC:
            heavy_tailed = column in HEAVY_TAILED
            specs.append(features_lib.NumericFeature(
                column, log_transform=heavy_tailed,
                piecewise_linear_bins=piecewise_linear_bins,
                embed_values=column in embedded,
                embedding_dim=embedding_dim))
        else:
            specs.append(features_lib.CategoricalFeature(
                column, embedding_dim=embedding_dim,
                dtype="int64" if column in INTEGER_CODES else "string"))
    return specs


def _value_embedding_columns(value_embeddings) -> tuple:
    if value_embeddings is True:
        return HEAVY_TAILED
    if not value_embeddings:
        return ()
    unknown = sorted(set(value_embeddings) - set(NUMERIC))
    if unknown:
        raise ValueError(f"value_embeddings names {unknown}, which are not "
                         f"census numbers; they are {list(NUMERIC)}.")
    return tuple(value_embeddings)


def task_specs(use_instance_weight: bool = False) -> list:
    weight = "instance_weight" if use_instance_weight else None
    return [tasks_lib.binary("income", weight_column=weight),
            tasks_lib.binary("marital", weight_column=weight)]


def census_income(data_dir=None, *, embedding_dim: int = 8,
                  piecewise_linear_bins: int = 16,
                  value_embeddings=True,
                  use_instance_weight: bool = False,
                  max_rows: int | None = None) -> DatasetBundle:
    """Loads Census-Income (KDD) with the MMoE paper's two tasks.

    Tasks: `income` (income above 50K) and `marital` (never married), both
    binary. Every other column except `instance_weight` (a sampling weight)
    is a feature: 7 numeric, the rest categorical with embeddings of
    `embedding_dim`.

    Args:
        data_dir: folder with `census-income.data.gz` and
            `census-income.test.gz` (or its parent with `census-income/`).
            Downloaded from UCI when absent and online.
        embedding_dim: int. Embedding size of every categorical feature
            (and of numeric values, below).
        piecewise_linear_bins: int. Numeric features also enter
            piecewise-linearly over this many quantile bins
            (`NumericFeature.piecewise_linear_bins`); 0 for the
            standardized value alone. Defaults to 16.
        value_embeddings: bool or list of numeric column names. True:
            wage, capital gains and losses and dividends also get an
            embedding of their frequent exact values (a capital gain of
            15,024 says more than its size); a list: those columns; False:
            none. Defaults to True.
        use_instance_weight: bool. Weight both tasks' examples by
            `instance_weight`. Defaults to False, as in the MMoE paper.
        max_rows: int. Read only the first rows of each file (for quick
            trials). Defaults to None (all).

    Returns:
        A `DatasetBundle` with 199,523 train and 99,762 test rows.

    References:
        - [Ma et al., 2018](https://doi.org/10.1145/3219819.3220007),
          section 5.2.
    """
    folder, names = sources.locate(
        NAME, [[TRAIN_FILE, TEST_FILE]], data_dir=data_dir,
        downloads=DOWNLOADS,
        instructions=("The files are at https://archive.ics.uci.edu/"
                      "dataset/117/census+income+kdd."))
    train = read(folder / TRAIN_FILE, max_rows)
    test = read(folder / TEST_FILE, max_rows)
    specs = feature_specs(embedding_dim,
                          piecewise_linear_bins=piecewise_linear_bins,
                          value_embeddings=value_embeddings)
    features = features_lib.adapt(specs, train)
    return DatasetBundle(
        name="census_income", train=train, test=test, features=features,
        tasks=task_specs(use_instance_weight),
        files={"train": [folder / TRAIN_FILE], "test": [folder / TEST_FILE]},
        description="UCI Census-Income (KDD): tasks income > 50K and "
                    "never married (MMoE paper).")
