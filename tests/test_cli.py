"""The `mtzoo` command as a user runs it, in a fresh process."""

import json
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(*args, **kwargs):
    return subprocess.run([sys.executable, *args], capture_output=True,
                          text=True, timeout=600, cwd=kwargs.get("cwd"))


def test_models_command_describes_each_architecture():
    result = _run("-m", "mtzoo.cli", "models")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines][:2] == ["single_task",
                                                       "shared_bottom"]
    assert any("Ma et al., KDD 2018" in line for line in lines)


@pytest.mark.large
@pytest.mark.xla  # the command as a user runs it: XLA on CPU
def test_quickstart_trains_saves_and_reloads(tmp_path):
    # Baselines are fitted by the census recipe test; ESMM's outputs are
    # the Ali-CCP recipe test's.
    model = "mmoe"
    result = _run("-m", "mtzoo.cli", "quickstart", "--model", model,
                  "--rows", "30000", "--epochs", "4", "--output-dir",
                  str(tmp_path), "--no-baselines")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "combined score" in result.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["baselines"] == {}
    assert metrics["model"] == model and metrics["seed"] == 0
    assert metrics["reload_max_abs_difference"] == 0.0
    assert (tmp_path / "model.keras").is_file()
    assert (tmp_path / metrics["saved_model"] / "saved_model.pb").is_file()
    assert metrics["versions"]["keras"].startswith("3.")
    assert metrics["hardware"]["cpu_count"] >= 1
    assert 0.55 < metrics["test"]["tasks"]["click"]["auc"] <= 1.0


def test_listing_and_flag_checking_do_not_import_tensorflow():
    # A recipe's --help and a mistyped flag answer without TensorFlow.
    code = ("import contextlib, io, sys\n"
            "from mtzoo import cli\n"
            "for command in (['models'], ['recipes']):\n"
            "    assert cli.main(command) == 0\n"
            "for command, code in ((['--help'], 0), (['--epochz', '3'], 2),\n"
            "                      (['--weighting', 'nope'], 2),\n"
            "                      (['--weight-averaging', '1.5'], 2)):\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        try:\n"
            "            cli.main(['train', 'census_income', *command])\n"
            "        except SystemExit as exit:\n"
            "            assert exit.code == code, (command, exit.code)\n"
            "print(sorted(m for m in ('tensorflow', 'keras') "
            "if m in sys.modules))")
    result = _run("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert "unrecognized arguments: --epochz 3" in result.stderr
    assert "must be a momentum in [0, 1)" in result.stderr


def test_train_help_lists_every_builder_keyword_with_its_default():
    result = _run("-m", "mtzoo.cli", "train", "synthetic", "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    # The synthetic recipe's own default, and a builder's.
    assert "--dot-interaction DOT_INTERACTION (single_task" in text
    assert "default 32)" in text
    assert ("--num-task-experts NUM_TASK_EXPERTS (ple; default 2)"
            in text)
    assert "--ctr-task" not in text  # set by the recipe, not a flag


def test_catalog_describes_every_builder_and_recipe():
    from mtzoo import catalog
    from mtzoo import models
    from mtzoo import recipes
    from mtzoo.training import weighting

    assert list(catalog.ARCHITECTURES) == models.available()
    assert list(catalog.RECIPES) == recipes.available()
    for name, info in catalog.RECIPES.items():
        assert recipes.get(name).architectures == info.architectures
        assert set(info.architectures) <= set(models.available())
    # What the command line reads without importing the builders.
    for name in catalog.ARCHITECTURES:
        assert catalog.hyperparameters(name) == models.hyperparameters(name)
    assert catalog.WEIGHTINGS == tuple(sorted(weighting.STRATEGIES))


def test_recipes_command_lists_recipes():
    result = _run("-m", "mtzoo.cli", "recipes")
    assert result.returncode == 0, result.stderr
    for name in ("census_income", "movielens", "ali_ccp", "aliexpress",
                 "synthetic"):
        assert name in result.stdout


def test_train_command_rejects_unknown_recipe():
    result = _run("-m", "mtzoo.cli", "train", "imagenet")
    assert result.returncode == 2
    assert "unknown recipe 'imagenet'" in result.stderr


def test_quickstart_rejects_unknown_model(tmp_path, capsys):
    from mtzoo import cli

    with pytest.raises(SystemExit) as exited:
        cli.main(["quickstart", "--model", "nope", "--output-dir",
                  str(tmp_path)])
    assert exited.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, re.S)
    test_command = commands[1].strip()
    assert test_command in ci
