"""Your own table as a recipe: a TOML config names the files, the features
and the tasks; `mtzoo train table --config my_table.toml` then does what
every recipe does (early stopping on validation, metrics.json, report.md,
plots, TensorBoard, model.keras, a SavedModel).

```toml
[data]
train = "reviews.csv"            # CSV, Parquet or TFRecord file,
                                 # relative to this one
# validation = "valid.csv"       # optional, and so is test; without them
# test = "test.csv"              # the split rule cuts them from train
split = "random"                 # or "time" (then time_column = "...")
validation_fraction = 0.1
test_fraction = 0.2
```

A table larger than memory is named by a glob or a folder of shards
(`train = "events/*.parquet"`; or `stream = true` for one file): it is
streamed, never loaded whole. Each row's split is decided from the row
alone (a seeded hash of `key = "COLUMN"`, whose rows then stay together,
or of the row's place in its file; or its time against cut-offs placed at
the time column's quantiles), and the split is written once to Parquet
files in `~/.cache/mtzoo/splits/`; features learn their statistics in one
streamed pass over the training rows; training and validation stream from
the split files; label statistics, evaluation and the baselines read an
evenly spaced sample of at most `mtzoo.runs.steps.SAMPLE_ROWS` rows of a
split (`metrics.json` gives `test_rows_evaluated`).

```toml

[features."Clothing ID"]         # one table per column, keyed by column
kind = "categorical"             # categorical, numeric, text,
                                 # multi_categorical (omit: inferred)
[features."Review Text"]
kind = "text"
encoder = "bag"                  # any option of the kind's spec

[tasks.stars]                    # keyed by task name
kind = "multiclass"              # binary, regression or multiclass
label = "Rating"
classes = [1, 2, 3, 4, 5]

[training]                       # any recipe flag's default
model = "mmoe"
epochs = 100                     # at most: early stopping ends sooner
[training.hyperparameters]
num_experts = 4
```

`mtzoo init-config data.csv` writes a starting config from a file's
columns, with each column's kind inferred from its values.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import pathlib
import sys

import numpy as np
import pandas as pd

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Feature kinds by config name, and the spec class each makes.
#: A feature whose kind the config leaves to be inferred from its values.
AUTO = "auto"
TASK_KINDS = ("binary", "regression", "multiclass")
SPLITS = ("random", "time")
#: Rows of a file read to infer its columns' kinds (`init-config`, and a
#: streamed table's first shard).
INFER_ROWS = 10_000
_TRAINING_KEYS = ("model", "epochs", "batch_size", "learning_rate",
                  "weight_averaging", "patience", "seed", "weighting",
                  "piecewise_linear_bins", "ensemble", "hyperparameters")


class ConfigError(ValueError):
    """A config file that cannot be used, with the key and what to write."""


def load_config(path) -> dict:
    """The config at `path`, checked; file paths made absolute."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise ConfigError(f"No config file '{path}'. `mtzoo init-config "
                          f"DATA.csv` writes one from a data file.")
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"'{path}' is not valid TOML: {error}") from None
    unknown = sorted(set(config) - {"data", "features", "tasks", "training"})
    if unknown:
        raise ConfigError(f"'{path}': unknown sections {unknown}; the "
                          f"sections are [data], [features.COLUMN], "
                          f"[tasks.NAME] and [training].")
    data = config.get("data")
    if not data or "train" not in data:
        raise ConfigError(f"'{path}': [data] needs `train = \"FILE\"` (CSV "
                          f"or Parquet).")
    for key in ("train", "validation", "test"):
        if key in data:
            data[key] = str((path.parent / data[key]).resolve())
    split = data.setdefault("split", "random")
    if split not in SPLITS:
        raise ConfigError(f"'{path}': [data] split must be one of {SPLITS}. "
                          f"Received: {split!r}")
    if "key" in data and (split != "random" or not is_streamed(data)):
        raise ConfigError(f"'{path}': [data] key (rows sharing a key stay "
                          f"in one split) applies to a streamed table's "
                          f"random split: name shards by a glob or set "
                          f"`stream = true`.")
    if is_streamed(data) and any(k in data for k in ("validation", "test")):
        raise ConfigError(f"'{path}': a streamed table is split by its "
                          f"rule; drop [data] validation/test, or give "
                          f"train as one file without `stream`.")
    if split == "time" and "time_column" not in data:
        raise ConfigError(f"'{path}': split = \"time\" needs "
                          f"`time_column = \"COLUMN\"` in [data].")
    if not config.get("tasks"):
        raise ConfigError(f"'{path}' declares no task: add e.g.\n"
                          f"[tasks.clicked]\nkind = \"binary\"\n"
                          f"label = \"COLUMN\"")
    for name, task in config["tasks"].items():
        if task.get("kind") not in TASK_KINDS:
            raise ConfigError(f"'{path}': [tasks.{name}] kind must be one "
                              f"of {TASK_KINDS}. Received: "
                              f"{task.get('kind')!r}")
    for column, options in config.get("features", {}).items():
        if not isinstance(options, dict):
            config["features"][column] = options = {"kind": options}
        if options.get("kind", AUTO) != AUTO:
            from mtzoo import features as features_lib

            try:
                features_lib.check_kind(options["kind"],
                                        f"'{path}': [features.\"{column}\"]")
            except ValueError as error:
                raise ConfigError(f"{error} (or omit it, to infer it).") \
                    from None
    labels = {task.get("label", name): name
              for name, task in config["tasks"].items()}
    for column in config.get("features", {}):
        if column in labels:
            raise ConfigError(
                f"'{path}': column '{column}' is both a feature "
                f"([features.\"{column}\"]) and the label of "
                f"[tasks.{labels[column]}]: the model would read the "
                f"answer. Remove it from [features].")
    training = config.setdefault("training", {})
    unknown = sorted(set(training) - set(_TRAINING_KEYS))
    if unknown:
        raise ConfigError(f"'{path}': [training] has unknown keys "
                          f"{unknown}; known: {list(_TRAINING_KEYS)}.")
    from mtzoo.training import momentum

    try:
        momentum.check_momentum(training.get("weight_averaging", 0.0),
                                 f"'{path}': [training] weight_averaging")
    except ValueError as error:
        raise ConfigError(str(error)) from None
    from mtzoo import catalog

    fitting = catalog.recipe("table").architectures
    if training.get("model", "mmoe") not in fitting:
        raise ConfigError(f"'{path}': [training] model must be one of "
                          f"{list(fitting)}. Received: "
                          f"{training['model']!r}")
    config["path"] = str(path)
    return config


def names_shards(path: str) -> bool:
    """Whether a data path is a glob or a folder (of shards)."""
    return glob.has_magic(str(path)) or os.path.isdir(path)


#: Endings of the data files a folder of shards is read for.
#: TFRecord files of raw Examples (`mtzoo.data.raw_tfrecord.ENDINGS`,
#: named here too: importing that module imports TensorFlow).
TFRECORD_ENDINGS = (".tfrecord", ".tfrecord.gz", ".tfrecords", ".tfrec")
SHARD_ENDINGS = (".parquet", ".pq", ".csv", ".csv.gz", *TFRECORD_ENDINGS)


def shard_paths(path: str) -> list[str]:
    """The files a data path names, sorted: itself, a glob's matches, or
    a folder's CSV and Parquet files."""
    path = str(path)
    if os.path.isdir(path):
        files = sorted(str(p) for p in pathlib.Path(path).iterdir()
                       if p.name.endswith(SHARD_ENDINGS))
    else:
        files = sorted(glob.glob(path)) if glob.has_magic(path) else [path]
    missing = [p for p in files if not os.path.isfile(p)]
    if not files or missing:
        raise FileNotFoundError(
            f"No data files match '{path}'" if not files
            else f"No such data file: '{missing[0]}'")
    return files


def is_streamed(data: dict) -> bool:
    """Whether a config's [data] names a table to stream: `stream = true`,
    or train given as a glob or a folder of shards."""
    return bool(data.get("stream", names_shards(str(data["train"]))))


def read_table(path: str, *, rows: int | None = None) -> pd.DataFrame:
    """A CSV, Parquet or TFRecord (raw Examples) file as a DataFrame (its
    first `rows` rows, read alone)."""
    if not pathlib.Path(path).is_file():
        raise FileNotFoundError(f"No such data file: '{path}'")
    parquet = str(path).endswith((".parquet", ".pq"))
    tfrecord = str(path).endswith(TFRECORD_ENDINGS)
    if parquet:
        frame = _read_parquet(path, rows)
    elif tfrecord:
        # TensorFlow only for TFRecord files: reading a CSV or Parquet
        # file (`init-config`) stays quick.
        from mtzoo.data import raw_tfrecord

        frame = _first_rows(raw_tfrecord.iter_batches(path), rows)
    else:
        try:
            frame = pd.read_csv(path, nrows=rows)
        except pd.errors.EmptyDataError:
            raise ConfigError(f"Data file '{path}' is empty: expected a "
                              f"header line and rows.") from None
    # Each row keeps its place in the file through shuffles and splits:
    # errors name it, and the saved split lists it.
    word = "line" if not (parquet or tfrecord) else "row"
    first = 2 if word == "line" else 0
    frame.index = pd.RangeIndex(first, len(frame) + first, name=word)
    frame.attrs.update(mtzoo_source=str(path), mtzoo_index_is_line=True,
                       mtzoo_line_word=word)
    return frame


def _read_parquet(path: str, rows: int | None) -> pd.DataFrame:
    if rows is None:
        return pd.read_parquet(path)
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    return _first_rows(parquet.iter_batches(batch_size=min(rows, 65_536)),
                       rows, parquet.schema_arrow)


def _first_rows(batches, rows: int | None, schema=None) -> pd.DataFrame:
    """The first `rows` rows (all when None) of Arrow `batches`, read no
    further than needed."""
    import pyarrow as pa

    taken, read = [], 0
    for batch in batches:
        taken.append(batch)
        read += batch.num_rows
        if rows is not None and read >= rows:
            break
    table = (pa.Table.from_batches(taken) if taken
             else schema.empty_table())
    frame = table.to_pandas()
    return frame if rows is None else frame.head(rows)


def infer_kind(series: pd.Series) -> str | None:
    """A feature kind for a column from its values (see `kind_and_reason`)."""
    return kind_and_reason(series)[0]


#: Strings that read as dates or times: "2013-01-01", "1/13/2013",
#: "2013-01-01 05:00", "2013-01-01T05:00:00.000Z", "2013-01-01 05:00+01:00".
DATE_PATTERN = (r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
                r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?"
                r"\s*(Z|[+-]\d{2}:?\d{2}|UTC)?$")
#: Integer seconds (or milliseconds) since 1970 from 2001-09-09 to
#: 2033-05-18, in a column named like a time: a Unix timestamp.
EPOCH_SECONDS = (10**9, 2 * 10**9)


def kind_and_reason(series: pd.Series) -> tuple[str, str]:
    """A feature kind for a column from its values, and why: booleans,
    few distinct integers, integer ids (named `...id`, or a range from 0
    or 1 whose values repeat) and short strings are categorical; other
    numbers numeric; long strings with spaces text; lists
    multi-categorical. Dates and times (datetime values, date strings,
    Unix timestamps in a column named like a time) have no feature kind
    (None): they are what a time split orders rows by."""
    values = series.dropna()
    if pd.api.types.is_bool_dtype(series):
        return "categorical", "true/false values"
    if pd.api.types.is_datetime64_any_dtype(series):
        return None, _time_range(values)
    if pd.api.types.is_integer_dtype(series):
        unit = _unix_time_unit(series, values)
        if unit:
            return None, _time_range(pd.to_datetime(values, unit=unit))
        return _integer_kind(series, values)
    if pd.api.types.is_numeric_dtype(series):
        if _whole_numbers(values) and len(values) < len(series):
            # Integers with missing values load as floats.
            kind, reason = _integer_kind(series, values.astype(np.int64))
            return kind, f"{reason} (whole numbers, some missing)"
        return "numeric", "numbers"
    sample = values.head(1000)
    if len(sample) and all(isinstance(v, (list, tuple, np.ndarray))
                           for v in sample):
        return "multi_categorical", "lists of values"
    stray = _numbers_with_stray_values(series, values)
    if stray:
        return stray
    text = sample.astype(str)
    if len(text) and text.str.strip().str.match(DATE_PATTERN).mean() >= 0.95:
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        if parsed.notna().mean() >= 0.95:
            return None, _time_range(pd.to_datetime(
                values.astype(str), errors="coerce", format="mixed"))
    mostly_words = len(text) and text.str.contains(" ").mean() > 0.5
    long_or_unique = len(text) and (text.str.len().mean() > 30
                                    or text.nunique() > 0.5 * len(text))
    if mostly_words and long_or_unique:
        return "text", "mostly several words per value"
    return "categorical", f"{values.nunique():,} distinct strings"


#: Share of a text column's values that must read as numbers for it to
#: be numbers with a few stray values (a typo, a "?" for missing).
MOSTLY_NUMBERS = 0.95


def _numbers_with_stray_values(series: pd.Series,
                               values: pd.Series) -> tuple | None:
    """`("numeric", reason)` for a column of numbers that pandas read as
    text because a few values are not numbers, naming them: training
    then stops at the first of them with its line, instead of encoding
    every distinct number as a category. None otherwise (ids with a
    few letters stay categorical)."""
    numbers = pd.to_numeric(values, errors="coerce")
    read = numbers.notna()
    if not len(values) or read.all() or read.mean() < MOSTLY_NUMBERS:
        return None
    present = numbers[read]
    whole = _whole_numbers(present)
    if whole and _categories_reason(series, present.astype(np.int64)):
        return None
    reason = _integers_reason(present) if whole else "numbers"
    stray = values[~read]
    shown = ", ".join(repr(str(v)) for v in stray.unique()[:3])
    verb = "is" if len(stray) == 1 else "are"
    return "numeric", (
        f"{reason}, but {len(stray):,} of {len(values):,} values {verb} "
        f"not: {shown}; blank them to mark them missing")


def _unix_time_unit(series: pd.Series, values: pd.Series) -> str | None:
    """`"s"` or `"ms"` for a column of Unix timestamps, else None."""
    name = str(series.name or "").lower()
    if not len(values) or not any(w in name for w in ("time", "date")):
        return None
    low, high = EPOCH_SECONDS
    for unit, scale in (("s", 1), ("ms", 1000)):
        if low * scale <= values.min() and values.max() < high * scale:
            return unit
    return None


def _time_range(times: pd.Series) -> str:
    first, last = (t.strftime("%Y-%m-%d") for t in (times.min(),
                                                     times.max()))
    return f"dates and times from {first} to {last}"


def _integer_kind(series: pd.Series, values: pd.Series) -> tuple[str, str]:
    categories = _categories_reason(series, values)
    if categories:
        return "categorical", categories
    return "numeric", _integers_reason(values)


def _whole_numbers(values: pd.Series) -> bool:
    """Whether every value is a whole number that int64 holds exactly."""
    return bool(len(values) and np.all(np.mod(values.to_numpy(), 1) == 0)
                and values.abs().max() < 2**53)


def _integers_reason(values: pd.Series) -> str:
    return f"integers from {int(values.min())} to {int(values.max())}"


def _categories_reason(series: pd.Series, values: pd.Series) -> str | None:
    """Why a column's integers are categories (few distinct values, or
    ids), or None when they are amounts."""
    distinct = values.nunique()
    if distinct <= 20:
        return f"{distinct} distinct integers"
    name = str(series.name or "").lower().replace(" ", "_")
    if name.endswith("id"):
        return "integers in a column named like an id"
    low, high = int(values.min()), int(values.max())
    dense = distinct >= 0.5 * (high - low + 1)
    repeats = len(values) / distinct
    if low in (0, 1) and dense and repeats >= 2:
        return (f"integers {low}..{high}, nearly all used, each seen "
                f"{repeats:.0f} times on average: ids (set numeric if they "
                f"are amounts)")
    return None


def feature_specs(config: dict, frame: pd.DataFrame) -> list:
    """The features of `config`, kinds inferred where not given."""
    from mtzoo import features as features_lib
    from mtzoo.features import base

    specs = []
    for column, options in config.get("features", {}).items():
        options = dict(options)
        base.require_column(frame, column, f"Config '{config['path']}'")
        declared = options.pop("kind", AUTO)
        kind = infer_kind(frame[column]) if declared == AUTO else declared
        if kind is None:
            raise ConfigError(
                f"'{config['path']}': [features.\"{column}\"] holds dates "
                f"and times, which no feature kind reads: split by it "
                f"(split = \"time\", time_column = \"{column}\" in [data]) "
                f"or add columns derived from it (hour, weekday), and "
                f"remove it from [features] (or give it a kind).")
        # Serving inputs are named after the config's columns: as they
        # are when they can be input names, else made into one.
        name = options.pop("name", column if base.is_valid_name(column)
                           else base.suggested_name(column))
        try:
            specs.append(features_lib.create(kind, name, column=column,
                                             **options))
        except TypeError as error:
            raise ConfigError(f"'{config['path']}': [features.\"{column}\"] "
                              f"({kind}): {error}") from None
    if not specs:
        raise ConfigError(f"'{config['path']}' declares no feature: add "
                          f"[features.\"COLUMN\"] tables (`mtzoo "
                          f"init-config` lists every column).")
    return specs


#: Distinct labels a multiclass task without `classes` may take them from.
MAX_INFERRED_CLASSES = 1_000


def task_specs(config: dict, labelled=()) -> list:
    """The tasks of `config`. A multiclass task given neither `classes`
    nor `num_classes` takes as classes the distinct labels of the frames
    `labelled` (in sorted order)."""
    from mtzoo import tasks as tasks_lib

    tasks = []
    for name, options in config["tasks"].items():
        options = dict(options)
        kind = options.pop("kind")
        takes = {f.name for f in dataclasses.fields(
            tasks_lib.KIND_CLASSES[kind])}
        if "classes" in takes and labelled and not {
                "classes", "num_classes"} & set(options):
            options["classes"] = _classes_seen(
                config, name, options.get("label", name), labelled)
        if "classes" in options:
            options["classes"] = tuple(options["classes"])
        try:
            tasks.append(tasks_lib.create(kind, name, **options))
        except TypeError as error:
            raise ConfigError(f"'{config['path']}': [tasks.{name}]: "
                              f"{error}") from None
    return tasks


def _classes_seen(config: dict, task: str, column: str, frames) -> list:
    """The distinct values of `column` in `frames`, sorted (numbers by
    value), for a multiclass task declared without its classes."""
    from mtzoo.features import base

    values = pd.unique(pd.concat([f[column] for f in frames
                                  if column in f]).dropna())
    if len(values) > MAX_INFERRED_CLASSES:
        raise ConfigError(
            f"'{config['path']}': [tasks.{task}] is multiclass without "
            f"`classes`, and column '{column}' holds {len(values):,} "
            f"distinct values: list the classes, or make it a regression.")
    values = [base.plain(v) for v in values]
    numeric = all(isinstance(v, (int, float)) for v in values)
    return sorted(values, key=None if numeric else str)


#: The share of the whole table each split rule cuts, unless [data] says.
FRACTIONS = {"validation": 0.1, "test": 0.2}


def _fraction(config: dict, split: str) -> float:
    """[data] `<split>_fraction`, checked to lie in (0, 1)."""
    fraction = config["data"].get(f"{split}_fraction", FRACTIONS[split])
    if not 0 < fraction < 1:
        raise ConfigError(f"'{config['path']}': {split}_fraction must be "
                          f"in (0, 1). Received: {fraction!r}")
    return fraction


def split_frame(config: dict, seed: int):
    """`(train, validation, test)` frames: the files given, the rest cut
    from train by the split rule."""
    data = config["data"]
    train = read_table(data["train"])
    test = read_table(data["test"]) if "test" in data else None
    validation = (read_table(data["validation"]) if "validation" in data
                  else None)
    given_files = [("test", test), ("validation", validation)]
    if data["split"] == "time":
        train = train.iloc[np.argsort(_time_order(train, data["time_column"]),
                                      kind="stable")]
    else:
        train = train.sample(frac=1.0, random_state=seed)
    # Fractions of the whole table, not of what an earlier cut left.
    total = len(train)
    cut = {}
    for name, given in given_files:
        if given is not None:
            cut[name] = given
            continue
        rows = int(round(total * _fraction(config, name)))
        cut[name] = train.iloc[len(train) - rows:]
        train = train.iloc[:len(train) - rows]
    return train, cut["validation"], cut["test"]


def _time_order(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The time column's values in time order (`time_order`), or an error
    naming the file line of the first value that is no time."""
    from mtzoo.data.splitting import time_order
    from mtzoo.features.base import bad_values

    if column not in frame:
        raise ValueError(f"The time column '{column}' is not in the "
                         f"training data (columns: {list(frame.columns)}).")
    missing = frame[column].isna().to_numpy()
    if missing.any():
        raise bad_values(frame, column, missing, "The time split",
                         "a time on every row")
    times, bad = time_order(frame[column].to_numpy())
    if bad.any():
        raise bad_values(frame, column, bad, "The time split",
                         "numbers or dates and times")
    return times


def prepare(run, model_name):
    """The table recipe's `prepare`: splits and adapted specs (`run`: a
    resolved `mtzoo.runs.RunConfig`)."""
    from mtzoo import features as features_lib
    from mtzoo.recipes.base import Splits

    config = load_config(run.option("config"))
    if is_streamed(config["data"]):
        return _streamed_splits(config, run.seed)
    train, validation, test = split_frame(config, run.seed)
    features = features_lib.adapt(feature_specs(config, train), train)
    tasks = task_specs(config, (train, validation, test))
    _require_two_classes(config, tasks, train)
    return Splits(train, validation, test, features, tasks,
                  ordered=config["data"]["split"] == "time")


def _require_two_classes(config: dict, tasks, train: pd.DataFrame) -> None:
    """A `ConfigError` for a classifier whose labelled training rows all
    hold one class (a wrong column, or a `positive` value no row holds)."""
    for task in tasks:
        if not getattr(task, "classifier", False):
            continue
        labels, present = task.labels(train)
        seen = np.unique(labels[present])
        if len(seen) == 1:
            positive = getattr(task, "positive", None)
            hint = ("" if positive is None else
                    f" (positive = {positive!r} matches "
                    f"{'every' if seen[0] else 'no'} row)")
            raise ConfigError(
                f"'{config['path']}': [tasks.{task.name}]: every labelled "
                f"training row of column '{task.label_column}' holds the "
                f"same class{hint}; a classifier needs two.")


def _streamed_splits(config: dict, seed: int):
    """A streamed table's splits (`mtzoo.data.splitting`, kept on disk as
    `mtzoo.data.shards.ShardedSplit`s) and its features adapted in one
    pass over the training rows; kinds are inferred from the first
    shard's first `INFER_ROWS` rows."""
    from mtzoo import features as features_lib
    from mtzoo.data import pipeline
    from mtzoo.data import splitting
    from mtzoo.recipes.base import Splits

    data = config["data"]
    paths = shard_paths(data["train"])
    head = read_table(paths[0], rows=INFER_ROWS)
    specs = feature_specs(config, head)
    # Classes not given are those of the first shard's first rows.
    tasks = task_specs(config, (head,))
    columns = list(pipeline.column_types(features_lib.validate(specs),
                                         tasks))
    rule = splitting.SplitRule(
        data["split"], validation_fraction=_fraction(config, "validation"),
        test_fraction=_fraction(config, "test"), seed=seed,
        key=data.get("key"), time_column=data.get("time_column"))
    parts = splitting.split_files(paths, columns, rule,
                                  csv_types=splitting.arrow_types(head))
    features = features_lib.adapt(specs, parts["train"].chunks())
    return Splits(parts["train"], parts["validation"], parts["test"],
                  features, tasks, ordered=data["split"] == "time")


def run_settings(options: dict) -> dict:
    """Run settings from the config's [training] section (settings a run
    gives itself, on the command line or in code, still win)."""
    if not options.get("config"):
        return {}
    training = dict(load_config(options["config"])["training"])
    training["hyperparameters"] = {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in training.pop("hyperparameters", {}).items()}
    return training


def config_name(data_path) -> str:
    """The config file `init-config` writes by default: the data file's
    name (a folder's or a glob's folder's, for shards) with `.toml`."""
    path = pathlib.Path(data_path)
    if names_shards(str(path)):
        while glob.has_magic(path.name) and path.parent != path:
            path = path.parent
        return f"{path.resolve().name or 'table'}.toml"
    return path.with_suffix(".toml").name


def init_config(data_path, *, rows: int = INFER_ROWS, config_folder="."
                ) -> tuple[str, list[tuple[str, str, str]]]:
    """A starting config for a data file (or a glob or folder of shards,
    from the first), from its first `rows` rows, read alone: every column
    as a feature with its inferred kind (and why, as a comment), and a
    task to fill in; `train` is given relative to `config_folder`, where
    the config goes. Returns the config's text and `(column, kind,
    reason)` of each column."""
    frame = read_table(shard_paths(data_path)[0], rows=rows)
    train = os.path.relpath(os.path.abspath(data_path),
                            os.path.abspath(config_folder))
    kinds = [(str(column), *kind_and_reason(frame[column]))
             for column in frame.columns]
    times = [column for column, kind, _ in kinds if kind is None]
    if times:
        # Rows that carry a time are events: a random split would train
        # on the future of the rows it tests on.
        split = [f'split = "time"             # rows in {times[0]}\'s '
                 f'order: the latest test', f'time_column = "{times[0]}"']
    else:
        split = ['split = "random"           # or "time", with time_column']
    lines = ["# mtzoo table recipe: mtzoo train table --config THIS_FILE",
             "# Move label columns from [features] to [tasks] and set "
             "their kind.", "", "[data]",
             f'train = "{pathlib.PurePath(train).as_posix()}"', *split,
             "validation_fraction = 0.1", "test_fraction = 0.2", ""]
    for column, kind, reason in kinds:
        quoted = column.replace('"', '\\"')
        if kind is None:
            lines += [f'# "{quoted}": {reason}; not a feature (no kind '
                      f'reads dates): a time split orders rows by it', ""]
            continue
        lines += [f'[features."{quoted}"]', f'kind = "{kind}"  # {reason}',
                  ""]
    lines += ["[tasks.TASK_NAME]", 'kind = "binary"           # or '
              'regression, multiclass (with classes = [...])',
              'label = "LABEL_COLUMN"', "", "[training]", 'model = "mmoe"',
              "# epochs = 100             # at most: early stopping ends "
              "sooner",
              "# ensemble = false         # the network alone, without the "
              "baselines it may be combined with", ""]
    return "\n".join(lines), kinds
