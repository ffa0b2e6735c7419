"""The command line of a run: flags -> `mtzoo.runs.RunConfig` -> run.

Nothing here trains: it parses the flags into the typed configuration and
calls `mtzoo.runs.run`.
"""

from __future__ import annotations

import argparse
import os

from mtzoo import catalog
from mtzoo import tensorflow_import
from mtzoo.recipes import definitions
from mtzoo.runs import config as config_lib
from mtzoo.runs.config import RunConfig
from mtzoo.training import momentum


def _hyperparameter_table() -> dict[str, tuple]:
    """Every builder keyword: (default kind, architectures taking it)."""
    table = {}
    for arch in catalog.ARCHITECTURES:
        for name, default in catalog.hyperparameters(arch).items():
            if name in catalog.RECIPE_SET:
                continue
            kind, users = table.get(name, (default, []))
            table[name] = (kind, users + [arch])
    return table


def _int_list(text: str) -> list[int]:
    text = text.strip()
    if not text:
        return []
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 64,32; got "
            f"{text!r}") from None


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false; got {text!r}")


def _momentum(text: str) -> float:
    try:
        return momentum.check_momentum(float(text), "the momentum")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _task_weights(text: str) -> dict:
    """`name=weight,...` as a dict."""
    weights = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{item!r} is not TASK=WEIGHT (e.g. rating=1,movie=0)"
            ) from None
    return weights


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except the None of flags whose help says it."""

    def _get_help_string(self, action):
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def build_parser(recipe) -> argparse.ArgumentParser:
    """The recipe's command-line flags, with explanations."""
    parser = argparse.ArgumentParser(
        prog=f"mtzoo train {recipe.name}",
        description=f"{recipe.description} Trains with early stopping on a "
                    f"validation split, reports per-task metrics on the test "
                    f"set, saves model.keras and exports a SavedModel.",
        formatter_class=_HelpFormatter)
    _add_training_flags(parser, recipe)
    _add_run_flags(parser, recipe)
    recipe.add_options(parser)
    _add_hyperparameter_flags(parser, recipe)
    return parser


def _add_training_flags(parser, recipe) -> None:
    """What is trained and how: model, epochs, optimizer, weighting."""
    retrieval = ""
    if recipe.retrieval_option:
        fitting = recipe.architectures_for({recipe.retrieval_option: True})
        retrieval = (f"; with --{recipe.retrieval_option} one of "
                     f"{', '.join(fitting)}")
    parser.add_argument("--model", default=None,
                        choices=list(recipe.architectures),
                        help=f"architecture (see `mtzoo models`; default "
                             f"{recipe.default_model}{retrieval})")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"maximum epochs; early stopping usually ends "
                             f"sooner (default {recipe.epochs})")
    parser.add_argument("--patience", type=int, default=None,
                        help="epochs without validation improvement before "
                             "stopping (best weights are restored; "
                             + (f"default {recipe.patience})"
                                if recipe.patience is not None else
                                f"default: {config_lib.PATIENCE_STEPS} "
                                f"steps' worth, "
                                f"{config_lib.MIN_PATIENCE} to "
                                f"{config_lib.MAX_PATIENCE} epochs)"))
    parser.add_argument("--batch-size", type=int, default=None,
                        help=f"examples per training step (default "
                             f"{recipe.batch_size})")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help=f"Adam (default {recipe.learning_rate})")
    parser.add_argument("--weight-averaging", type=_momentum, default=None,
                        metavar="MOMENTUM",
                        help="validate, early-stop, save and export an "
                             "exponential moving average of the weights "
                             "with this momentum (e.g. 0.99; lowered on "
                             "small data so the average spans at most two "
                             f"epochs); 0 keeps the trained weights "
                             f"(default {recipe.weight_averaging})")
    parser.add_argument("--piecewise-linear-bins", type=int, default=None,
                        metavar="N",
                        help="also encode every numeric feature declared "
                             "without bins piecewise-linearly over N "
                             "quantile bins (default 0: as declared)")
    parser.add_argument("--jit-compile", default="on", choices=["on", "off"],
                        help="compile the training step with XLA (about "
                             "1.4x faster on CPU, benchmarks/results/"
                             "xla.json); used on one device with fixed, "
                             "uncertainty or dwa weighting")
    parser.add_argument("--steps-per-execution", type=int, default=16,
                        help="training steps per call into the compiled "
                             "graph; larger values cut per-step Python "
                             "overhead (results do not change); 1 under "
                             "--strategy multi_worker")
    parser.add_argument("--weighting", default=None,
                        choices=catalog.WEIGHTINGS,
                        help="how task losses are balanced in training: "
                             "fixed task weights, uncertainty (Kendall et "
                             "al.), gradnorm (Chen et al.), dwa (Liu et "
                             "al.) or pcgrad (Yu et al.) (default fixed)")
    parser.add_argument("--task-weights", default=None, type=_task_weights,
                        metavar="TASK=W,...",
                        help="replace tasks' loss weights, e.g. "
                             "rating=1,movie=0 (0 trains without that "
                             "task's loss)")
    parser.add_argument("--gradnorm-alpha", type=float, default=1.5,
                        help="GradNorm's alpha")
    parser.add_argument("--dwa-temperature", type=float, default=2.0,
                        help="DWA's temperature")


def _add_run_flags(parser, recipe) -> None:
    """Where the data and results are, and how the run executes."""
    parser.add_argument("--seed", type=int, default=None,
                        help="seeds data splits, shuffling and weights "
                             "(default 0)")
    parser.add_argument("--data-dir", default=None,
                        help="folder with the dataset's files (else "
                             "$MTZOO_DATA_DIR or the cache; downloaded when "
                             "possible)")
    parser.add_argument("--output-dir", default=None,
                        help="where to write results (default: "
                             f"runs/{recipe.name}/<model>; the table "
                             f"recipe: runs/<config file name>/<model>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run from the "
                             "checkpoint in the output folder (saved after "
                             "every epoch)")
    parser.add_argument("--strategy", default="default",
                        choices=catalog.STRATEGIES,
                        help="tf.distribute strategy: one device, mirrored "
                             "over the local devices, or multi_worker over "
                             "the machines listed in TF_CONFIG")
    parser.add_argument("--no-export", action="store_true",
                        help="skip the SavedModel export")
    parser.add_argument("--tune", type=int, default=0, metavar="N",
                        help="search the architecture and its "
                             "hyperparameters on the validation split "
                             "with at most N trainings (Optuna), then "
                             "train the winner; the trials go to "
                             "tuning.csv and TensorBoard's HParams")
    ensemble = parser.add_mutually_exclusive_group()
    ensemble.add_argument("--ensemble", action="store_true",
                          help="combine, per task, the network with the "
                               "baselines (and a search's other models) "
                               "where they score better together on the "
                               "validation split (the table recipe's and "
                               "--tune's default)")
    ensemble.add_argument("--no-ensemble", action="store_true",
                          help="keep the trained network alone (a faster "
                               "SavedModel: no trees to walk)")
    parser.add_argument("--overwrite", action="store_true",
                        help="write into an output folder that holds "
                             "another run's results")
    parser.add_argument("--no-baselines", action="store_true",
                        help="skip the baselines (gradient boosting, a "
                             "linear model and a constant per task, fitted "
                             "on the same rows and reported beside the "
                             "network) and the runs a recipe trains beside "
                             "this one (movielens --history: without it, "
                             "and --next-item)")
    parser.add_argument("--quiet", action="store_true",
                        help="print no per-epoch progress")


def _add_hyperparameter_flags(parser, recipe) -> None:
    """One flag per builder keyword, saying which architectures take it."""
    group = parser.add_argument_group(
        "architecture hyperparameters",
        "Passed to the builder when the chosen architecture takes them "
        "(lists are comma-separated, e.g. --expert-units 128,64). Unset "
        "flags keep the builder's or the recipe's default.")
    for name, (default, users) in sorted(_hyperparameter_table().items()):
        if isinstance(default, (list, tuple)):
            kind = _int_list
            shown = ",".join(map(str, default)) or "empty"
        elif isinstance(default, bool):
            kind, shown = _bool, str(default).lower()
        else:
            kind, shown = type(default), default
        taken_by = ("all architectures" if len(users) == len(
            catalog.ARCHITECTURES) else ", ".join(users))
        default = recipe.hparams.get(name, shown)
        group.add_argument(f"--{name.replace('_', '-')}", dest=f"hp_{name}",
                           type=kind, default=None, metavar=name.upper(),
                           help=f"({taken_by}; default {default})")


#: Flags that are settings of `RunConfig` under the same name.
_SETTINGS = ("model", "epochs", "patience", "batch_size", "learning_rate",
             "weight_averaging", "steps_per_execution", "weighting",
             "piecewise_linear_bins",
             "task_weights", "gradnorm_alpha", "dwa_temperature", "seed",
             "data_dir", "output_dir", "resume", "strategy", "overwrite",
             "tune")


def config_from_args(recipe, args: argparse.Namespace) -> RunConfig:
    """The run configuration of parsed flags."""
    flags = vars(args)
    options = {name: flags[name] for name in recipe.option_defaults()}
    hyperparameters = {key[3:]: value for key, value in flags.items()
                       if key.startswith("hp_") and value is not None}
    return RunConfig(
        recipe.name, jit_compile=args.jit_compile == "on",
        export=not args.no_export, baselines=not args.no_baselines,
        ensemble=False if args.no_ensemble else (args.ensemble or None),
        verbose=not args.quiet,
        hyperparameters=hyperparameters,
        options=options, **{name: flags[name] for name in _SETTINGS})


def main(recipe_name: str, argv=None, *, prog: str | None = None,
         **defaults) -> int:
    """Entry point of the recipe scripts and `mtzoo train`.

    Args:
        recipe_name: the recipe.
        argv: the flags (default: the command line's).
        prog: program name shown in `--help`.
        **defaults: flag defaults to change (e.g. `output_dir=`).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    recipe = definitions.get(recipe_name)
    parser = build_parser(recipe)
    if prog:
        parser.prog = prog
    parser.set_defaults(**defaults)
    args = parser.parse_args(argv)
    if args.output_dir and "{model}" in args.output_dir:
        args.output_dir = args.output_dir.format(
            model=args.model or recipe.default_model)
    config = config_from_args(recipe, args)
    # Flags read and checked: now the run's modules, and TensorFlow.
    runs = tensorflow_import.import_quietly("mtzoo.runs.runner")
    print(runs.summary(runs.run(config)))
    return 0
