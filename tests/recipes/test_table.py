"""Your own table as a recipe: `mtzoo init-config` and `mtzoo train table`."""

import json

import numpy as np
import pandas as pd
import pytest

from mtzoo import cli
from mtzoo.recipes import table


def _shop_table(rows=1_500, seed=0):
    """Column names with spaces and dashes; a 1-5 rating and a flag."""
    rng = np.random.default_rng(seed)
    stars = rng.integers(1, 6, rows)
    words = np.where(stars >= 4, "fits well and feels soft",
                     "runs small, fabric is thin")
    return pd.DataFrame({
        "Clothing ID": rng.integers(0, 40, rows),
        "Age": rng.integers(18, 80, rows),
        "Review Text": [f"{w} order {i}" for i, w in enumerate(words)],
        "Division-Name": rng.choice(["General", "Petite"], rows),
        "Rating": stars,
        "Recommended IND": (stars >= 4).astype(int),
    })


def test_init_config_infers_each_columns_kind(tmp_path, monkeypatch):
    _shop_table().to_csv(tmp_path / "shop.csv", index=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["init-config", "shop.csv"]) == 0
    config = table.tomllib.loads((tmp_path / "shop.toml").read_text())
    kinds = {c: f["kind"] for c, f in config["features"].items()}
    assert kinds == {"Clothing ID": "categorical", "Age": "numeric",
                     "Review Text": "text", "Division-Name": "categorical",
                     "Rating": "categorical",
                     "Recommended IND": "categorical"}
    assert cli.main(["init-config", "shop.csv"]) == 2  # no overwrite


def test_config_errors_say_what_to_write(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[data]\ntrain = "x.csv"\n')
    with pytest.raises(table.ConfigError, match=r"\[tasks.clicked\]"):
        table.load_config(path)
    path.write_text('[data]\ntrain = "x.csv"\n[tasks.a]\nkind = "rank"\n')
    with pytest.raises(table.ConfigError, match="kind must be one of"):
        table.load_config(path)
    path.write_text('[data]\ntrain = "x.csv"\n[tasks.a]\nkind = "binary"\n'
                    '[training]\nweight_averaging = 1.5\n')
    with pytest.raises(table.ConfigError,
                       match=r"weight_averaging must be a momentum in "
                             r"\[0, 1\).*Received: 1.5"):
        table.load_config(path)
    assert cli.main(["train", "table", "--config",
                     str(tmp_path / "none.toml")]) == 2
    # init-config lists every column as a feature; a label left there
    # would be read by the model.
    path.write_text('[data]\ntrain = "x.csv"\n[features.Rating]\n'
                    '[features.Age]\n[tasks.stars]\nkind = "multiclass"\n'
                    'label = "Rating"\n')
    with pytest.raises(table.ConfigError, match=r"column 'Rating' is both "
                                                r"a feature .* label of "
                                                r"\[tasks.stars\]"):
        table.load_config(path)


def test_multiclass_classes_default_to_the_labels_seen(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('[data]\ntrain = "x.csv"\n[tasks.tier]\n'
                    'kind = "multiclass"\nlabel = "Tier"\n[tasks.stars]\n'
                    'kind = "multiclass"\n')
    config = table.load_config(path)
    frames = (pd.DataFrame({"Tier": ["mid", "low", None],
                            "stars": [5, 1, 3]}),
              pd.DataFrame({"Tier": ["high"], "stars": [2]}))
    tasks = {t.name: t for t in table.task_specs(config, frames)}
    assert tasks["tier"].classes == ("high", "low", "mid")
    assert tasks["stars"].classes == (1, 2, 3, 5)
    many = (pd.DataFrame({"Tier": [str(i) for i in range(1_001)],
                          "stars": range(1_001)}),)
    with pytest.raises(table.ConfigError, match="1,001 distinct values"):
        table.task_specs(config, many)


@pytest.mark.large
def test_train_table_writes_what_every_recipe_writes(tmp_path):
    shop = _shop_table()
    # A history of clothing ids in a CSV cell, oldest first.
    rng = np.random.default_rng(1)
    shop["Viewed IDs"] = [" ".join(str(v) for v in rng.integers(0, 40, n))
                          for n in rng.integers(0, 6, len(shop))]
    shop.to_csv(tmp_path / "shop.csv", index=False)
    (tmp_path / "shop.toml").write_text('''
[data]
train = "shop.csv"
split = "random"

[features."Clothing ID"]
kind = "categorical"
[features."Age"]
[features."Review Text"]
kind = "text"
[features."Division-Name"]
[features."Viewed IDs"]
kind = "sequence"
separator = " "
embedding_table = "clothing_id"
max_length = 4

[tasks.stars]
kind = "multiclass"
label = "Rating"
classes = [1, 2, 3, 4, 5]
[tasks.recommended]
kind = "binary"
label = "Recommended IND"

[training]
model = "shared_bottom"
epochs = 3
batch_size = 128
''')
    output = tmp_path / "run"
    assert cli.main(["train", "table", "--config", str(tmp_path / "shop.toml"),
                     "--output-dir", str(output)]) == 0
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["model"] == "shared_bottom"
    assert metrics["epochs_run"] <= 3
    # 9 steps an epoch: early stopping waits its longest.
    assert metrics["patience"] == 6
    assert metrics["test"]["tasks"]["recommended"]["auc"] > 0.95
    assert metrics["test"]["tasks"]["stars"]["examples"] == 300
    for name in ("report.md", "learning_curves.png", "model.keras"):
        assert (output / name).is_file()
    import tensorflow as tf

    # Named after the config file, so another table's run is another model.
    version = next((output / "export").glob("*/*"))
    assert version.parent.name == "shop_shared_bottom"
    serve = tf.saved_model.load(str(version)).signatures["serving_default"]
    # Inputs are named after the config's columns ("Age" stays "Age");
    # columns that cannot be input names become one ("Clothing ID").
    answer = serve(clothing_id=tf.constant([3], tf.int64),
                   Age=tf.constant([30.0]),
                   review_text=tf.constant(["fits well and feels soft"]),
                   division_name=tf.constant(["Petite"]),
                   viewed_ids=tf.constant([[7, 3, 12, 5, 30]], tf.int64))
    assert metrics["rows"] == {"train": 1050, "validation": 150, "test": 300}
    assert answer["stars"].shape == (1, 5)
    # The classes' names beside their probabilities, and in metrics.json.
    assert answer["stars_classes"].numpy().tolist() == [
        [b"1", b"2", b"3", b"4", b"5"]]
    assert metrics["test"]["tasks"]["stars"]["classes"] == [
        "1", "2", "3", "4", "5"]
    assert float(answer["recommended"][0, 0]) > 0.5
    # The network and the three baselines were candidates of each task's
    # ensemble, whatever it chose (the SavedModel above serves it).
    assert metrics["ensemble"]["candidates"] == 4
    assert set(metrics["ensemble"]["weights"]) == {"stars", "recommended"}
    assert "## Ensemble" in (output / "report.md").read_text()


def test_the_table_recipe_ensembles_by_default_and_others_do_not():
    from mtzoo.recipes import definitions
    from mtzoo.runs.config import RunConfig
    from mtzoo.runs.config import resolve

    def resolved(recipe, **settings):
        return resolve(RunConfig(recipe, **settings),
                       definitions.get(recipe)).ensemble

    assert resolved("synthetic") is False
    assert resolved("synthetic", tune=2) is True
    assert resolved("synthetic", ensemble=True) is True
    assert definitions.get("table").ensemble is True
    with pytest.raises(ValueError, match="ensemble` must be true or false"):
        resolved("synthetic", ensemble="yes")


def test_a_tables_patience_is_sized_to_its_rows_unless_given(tmp_path):
    from mtzoo.recipes import definitions
    from mtzoo.runs.config import RunConfig
    from mtzoo.runs.config import resolve
    from mtzoo.runs.config import sized_patience

    # 400 steps' worth of whole epochs, between 2 and 6.
    assert sized_patience(4_000, 512) == 6  # 8 steps an epoch
    assert sized_patience(51_395, 512) == 4  # 101
    assert sized_patience(1_000_000, 512) == 2
    path = tmp_path / "t.toml"
    path.write_text('[data]\ntrain = "x.csv"\n[tasks.a]\nkind = "binary"\n')

    def patience(recipe, **settings):
        return resolve(RunConfig(recipe, **settings),
                       definitions.get(recipe)).patience

    assert patience("table", options={"config": str(path)}) is None
    assert patience("table", options={"config": str(path)}, patience=3) == 3
    path.write_text(path.read_text() + "[training]\npatience = 1\n")
    assert patience("table", options={"config": str(path)}) == 1
    assert patience("synthetic") == 2


def test_init_config_names_kinds_and_reasons_without_tensorflow(tmp_path):
    import subprocess
    import sys

    rng = np.random.default_rng(1)
    rows = 2_000
    pd.DataFrame({
        "s": rng.integers(1, 301, rows),        # student ids, no "id" name
        "year": rng.integers(1990, 2020, rows),  # a number
        "votes": rng.integers(0, 100_000, rows),
        "score": rng.normal(size=rows),
        # Lecturer ids with some missing: pandas reads them as floats.
        "d": np.where(rng.random(rows) < 0.1, np.nan,
                      rng.integers(0, 150, rows)),
        # Dates as US strings and Unix seconds: times, not features.
        "taken on": pd.Series(pd.date_range("2024-01-01", periods=rows,
                                            freq="h")).dt.strftime(
                                                "%m/%d/%Y %H:%M"),
        "timestamp": 1_700_000_000 + np.arange(rows) * 60,
        "event_time_ms": 1_600_000_000_000 + np.arange(rows) * 1000,
        # Prices with one typo: numbers, the typo named (not 2,000
        # distinct strings).
        "price": np.where(np.arange(rows) == 16, "1O.5",
                          rng.lognormal(2, 1, rows).round(2).astype(str)),
    }).to_csv(tmp_path / "lectures.csv", index=False)
    code = ("import sys\nfrom mtzoo import cli\n"
            "code = cli.main(['init-config', 'lectures.csv'])\n"
            "print(sorted(m for m in ('tensorflow', 'keras') "
            "if m in sys.modules), code)")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[] 0"
    assert "  s: categorical (integers 1..300, nearly all used" in done.stdout
    assert "  votes: numeric (integers from" in done.stdout
    assert ("  price: numeric (numbers, but 1 of 2,000 values is not: "
            "'1O.5'; blank them") in done.stdout
    assert ("  taken on: time, not a feature (dates and times from "
            "2024-01-01 to 2024-03-24)") in done.stdout
    assert ("  timestamp: time, not a feature (dates and times from "
            "2023-11-14") in done.stdout
    assert ("  event_time_ms: time, not a feature (dates and times from "
            "2020-09-13") in done.stdout
    config = table.tomllib.loads((tmp_path / "lectures.toml").read_text())
    assert {c: f["kind"] for c, f in config["features"].items()} == {
        "s": "categorical", "year": "numeric", "votes": "numeric",
        "score": "numeric", "d": "categorical", "price": "numeric"}
    assert "  d: categorical (integers 0..149, nearly all used" in \
        done.stdout and "(whole numbers, some missing)" in done.stdout
    # Rows with a time are events: split by the first time column.
    assert config["data"]["split"] == "time"
    assert config["data"]["time_column"] == "taken on"


def test_a_time_split_orders_dates_in_time_not_as_text(tmp_path):
    rows = 400
    when = pd.Series(pd.date_range("2023-12-20", periods=rows, freq="6h"))
    frame = pd.DataFrame({"when": when.dt.strftime("%m/%d/%Y %H:%M"),
                          "price": np.arange(rows, dtype=float),
                          "clicked": np.arange(rows) % 2})
    frame = frame.sample(frac=1.0, random_state=0)
    frame.to_csv(tmp_path / "events.csv", index=False)
    config = tmp_path / "events.toml"
    config.write_text('[data]\ntrain = "events.csv"\nsplit = "time"\n'
                      'time_column = "when"\n[features.price]\n'
                      '[tasks.clicked]\nkind = "binary"\n')
    parts = table.split_frame(table.load_config(config), seed=0)
    # As text, "01/..." of 2024 would sort before "12/..." of 2023.
    times = [pd.to_datetime(p["when"], format="%m/%d/%Y %H:%M")
             for p in parts]
    assert times[0].max() < times[1].min() and times[1].max() < \
        times[2].min()
    assert [len(p) for p in parts] == [280, 40, 80]

    frame.iloc[7, 0] = "soon"
    frame.to_csv(tmp_path / "events.csv", index=False)
    with pytest.raises(ValueError, match=r"time split expects numbers or "
                                         r"dates and times in column 'when'"
                                         r", but line 9 of '.*' has 'soon'"):
        table.split_frame(table.load_config(config), seed=0)

    frame = frame.drop(columns="when").assign(when=when.to_numpy())
    frame.to_csv(tmp_path / "events.csv", index=False)
    config.write_text(config.read_text().replace(
        "[features.price]", '[features.price]\n[features.when]'))
    with pytest.raises(ValueError, match=r"\[features.\"when\"\] holds "
                                         r"dates and times"):
        table.feature_specs(table.load_config(config),
                            table.read_table(str(tmp_path / "events.csv")))


def test_an_empty_data_file_is_named(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(table.ConfigError, match="'.*empty.csv' is empty"):
        table.read_table(str(tmp_path / "empty.csv"))


def test_errors_name_the_files_line_and_the_split_is_saved(tmp_path,
                                                           capsys):
    frame = _shop_table(rows=300)
    frame["Age"] = frame["Age"].astype(object)
    frame.loc[15, "Age"] = "abc"  # data row 15 is line 17 of the file
    frame.to_csv(tmp_path / "shop.csv", index=False)
    config = tmp_path / "shop.toml"
    config.write_text('[data]\ntrain = "shop.csv"\nsplit = "random"\n'
                      '[features."Age"]\nkind = "numeric"\n'
                      '[features."Clothing ID"]\nkind = "categorical"\n'
                      '[tasks.recommended]\nkind = "binary"\n'
                      'label = "Recommended IND"\n'
                      '[training]\nepochs = 1\n')
    output = tmp_path / "run"
    assert cli.main(["train", "table", "--config", str(config),
                     "--output-dir", str(output), "--no-export",
                     "--no-baselines", "--quiet"]) == 2
    assert "line 17 of '" in capsys.readouterr().err
    frame.loc[15, "Age"] = 40
    frame["outcome"] = np.where(frame["Recommended IND"] == 1, "hit",
                                "miss")
    frame.to_csv(tmp_path / "shop.csv", index=False)
    # A positive value no row holds would train on one class.
    typo = tmp_path / "typo.toml"
    typo.write_text(config.read_text().replace(
        'label = "Recommended IND"', 'label = "outcome"\npositive = "Hit"'))
    assert cli.main(["train", "table", "--config", str(typo),
                     "--output-dir", str(tmp_path / "typo"), "--no-export",
                     "--no-baselines", "--quiet"]) == 2
    assert ("holds the same class (positive = 'Hit' matches no row)"
            in capsys.readouterr().err)
    assert cli.main(["train", "table", "--config", str(config),
                     "--output-dir", str(output), "--no-export",
                     "--no-baselines", "--quiet"]) == 0
    split = pd.read_csv(output / "split.csv")
    assert sorted(split["line"]) == list(range(2, 302))
    assert split["split"].value_counts().to_dict() == {
        "train": 210, "test": 60, "validation": 30}
