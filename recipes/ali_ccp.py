"""Ali-CCP: predict click and purchase (ESMM's dataset).

    python recipes/ali_ccp.py --model esmm --data-dir ../shared/data/ali-ccp

Run with --help for every flag. Writes metrics.json, report.md, plots,
TensorBoard logs, model.keras and a SavedModel to --output-dir.
"""

import sys

from mtzoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", "ali_ccp", *sys.argv[1:]]))
