"""Your own table: files, features and tasks from a TOML config.

    python recipes/table.py --config my_table.toml --model mmoe

`mtzoo init-config DATA.csv` writes a starting config. Run with --help for
every flag. Writes metrics.json, report.md, plots, TensorBoard logs,
model.keras and a SavedModel to --output-dir.
"""

import sys

from mtzoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", "table", *sys.argv[1:]]))
