"""AliExpress: predict click and conversion for one country.

    python recipes/aliexpress.py --model aitm --country NL --data-dir DIR

Run with --help for every flag. Writes metrics.json, report.md, plots,
TensorBoard logs, model.keras and a SavedModel to --output-dir.
"""

import sys

from mtzoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", "aliexpress", *sys.argv[1:]]))
