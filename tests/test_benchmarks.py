"""Benchmark scripts run, and the docs show what their JSON holds."""

import argparse
import importlib.util
import json
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CENSUS = ROOT.parent / "shared" / "data" / "census-income"


SCRIPTS = {"quality": "quality.py",
           "synthetic_correlation": "synthetic_correlation.py",
           "speed": "speed.py", "peers": "peers/run.py",
           "weighting": "weighting.py", "pipeline": "pipeline.py",
           "xla": "xla.py", "peers_movielens": "peers/movielens.py",
           "retrieval_serving": "retrieval_serving.py",
           "text_features": "text_features.py",
           "text_encoding": "text_encoding.py", "transfer": "transfer.py",
           "quickstart": "quickstart.py", "tuning": "tuning.py",
           "mmoe_paper": "mmoe_paper.py", "regression": "regression.py",
           "impressions_gap": "impressions_gap.py",
           "dropout": "dropout.py", "own_tables": "own_tables.py",
           "history": "history.py", "next_item": "next_item.py",
           "cold_start": "cold_start.py",
           "streamed_table": "streamed_table.py", "exchange": "exchange.py",
           "profile": "profile.py", "tuning_search": "tuning.py",
           "ensemble_serving": "ensemble_serving.py",
           "run_overhead": "run_overhead.py",
           "export_time": "export_time.py"}
HELPERS = {"gradient_boosting": "gradient_boosting.py"}


def _script(name):
    spec = importlib.util.spec_from_file_location(
        f"benchmark_{name}",
        ROOT / "benchmarks" / {**SCRIPTS, **HELPERS}[name])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_readme_tables_match_the_json(name):
    content = json.loads((RESULTS / f"{name}.json").read_text())
    module = _script(name)
    if name == "synthetic_correlation":
        table = module.markdown_table(content["summary"],
                                      content["settings"]["models"])
    elif name in ("pipeline", "retrieval_serving"):  # one flat record
        table = module.markdown_table(content)
    elif name == "profile":  # one run's record
        table = module.markdown(content)
    elif name == "tuning_search":  # one search's record
        table = module.search_table(content)
    elif name == "mmoe_paper":
        table = module.markdown_table(content["summary"],
                                      content["learning_rates"])
    else:
        table = module.markdown_table(content["summary"])
    docs = "\n".join(p.read_text() for p in [
        ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    assert table.strip() in docs
    if name == "peers":  # the targets, judged from the same JSON
        targets = module.targets_table(content["summary"])
        assert targets.strip() in docs
        table += "\n" + targets
    assert (RESULTS / f"{name}.md").read_text() == table


@pytest.mark.large
def test_quality_benchmark_runs_and_resumes(tmp_path, monkeypatch):
    if not CENSUS.is_dir():
        pytest.skip(f"real data not available: {CENSUS}")
    module = _script("quality")
    output = tmp_path / "quality.json"
    flags = ["--data-dir", str(CENSUS), "--models", "mmoe", "--seeds", "2",
             "--output", str(output), "--max-rows=3000", "--epochs=3",
             "--batch-size=128", "--steps-per-execution=1"]
    module.main(flags[:5] + ["1"] + flags[6:])
    first = json.loads(output.read_text())
    assert [(r["model"], r["seed"]) for r in first["runs"]] == [
        ("lightgbm", 0), ("mmoe", 0)]
    # Seed 0 is kept, seed 1 added; in this process (the first run
    # checked the fresh process).
    monkeypatch.setattr(module.common, "run_isolated",
                        module.common.run_in_this_process)
    module.main(flags)
    content = json.loads(output.read_text())
    assert content["runs"][:2] == first["runs"]
    assert [r["seed"] for r in content["runs"]] == [0, 0, 1, 1]
    anchor = content["summary"]["lightgbm"]
    assert 0.8 < anchor["income_auc"]["mean"] <= 1.0
    assert 0.9 < anchor["marital_auc"]["mean"] <= 1.0
    entry = content["summary"]["mmoe"]
    # Trained enough to rank (a few steps only can rank income backwards:
    # the shared experts pick up marital status first).
    assert 0.8 < entry["income_auc"]["mean"] <= 1.0
    assert entry["seeds"] == [0, 1]
    table = output.with_suffix(".md").read_text()
    assert "| `mmoe` |" in table and "| `lightgbm` |" in table


def test_an_isolated_run_that_dies_is_reported_not_awaited():
    import multiprocessing
    import os
    import threading

    module = _script("quality")
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=os._exit, args=(3,))
    child.start()
    # In a daemon thread, so that a wait forever fails the test instead.
    result = []
    waiting = threading.Thread(target=lambda: result.append(
        module.common._result_of(child, queue)), daemon=True)
    waiting.start()
    waiting.join(timeout=60)
    assert result, "still waiting for a process that has ended"
    status, message = result[0]
    child.join()
    assert status == "error" and "exit code 3" in message


def test_gradient_boosting_anchor_scores_each_task_on_its_metric(
        monkeypatch):
    import numpy as np
    import pandas as pd

    import mtzoo

    module = _script("gradient_boosting")
    # One thread: OpenMP threads spinning beside the other test worker took
    # 35 s for what runs in 0.4 s alone.
    monkeypatch.setitem(module.PARAMS, "n_jobs", 1)
    rng = np.random.default_rng(0)
    rows = 3000
    frame = pd.DataFrame({
        "x": rng.normal(size=rows),
        "city": rng.choice(["a", "b", "c"], size=rows)})
    signal = frame["x"] + (frame["city"] == "a") * 2.0
    frame["clicked"] = (signal + rng.normal(size=rows) > 1).astype("float32")
    frame["spend"] = 10 * signal + rng.normal(size=rows)
    frame.loc[::7, "spend"] = np.nan  # missing labels are left out
    features = mtzoo.features.adapt(
        [mtzoo.features.NumericFeature("x"),
         mtzoo.features.CategoricalFeature("city")], frame)
    tasks = [mtzoo.tasks.binary("clicked"), mtzoo.tasks.regression("spend")]
    test = frame.iloc[2500:].copy()
    test.loc[test.index[:5], "city"] = "never seen"
    scores = module.per_task(frame.iloc[:2000], frame.iloc[2000:2500], test,
                             features, tasks, seed=0)
    assert scores["clicked"]["auc"] > 0.85
    # The noise's standard deviation is 1; the label's is about 15.
    assert scores["spend"]["rmse"] < 2.0
    assert scores["clicked"]["trees"] >= 1


@pytest.mark.large
def test_synthetic_correlation_benchmark_runs(tmp_path):
    module = _script("synthetic_correlation")
    output = tmp_path / "synthetic.json"
    content = module.main(["--correlations", "1.0", "0.0", "--models",
                           "shared_bottom", "mmoe", "--repeats", "2",
                           "--epochs", "2", "--rows", "600",
                           "--output", str(output)])
    assert set(content["summary"]) == {"1.0", "0.0"}
    assert content["summary"]["0.0"]["mmoe"]["repeats"] == 2
    assert len(content["runs"]) == 8
    assert all(len(r["train_loss"]) == 2 for r in content["runs"])
    assert output.with_suffix(".png").stat().st_size > 0


@pytest.mark.large
def test_speed_benchmark_measures_one_architecture(tmp_path):
    if not CENSUS.is_dir():
        pytest.skip(f"real data not available: {CENSUS}")
    module = _script("speed")
    output = tmp_path / "speed.json"
    content = module.main(["--data-dir", str(CENSUS), "--models",
                           "shared_bottom", "--epochs", "2",
                           "--max-rows", "20000", "--output", str(output)])
    entry = content["summary"]["shared_bottom"]
    assert entry["train_examples_per_s"] > 0
    assert entry["inference_examples_per_s"] > 0
    assert 0 < entry["latency_ms_p50"] <= entry["latency_ms_p99"]
    assert entry["peak_rss_mb"] > 100
    assert entry["income_auc"] > 0.8
    run = json.loads(output.read_text())["runs"][0]
    assert run["train_rows"] <= 20000 and run["test_rows"] <= 20000
    assert json.loads(output.read_text())["summary"] == content["summary"]
    assert "| `shared_bottom` |" in output.with_suffix(".md").read_text()


def test_peer_summary_puts_mtzoo_against_each_peer():
    module = _script("peers")
    runs = []
    for name, rate in (("mtzoo", 30_000.0), ("deepctr", 60_000.0)):
        for seed, auc in enumerate((0.94, 0.96)):
            runs.append({"name": name, "library": name, "seed": seed,
                         "latency_path": "f", "income_auc": auc,
                         "marital_auc": auc, "train_examples_per_s": rate,
                         "inference_examples_per_s": rate * 4,
                         "latency_ms_p50": 1.0, "latency_ms_p99": 2.0,
                         "peak_rss_mb": 1000.0})
    summary = module.summarize(runs)
    assert summary["mtzoo"]["income_auc"]["mean"] == pytest.approx(0.95)
    assert summary["deepctr"]["mtzoo_ratio"]["train_examples_per_s"] == 0.5
    assert "| mtzoo / deepctr | 0.50x |" in module.markdown_table(summary)


def test_peer_run_hands_mtzoo_a_full_speed_command(monkeypatch):
    module = _script("peers")
    commands = []

    def fake_run(command, **kwargs):
        commands.append(command)
        output = pathlib.Path(command[command.index("--output") + 1])
        output.write_text(json.dumps({"versions": {
            "mtzoo": "0", "keras": "3", "tensorflow": "2"}}))
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    args = argparse.Namespace(data_dir="census", epochs=3,
                              steps_per_execution=16)
    result = module.run_mtzoo(1, args)
    assert result["latency_path"] == "SavedModel serving_default"
    command = commands[0]
    assert command[command.index("--child") + 1] == "mmoe"
    assert command[command.index("--data-dir") + 1] == "census"
    assert "--max-rows" not in command  # peers compare on the full data


def test_tuning_trials_change_one_thing_from_their_base():
    module = _script("tuning")
    names = [t[0] for t in module.TRIALS]
    assert len(names) == len(set(names))
    for name, _, base, change in module.TRIALS:
        setting = module.settings(name)
        if base is None:
            continue
        assert base in names[:names.index(name)]  # bases run first
        before = module.settings(base)
        differing = {(part, key) for part in setting
                     for key in set(setting[part]) | set(before[part])
                     if setting[part].get(key) != before[part].get(key)}
        assert differing == {(part, key) for part, values in change.items()
                             for key in values
                             if before[part].get(key) != values[key]}, name
        assert differing, f"{name} changes nothing"
