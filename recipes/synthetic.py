"""Simulated impressions: click, watch time and interest (offline).

    python recipes/synthetic.py --model mmoe --rows 50000

Run with --help for every flag. Writes metrics.json, report.md, plots,
TensorBoard logs, model.keras and a SavedModel to --output-dir.
"""

import sys

from mtzoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", "synthetic", *sys.argv[1:]]))
