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


@pytest.mark.large
def test_train_table_writes_what_every_recipe_writes(tmp_path):
    _shop_table().to_csv(tmp_path / "shop.csv", index=False)
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
    assert metrics["test"]["tasks"]["recommended"]["auc"] > 0.95
    assert metrics["test"]["tasks"]["stars"]["examples"] == 300
    for name in ("report.md", "learning_curves.png", "model.keras"):
        assert (output / name).is_file()
    import tensorflow as tf

    version = next((output / "export").glob("*/*"))
    serve = tf.saved_model.load(str(version)).signatures["serving_default"]
    answer = serve(clothing_id=tf.constant([3], tf.int64),
                   age=tf.constant([30.0]),
                   review_text=tf.constant(["fits well and feels soft"]),
                   division_name=tf.constant(["Petite"]))
    assert answer["stars"].shape == (1, 5)
    assert float(answer["recommended"][0, 0]) > 0.5
