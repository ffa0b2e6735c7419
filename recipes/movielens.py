"""MovieLens: predict the rating (regression) and whether it is >= 4.

    python recipes/movielens.py --model ple --data-dir ../shared/data/movielens-100k

Run with --help for every flag. Writes metrics.json, report.md, plots,
TensorBoard logs, model.keras and a SavedModel to --output-dir.
"""

import sys

from mtzoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", "movielens", *sys.argv[1:]]))
