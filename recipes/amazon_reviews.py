"""Amazon Musical Instruments reviews: rating, liked and helpful from
users, products and the review text (bag of words or MiniLM).

    python recipes/amazon_reviews.py --model mmoe --text-encoder minilm \
        --data-dir ../shared/data/amazon-musical-instruments

Run with --help for every flag. Writes metrics.json, report.md, plots,
TensorBoard logs, model.keras and a SavedModel to --output-dir.
"""

import sys

from mtzoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", "amazon_reviews", *sys.argv[1:]]))
