"""Census-Income (KDD): predict income > 50K and never married (MMoE paper).

    python recipes/census_income.py --model mmoe --data-dir ../shared/data/census-income

Run with --help for every flag. Writes metrics.json, report.md, plots,
TensorBoard logs, model.keras and a SavedModel to --output-dir.
"""

import sys

from mtzoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", "census_income", *sys.argv[1:]]))
