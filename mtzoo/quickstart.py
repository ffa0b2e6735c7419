"""The quickstart job: train a multi-task model on synthetic data, save it.

Runs offline: the data is simulated (`mtzoo.data.synthetic.impressions`).
Writes `model.keras` and `metrics.json` to the output directory.
"""

from __future__ import annotations

import json
import os
import time

import keras
import numpy as np

from mtzoo import data as data_lib
from mtzoo import environment
from mtzoo import features as features_lib
from mtzoo import models
from mtzoo.data import synthetic


def tasks_for(model_name: str) -> list:
    """The synthetic tasks an architecture can train on."""
    if model_name == "aitm":
        return synthetic.funnel_tasks()
    if model_name == "esmm":
        return synthetic.esmm_tasks()
    return synthetic.impression_tasks()


def run(
    output_dir: str = "runs/quickstart",
    *,
    model_name: str = "mmoe",
    rows: int = 50_000,
    epochs: int = 10,
    batch_size: int = 512,
    learning_rate: float = 2e-3,
    seed: int = 0,
    verbose: int = 1,
) -> dict:
    """Trains, evaluates, saves and reloads a model; returns the metrics.

    The rows are split 70/10/20 into train, validation (early stopping) and
    test (the reported metrics).
    """
    models.get(model_name)  # fails early on an unknown name
    keras.utils.set_random_seed(seed)
    frame = synthetic.impressions(rows, seed=seed)
    train_end, valid_end = int(0.7 * rows), int(0.8 * rows)
    train = frame.iloc[:train_end]
    valid = frame.iloc[train_end:valid_end]
    test = frame.iloc[valid_end:]

    tasks = tasks_for(model_name)
    features = features_lib.adapt(synthetic.impression_features(), train)
    model = models.build(model_name, features, tasks)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))

    train_data = data_lib.from_dataframe(
        train, features, tasks, batch_size=batch_size, shuffle=True,
        seed=seed)
    valid_data = data_lib.from_dataframe(
        valid, features, tasks, batch_size=4096)
    test_data = data_lib.from_dataframe(test, features, tasks,
                                        batch_size=4096)
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=2, restore_best_weights=True)
    start = time.perf_counter()
    # The dataset reshuffles itself each epoch; shuffle=False only stops
    # Keras warning that it cannot shuffle a tf.data.Dataset.
    history = model.fit(train_data, validation_data=valid_data,
                        epochs=epochs, callbacks=[stop], shuffle=False,
                        verbose=verbose)
    seconds = time.perf_counter() - start
    test_metrics = model.evaluate(test_data, return_dict=True, verbose=0)

    os.makedirs(output_dir, exist_ok=True)
    model_path = models.save_model(
        model, os.path.join(output_dir, "model.keras"))
    reloaded = models.load_model(model_path)
    sample = data_lib.model_inputs(test.iloc[:256], features)
    expected = model.predict(sample, verbose=0)
    actual = reloaded.predict(sample, verbose=0)
    reload_difference = max(
        float(np.max(np.abs(expected[k] - actual[k]))) for k in expected)

    from sklearn.metrics import roc_auc_score
    oracle = {"click_auc": float(roc_auc_score(test["click"],
                                               test["p_click"]))}
    result = {
        "job": "quickstart",
        "model": model_name,
        "seed": seed,
        "rows": {"train": len(train), "validation": len(valid),
                 "test": len(test)},
        "epochs_run": len(history.history["loss"]),
        "train_seconds": round(seconds, 2),
        "test": {k: float(v) for k, v in test_metrics.items()},
        "oracle": oracle,
        "model_file": model_path,
        "reload_max_abs_difference": reload_difference,
        **environment.describe(),
    }
    with open(os.path.join(output_dir, "metrics.json"), "w") as f:
        json.dump(result, f, indent=2)
    return result


def summary(result: dict) -> str:
    """A short, human-readable report of `run`'s result."""
    lines = [
        f"model: {result['model']}  seed: {result['seed']}  "
        f"epochs: {result['epochs_run']}  "
        f"train time: {result['train_seconds']} s",
        "test metrics:",
    ]
    for key, value in sorted(result["test"].items()):
        lines.append(f"  {key:32s} {value:.4f}")
    lines.append(f"best possible click AUC (true probabilities): "
                 f"{result['oracle']['click_auc']:.4f}")
    lines.append(f"saved: {result['model_file']} (reloaded with "
                 f"safe_mode=True, max abs prediction difference "
                 f"{result['reload_max_abs_difference']:.2e})")
    return "\n".join(lines)
