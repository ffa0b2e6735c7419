"""Every recipe with every architecture that fits it, on small data."""

import json
import pathlib
import subprocess
import sys

import keras
import pytest

import mtzoo
from mtzoo import recipes
from mtzoo import runs
from mtzoo.runs import flags as flags_lib

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
SMALL = {
    "census_income": ["--data-dir", str(SHARED / "census-income"),
                      "--max-rows", "1500"],
    "movielens": ["--data-dir", str(SHARED / "movielens-100k"),
                  "--max-rows", "3000"],
    "ali_ccp": ["--data-dir", str(SHARED / "ali-ccp")],
    "aliexpress": ["--data-dir", str(SHARED / "aliexpress")],
    "synthetic": ["--rows", "3000"],
    "amazon_reviews": ["--data-dir", str(SHARED / "amazon-musical-instruments"),
                       "--max-rows", "1200"],
}
DATA_FOLDER = {"census_income": "census-income",
               "movielens": "movielens-100k", "ali_ccp": "ali-ccp",
               "aliexpress": "aliexpress",
               "amazon_reviews": "amazon-musical-instruments"}
#: Recipes with a test of their own (the table recipe needs a config).
OWN_TESTS = {"table"}


def _covering_pairs():
    """(recipe, architecture) pairs running every architecture and every
    recipe at least once, spread over the recipes; the architectures
    themselves are tested on every feature kind in tests/models."""
    runs = {name: [] for name in recipes.available()
            if name not in OWN_TESTS}
    architectures = dict.fromkeys(
        a for name in runs for a in recipes.get(name).architectures)
    for architecture in architectures:
        fitting = [n for n in runs
                   if architecture in recipes.get(n).architectures]
        runs[min(fitting, key=lambda n: len(runs[n]))].append(architecture)
    return [(name, a) for name, chosen in runs.items() for a in chosen]


MATRIX = _covering_pairs()
GATED = {"omoe", "mmoe", "ple", "attention_gated"}


def _needs_data(recipe):
    folder = DATA_FOLDER.get(recipe)
    if folder and not (SHARED / folder).is_dir():
        pytest.skip(f"real data not available: {SHARED / folder}")


def _run(recipe, tmp_path, *flags, baselines=False):
    _needs_data(recipe)
    # One step per execution and no XLA compile faster; the equivalence
    # with more steps is tested below, and the resume test trains with the
    # XLA default. Baselines are checked by the census run alone.
    args = flags_lib.build_parser(recipes.get(recipe)).parse_args(
        SMALL[recipe] + ["--epochs", "1", "--batch-size", "256",
                         "--steps-per-execution", "1",
                         "--jit-compile", "off",
                         *([] if baselines else ["--no-baselines"]),
                         "--output-dir", str(tmp_path), *flags])
    return runs.run(flags_lib.config_from_args(recipes.get(recipe), args))


def test_every_recipe_has_a_script():
    for name in recipes.available():
        script = ROOT / "recipes" / f"{name}.py"
        assert script.is_file()
        assert f'"train", "{name}"' in script.read_text()


@pytest.mark.large
@pytest.mark.parametrize("recipe, model", MATRIX,
                         ids=[f"{r}-{a}" for r, a in MATRIX])
def test_recipe_runs_with_architecture(recipe, model, tmp_path):
    # Two towers are a retrieval architecture: movielens adds its task.
    extra = ["--retrieval"] if model == "two_tower" else []
    result = _run(recipe, tmp_path, "--model", model, "--no-export", *extra)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["recipe"] == recipe and metrics["model"] == model
    assert metrics["epochs_run"] == 1
    assert metrics["reload_max_abs_difference"] == 0.0
    tasks = metrics["test"]["tasks"]
    assert set(tasks) == {t for t in result["test"]["tasks"]}
    for values in tasks.values():
        assert values["examples"] > 0
    report = (tmp_path / "report.md").read_text()
    for task in tasks:
        assert f"| {task} |" in report
    assert (tmp_path / "learning_curves.png").stat().st_size > 1000
    assert (tmp_path / "gate_utilization.png").exists() == (model in GATED)
    assert (tmp_path / "model.keras").is_file()
    assert any((tmp_path / "tensorboard").rglob("*tfevents*"))


@pytest.mark.large
def test_census_recipe_writes_everything(tmp_path):
    # 3 epochs on 3,000 rows reach test AUC 0.91-0.93 (income) and 0.988
    # (marital) over seeds 0-3; chance is 0.5.
    result = _run("census_income", tmp_path, "--model", "mmoe",
                  "--max-rows", "3000", "--epochs", "3", "--batch-size",
                  "128", baselines=True)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test"]["tasks"]["income"]["auc"] > 0.85
    assert metrics["test"]["tasks"]["marital"]["auc"] > 0.95
    # Baselines on the same rows, beside the network everywhere.
    for task in ("income", "marital"):
        entry = metrics["baselines"][task]
        assert entry["gradient_boosting"]["auc"] > 0.8
        assert entry["constant"]["examples"] == \
            metrics["test"]["tasks"][task]["examples"]
    report = (tmp_path / "report.md").read_text()
    assert "## Baselines" in report and "| income | auc |" in report
    shown = runs.summary(result)
    assert "income baselines (auc): gradient boosting" in shown
    assert len(metrics["losses_to_baselines"]) == shown.count(
        "below a baseline:")
    for key in ("seed", "versions", "hardware", "epochs_run",
                "train_examples_per_s", "hyperparameters"):
        assert key in metrics
    version = tmp_path / metrics["saved_model"]
    assert version.name == "1" and (version / "saved_model.pb").is_file()
    report = mtzoo.export.verify(version)
    assert report["ok"], report
    assert set(report["outputs"]) == {"income", "marital"}


@pytest.mark.large
def test_movielens_retrieval_reports_recall_and_serves_top_k(tmp_path):
    # With histories in the query tower, served from raw ids.
    _run("movielens", tmp_path, "--model", "mmoe", "--retrieval",
         "--task-weights", "movie=1,liked=0.5", "--history", "5")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    movie = metrics["test"]["tasks"]["movie"]
    for k in (1, 10, 50, 100):
        assert 0 <= movie[f"recall_at_{k}"] <= 1
        assert 0 <= movie[f"ndcg_at_{k}"] <= movie[f"recall_at_{k}"] + 1e-9
    assert movie["recall_at_100"] >= movie["recall_at_10"]
    assert "| movie | 1 |" in (tmp_path / "report.md").read_text()
    assert "recall_at_100" in (tmp_path / "report.md").read_text()
    version = tmp_path / metrics["saved_model"]
    assert mtzoo.export.verify(version)["ok"]
    # The fresh process above loaded it without mtzoo; the two top-k
    # signatures are checked here.
    import tensorflow as tf

    loaded = tf.saved_model.load(str(version))
    top_k = loaded.signatures["top_k"]
    inputs = top_k.structured_input_signature[1]
    row = {"user_id": [1, 10**9], "gender": ["M", "?"], "age": [30.0, 40.0],
           "occupation": ["writer", "astronaut"], "zip_prefix": ["941", "x"],
           "hour": [10, 3], "weekday": [1, 6],
           # Histories of any length, padded with -1 at the end.
           "history": [[50, 172, 133, 7, 9, 11, 12], [-1] * 7],
           "rating_history": [[5, 3, 4, 4, 1, 2, 5], [-1] * 7]}
    args = {k: tf.constant(row[k], inputs[k].dtype) for k in inputs}
    assert "movie_id" not in inputs and "user_id" in inputs
    assert {"history", "rating_history"} <= set(inputs)
    known, unseen = top_k(**args)["ids"].numpy().tolist()
    assert len(known) == 100 and len(set(known)) == 100
    assert len(unseen) == 100
    # top_k_unseen: the same query, never the movies of its history.
    history = {50, 172, 133, 7, 9, 11, 12}
    not_seen = loaded.signatures["top_k_unseen"](**args)["ids"][0]
    not_seen = not_seen.numpy().tolist()
    assert not history & set(not_seen)
    assert [i for i in known if i not in history][:50] == not_seen[:50]


@pytest.mark.large
def test_a_history_run_reports_its_lift_and_the_next_movie(tmp_path):
    result = _run("movielens", tmp_path, "--history", "5", "--no-export",
                  baselines=True)
    beside = result["companions"]
    assert set(beside) == {"without history", "next movie from the history"}
    without = beside["without history"]
    assert without["options"] == {"history": 0, "history_pooling": None}
    for task in ("rating", "liked"):
        lift = without["lift"][task]
        metric = lift["metric"]
        assert lift["lift"] == pytest.approx(
            result["test"]["tasks"][task][metric]
            - without["tasks"][task][metric], abs=1e-6)
    following = beside["next movie from the history"]
    assert following["lift"] == {}  # no task in common
    movie = following["tasks"]["movie"]
    assert 0 < movie["recall_at_10"] <= movie["recall_at_100"] <= 1
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["companions"]["without history"]["lift"] == without["lift"]
    assert "## Beside this run" in (tmp_path / "report.md").read_text()
    shown = runs.summary(result)
    assert "without history: rating:" in shown and "this run's lift" in shown
    assert "next movie from the history: movie: recall_at_10" in shown


@pytest.mark.large
def test_esmm_recipe_exports_three_outputs(tmp_path):
    import tensorflow as tf

    _run("ali_ccp", tmp_path, "--model", "esmm")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    # An ESMM export in a fresh process is test_export's.
    serve = tf.saved_model.load(str(tmp_path / metrics["saved_model"])) \
        .signatures["serving_default"]
    assert set(serve.structured_outputs) == {"click", "cvr", "purchase"}


def test_flags_for_other_architectures_are_refused(tmp_path):
    with pytest.raises(ValueError, match="'num_levels' does not apply to "
                                         "'mmoe'"):
        _run("synthetic", tmp_path, "--model", "mmoe", "--num-levels", "3")


def test_recipe_hyperparameters_reach_the_builder(tmp_path):
    result = _run("synthetic", tmp_path, "--model", "mmoe", "--no-export",
                  "--num-experts", "3", "--expert-units", "16,8")
    assert result["hyperparameters"]["num_experts"] == 3
    assert result["hyperparameters"]["expert_units"] == [16, 8]
    model = mtzoo.models.load_model(tmp_path / "model.keras")
    assert model.get_layer("experts").num_experts == 3


def test_script_help_explains_the_flags():
    result = subprocess.run(
        [sys.executable, str(ROOT / "recipes" / "census_income.py"),
         "--help"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    for flag in ("--model", "--epochs", "--batch-size", "--learning-rate",
                 "--seed", "--data-dir", "--output-dir", "--num-experts"):
        assert flag in result.stdout
    assert "omoe, mmoe, attention_gated" in result.stdout


@pytest.mark.large
# The two strategies a run configures beyond their name (GradNorm's alpha,
# DWA's temperature); every strategy trains in tests/training.
@pytest.mark.parametrize("strategy", ["gradnorm", "dwa"])
def test_recipe_weighting_is_logged_and_plotted(strategy, tmp_path):
    _run("synthetic", tmp_path, "--model", "mmoe", "--no-export",
         "--weighting", strategy, "--epochs", "2", "--patience", "5")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["weighting"]["name"] == strategy
    for task in ("click", "watch_time", "interest"):
        assert len(metrics["history"][f"{task}_weight"]) == 2
        assert task in metrics["final_task_weights"]
    assert (tmp_path / "task_weights.png").stat().st_size > 1000
    assert "task weighting: " + strategy in (tmp_path / "report.md").read_text()


def test_steps_per_execution_does_not_change_training(tmp_path):
    results = [_run("synthetic", tmp_path / str(steps), "--model", "mmoe",
                    "--no-export", "--epochs", "2", "--rows", "1500",
                    "--steps-per-execution", str(steps))
               for steps in (1, 4)]
    # 1050 training rows in batches of 256: 5 steps per epoch, so 4 steps
    # per execution also covers a partial last execution.
    assert results[0]["optimizer_steps"] == results[1]["optimizer_steps"] == 10
    for one, many in zip(results[0]["history"]["loss"],
                         results[1]["history"]["loss"]):
        assert many == pytest.approx(one, rel=1e-5)
    assert results[1]["test"]["tasks"]["click"]["auc"] == pytest.approx(
        results[0]["test"]["tasks"]["click"]["auc"], rel=1e-5)


def test_weight_averaging_spans_at_most_two_epochs():
    from mtzoo.training.averaging import WeightAveraging
    from mtzoo.training.averaging import capped_momentum

    assert capped_momentum(0.995, 176) == 0.995  # census, full data
    assert capped_momentum(0.995, 3) == pytest.approx(1 - 1 / 6)
    assert capped_momentum(0.0, 3) == 0.0
    off = WeightAveraging.for_run(0.0, 3)
    assert not off.enabled and off.optimizer_options == {} \
        and off.callbacks == []
    on = WeightAveraging.for_run(0.99, 176)
    assert on.optimizer_options == {"use_ema": True, "ema_momentum": 0.99}
    assert isinstance(on.callbacks[0], keras.callbacks.SwapEMAWeights)
    with pytest.raises(ValueError, match="momentum in"):
        WeightAveraging.for_run(1.0, 3)


def test_retrieval_runs_offer_exactly_the_architectures_that_train_it():
    from mtzoo import catalog

    recipe = recipes.get("movielens")
    for model in recipe.architectures:
        config = runs.RunConfig("movielens", model=model,
                                options={"retrieval": True})
        if model in catalog.RETRIEVAL_ARCHITECTURES:
            assert runs.resolve(config, recipe).model == model
        else:
            with pytest.raises(ValueError, match="with --retrieval"):
                runs.resolve(config, recipe)
    assert runs.resolve(runs.RunConfig("movielens", model="ple"),
                        recipe).options["retrieval"] is False
    help_text = flags_lib.build_parser(recipe).format_help()
    assert ("with --retrieval one of "
            + ", ".join(catalog.RETRIEVAL_ARCHITECTURES[:2])) in \
        " ".join(help_text.split())


def test_a_run_never_overwrites_another_runs_results(tmp_path,
                                                    monkeypatch):
    from mtzoo.runs import steps

    _run("synthetic", tmp_path, "--model", "mmoe", "--rows", "1500",
         "--no-export")

    # Past the check, a run prepares its data: that is as far as these go.
    class Started(Exception):
        pass

    def started(*args, **kwargs):
        raise Started

    monkeypatch.setattr(steps, "prepare", started)
    with pytest.raises(Started):  # the same run again: allowed
        _run("synthetic", tmp_path, "--model", "mmoe", "--rows", "1500",
             "--no-export", "--seed", "1")
    with pytest.raises(ValueError, match="holds the results of another "
                                         "run.*--overwrite"):
        _run("synthetic", tmp_path, "--model", "omoe", "--rows", "1500",
             "--no-export")
    with pytest.raises(Started):
        _run("synthetic", tmp_path, "--model", "omoe", "--rows", "1500",
             "--no-export", "--overwrite")


def test_tune_searches_on_validation_and_trains_the_winner(tmp_path,
                                                          monkeypatch):
    import pandas as pd

    from mtzoo.runs import steps

    built_with_xla = []
    build = steps.build

    def recording_build(recipe, config, splits, **kwargs):
        built_with_xla.append(config.jit_compile)
        return build(recipe, config, splits, **kwargs)

    monkeypatch.setattr(steps, "build", recording_build)
    result = _run("synthetic", tmp_path, "--rows", "2000", "--no-export",
                  "--tune", "2", "--jit-compile", "on", baselines=True)
    # Trials build without XLA (its executables are never freed, so a
    # long search would exhaust the process's memory mappings); the
    # winner trains as asked.
    trials = pd.read_csv(tmp_path / "tuning.csv")
    assert len(trials) == 2
    # A trial of an architecture with other tasks (ESMM) is not trained.
    trained = trials["skipped"].isna() if "skipped" in trials else \
        pd.Series(True, index=trials.index)
    assert built_with_xla == [False] * int(trained.sum()) + [True]
    assert {"model", "learning_rate", "dropout",
            "validation_score"} <= set(trials.columns)
    # The first trial is the run's own settings: the recipe's defaults.
    assert trials.loc[0, "model"] == "mmoe"
    assert trials.loc[0, "learning_rate"] == pytest.approx(2e-3)
    assert trials.loc[0, "dropout"] == pytest.approx(0.3)
    # The table has numeric features: bins are searched, from none.
    assert trials.loc[0, "piecewise_linear_bins"] == 0
    best = trials.loc[trials["validation_score"].idxmax()]
    assert result["model"] == best["model"]
    assert result["piecewise_linear_bins"] == best["piecewise_linear_bins"]
    assert result["learning_rate"] == pytest.approx(best["learning_rate"])
    assert result["tuning"]["best_validation_score"] == pytest.approx(
        best["validation_score"])
    assert result["run"]["model"] == "tuned"
    assert len(list((tmp_path / "tensorboard" / "tuning").iterdir())) == 2
    # The winner, the other trial when it reads the same inputs, and the
    # three baselines were candidates of an ensemble chosen per task.
    ensemble = result["ensemble"]
    assert ensemble["candidates"] in (4, 5)
    assert set(ensemble["weights"]) == {"click", "watch_time", "interest"}
    for task, weights in ensemble["weights"].items():
        assert sum(weights.values()) == pytest.approx(1.0, abs=1e-3)
        scores = ensemble["validation"][task]["worse_half"]
        assert scores["ensemble"] >= scores["best_single"]
    assert result["reload_max_abs_difference"] < 1e-4
    assert ("## Ensemble"
            in (tmp_path / "report.md").read_text())


def test_run_piecewise_linear_bins_encode_every_numeric_feature():
    from mtzoo import features
    from mtzoo.runs import steps

    recipe = recipes.get("synthetic")
    config = runs.resolve(runs.RunConfig(
        "synthetic", piecewise_linear_bins=8, options={"rows": 1000}),
        recipe)
    splits = steps.prepare(recipe, config)
    numeric = [s for s in splits.features
               if isinstance(s, features.NumericFeature)]
    assert numeric and all(s.piecewise_linear_bins == 8
                           and len(s.bin_edges) == 9 for s in numeric)
    assert "--piecewise-linear-bins" in flags_lib.build_parser(
        recipe).format_help()
    with pytest.raises(ValueError, match="piecewise_linear_bins"):
        runs.resolve(runs.RunConfig("synthetic", piecewise_linear_bins=-1),
                     recipe)
