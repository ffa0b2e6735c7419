"""The `mtzoo` command."""

from __future__ import annotations

import argparse
import os
import sys


def _models(args) -> int:
    from mtzoo.models import registry

    width = max(len(n) for n in registry.available())
    for name in registry.available():
        entry = registry.get(name)
        paper = f" [{entry.paper}]" if entry.paper else ""
        print(f"{name:{width}s}  {entry.description}{paper}")
    return 0


def _quickstart(args) -> int:
    from mtzoo import quickstart

    result = quickstart.run(
        args.output_dir, model_name=args.model, rows=args.rows,
        epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, seed=args.seed,
        verbose=2 if args.verbose else 0)
    print(quickstart.summary(result))
    print(f"metrics: {os.path.join(args.output_dir, 'metrics.json')}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mtzoo",
        description="Multi-task recommendation models for Keras 3.")
    commands = parser.add_subparsers(dest="command", required=True)

    models = commands.add_parser(
        "models", help="list the architectures",
        description="List the registered architectures.")
    models.set_defaults(run=_models)

    quick = commands.add_parser(
        "quickstart",
        help="train a model on synthetic data and save it (offline)",
        description=(
            "Train a multi-task model on simulated impressions (click, "
            "watch time, interest category; click -> conversion for aitm "
            "and esmm), report test metrics, save model.keras and "
            "metrics.json. Needs no network."))
    quick.add_argument("--model", default="mmoe",
                       help="architecture name (see `mtzoo models`); "
                            "default: mmoe")
    quick.add_argument("--output-dir", default="runs/quickstart",
                       help="where to write model.keras and metrics.json; "
                            "default: runs/quickstart")
    quick.add_argument("--rows", type=int, default=50_000,
                       help="simulated impressions; default: 50000")
    quick.add_argument("--epochs", type=int, default=10,
                       help="maximum epochs (early stopping on a "
                            "validation split); default: 10")
    quick.add_argument("--batch-size", type=int, default=512,
                       help="default: 512")
    quick.add_argument("--learning-rate", type=float, default=2e-3,
                       help="Adam learning rate; default: 0.002")
    quick.add_argument("--seed", type=int, default=0,
                       help="random seed of data and training; default: 0")
    quick.add_argument("--verbose", action="store_true",
                       help="print per-epoch progress")
    quick.set_defaults(run=_quickstart)
    return parser


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
