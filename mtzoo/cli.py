"""The `mtzoo` command.

```
mtzoo models                      # the architectures
mtzoo recipes                     # the dataset recipes
mtzoo quickstart                  # train on synthetic data, offline
mtzoo train RECIPE [flags]        # same as python recipes/RECIPE.py
mtzoo init-config DATA.csv        # a config for `mtzoo train table`
mtzoo export verify DIR           # check a SavedModel export
```
"""

from __future__ import annotations

import argparse
import os
import sys

from mtzoo import tensorflow_import

#: Where `mtzoo quickstart` writes, one folder per model.
QUICKSTART_DIR = "runs/quickstart/{model}"


def _models(args) -> int:
    from mtzoo import catalog

    width = max(len(n) for n in catalog.ARCHITECTURES)
    for name, entry in catalog.ARCHITECTURES.items():
        paper = f" [{entry.paper}]" if entry.paper else ""
        print(f"{name:{width}s}  {entry.description}{paper}")
    return 0


def _recipes(args) -> int:
    from mtzoo import catalog

    width = max(len(n) for n in catalog.RECIPES)
    for name, recipe in catalog.RECIPES.items():
        print(f"{name:{width}s}  {recipe.description}")
        print(f"{'':{width}s}  architectures: "
              f"{', '.join(recipe.architectures)} "
              f"(default {recipe.default_model})")
    return 0


def _train(args) -> int:
    from mtzoo import catalog

    if args.recipe not in catalog.RECIPES:
        print(f"mtzoo train: unknown recipe {args.recipe!r}; available: "
              f"{', '.join(catalog.RECIPES)}", file=sys.stderr)
        return 2
    from mtzoo.runs import flags

    return flags.main(args.recipe, args.flags,
                        prog=f"mtzoo train {args.recipe}")


def _quickstart(args) -> int:
    from mtzoo.runs import flags

    return flags.main("synthetic", args.extra, prog="mtzoo quickstart",
                        output_dir=QUICKSTART_DIR)


def _export_verify(args) -> int:
    from mtzoo import export_check  # without TensorFlow: its check's own

    report = export_check.verify(args.dir, tolerance=args.tolerance)
    print(export_check.format_report(report))
    return 0 if report["ok"] else 1


def _export_catalogue(args) -> int:
    retrieval = tensorflow_import.import_quietly("mtzoo.retrieval")

    version = retrieval.export_with_catalogue(
        args.model, args.items, args.export_dir,
        model_name=args.model_name, task=args.task)
    print(f"exported {version}")
    return 0


def _init_config(args) -> int:
    import pathlib

    # Reads the file with pandas alone: no TensorFlow to start.
    from mtzoo.recipes import table
    target = pathlib.Path(args.output or table.config_name(args.data))
    if target.exists() and not args.force:
        print(f"mtzoo init-config: '{target}' exists; pass --force to "
              f"replace it.", file=sys.stderr)
        return 2
    text, kinds = table.init_config(args.data,
                                    config_folder=target.parent)
    from mtzoo.atomic import write_text

    write_text(target, text)
    for column, kind, reason in kinds:
        print(f"  {column}: {kind or 'time, not a feature'} ({reason})")
    print(f"wrote {target}: edit its [tasks], then run\n"
          f"  mtzoo train table --config {target}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mtzoo",
        description="Multi-task recommendation models for Keras 3.")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser(
        "models", help="list the architectures",
        description="List the registered architectures.").set_defaults(
            run=_models)
    commands.add_parser(
        "recipes", help="list the dataset recipes",
        description="List the recipes and the architectures each fits."
    ).set_defaults(run=_recipes)

    train = commands.add_parser(
        "train", help="run a recipe (see `mtzoo recipes`)",
        description="Run a recipe: `mtzoo train RECIPE --help` lists its "
                    "flags.", add_help=True)
    train.add_argument("recipe", help="recipe name, e.g. census_income")
    train.add_argument("flags", nargs=argparse.REMAINDER,
                       help="the recipe's flags")
    train.set_defaults(run=_train)

    init = commands.add_parser(
        "init-config", help="write a table recipe config from a data file",
        description="Write a TOML config for `mtzoo train table` from a CSV "
                    "or Parquet file: every column as a feature of the kind "
                    "its values suggest, and a task to fill in.")
    init.add_argument("data", help="a CSV or Parquet file, or a glob or "
                                   "folder of shards (quoted)")
    init.add_argument("--output", default=None,
                      help="config file to write (default: the data file's "
                           "name with .toml, in the current folder)")
    init.add_argument("--force", action="store_true",
                      help="replace an existing config")
    init.set_defaults(run=_init_config)

    quick = commands.add_parser(
        "quickstart", add_help=False,
        help="train a model on synthetic data and save it (offline)",
        description="The synthetic recipe, writing to "
                    "runs/quickstart/<model>.")
    quick.set_defaults(run=_quickstart)

    export = commands.add_parser(
        "export", help="work with SavedModel exports",
        description="Work with SavedModel exports.")
    export_commands = export.add_subparsers(dest="export_command",
                                            required=True)
    verify = export_commands.add_parser(
        "verify", help="load an export in a fresh process and check it",
        description="Load a SavedModel in a fresh Python process (without "
                    "mtzoo), replay its warm-up requests through "
                    "serving_default, compare the outputs with the Keras "
                    "model's predictions recorded at export, and print the "
                    "signature. Exit code 1 when they differ by more than "
                    "the tolerance.")
    verify.add_argument("dir", help="a version folder, or a model folder "
                                    "(its newest version is checked)")
    verify.add_argument("--tolerance", type=float, default=1e-5,
                        help="max abs difference allowed (default 1e-5)")
    verify.set_defaults(run=_export_verify)
    refresh = export_commands.add_parser(
        "catalogue", help="export a trained model with a new catalogue",
        description="Export a new SavedModel version of a trained model "
                    "(model.keras) whose retrieval catalogue is an item "
                    "file, without retraining: items first seen after "
                    "training are scored by the candidate tower from "
                    "their other columns (text, attributes).")
    refresh.add_argument("model", help="a run's model.keras")
    refresh.add_argument("--items", required=True, metavar="FILE",
                         help="CSV or Parquet with the candidate features' "
                              "columns, one row per item")
    refresh.add_argument("--export-dir", required=True,
                         help="the TF Serving model base folder's parent")
    refresh.add_argument("--model-name", default=None,
                         help="default: the model's folder name")
    refresh.add_argument("--task", default=None,
                         help="the retrieval task (default: the only one)")
    refresh.set_defaults(run=_export_catalogue)
    return parser


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    # The quickstart's flags are the synthetic recipe's; pass them through.
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "quickstart":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        return args.run(args)
    except (FileNotFoundError, ValueError) as error:
        # Bad input (a missing file, a config or data error) is a message,
        # not a traceback; MTZOO_DEBUG=1 shows the traceback.
        if os.environ.get("MTZOO_DEBUG") == "1":
            raise
        print(f"mtzoo {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
