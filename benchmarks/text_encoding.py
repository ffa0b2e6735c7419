"""Frozen-encoder speed and agreement: mtzoo's all-MiniLM-L6-v2 (keras-hub
on TensorFlow) against the reference implementation (sentence-transformers
on torch), on the same review texts, threads and machine.

Both encode the same texts (Amazon Musical Instruments reviews) with the
same maximum length and batch size, each sorting texts by length as it
does in training; the figure is sentences per second, the median of
repeated runs after a warm-up run (mtzoo's first run, which compiles the
transformer once per padded length, is reported beside it). Agreement: the cosine of the two implementations' vectors
for every text, and whether the WordPiece ids are identical.

`--write-reference PATH` also stores the reference's ids and vectors for
a set of sample sentences (accented ones included) for the suite's check.

Writes `benchmarks/results/text_encoding.json` and `.md`.

    python benchmarks/text_encoding.py \
        --data-dir ../shared/data/amazon-musical-instruments
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE / "peers"))

REFERENCE_ENVIRONMENT = {
    # torch first and alone, so the CPU build is what gets installed.
    "packages": ["torch==2.13.0"],
    "then": ["sentence-transformers==6.2.0", "torch==2.13.0"],
}
SAMPLE_SENTENCES = [
    "This guitar strap is great value.",
    "Café crème, naïve résumé à la carte.",
    "Das Stück klingt schön und übermäßig laut.",
    "ÉCOLE Ångström Œuvre — “quoted” 12-string!!!",
    "Señor Müller's piñata: crème brûlée for the Björk fan.",
    "",
    "ok",
    "The tuner holds pitch " * 40,
]


def reference(python, checkpoint, texts, *, max_length, batch_size,
              repeats) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        source = pathlib.Path(folder) / "texts.json"
        out = pathlib.Path(folder) / "out.json"
        source.write_text(json.dumps(texts))
        subprocess.run([str(python), str(HERE / "peers" /
                                         "sentence_transformers_encode.py"),
                        str(checkpoint), str(source), str(out),
                        "--max-length", str(max_length), "--batch-size",
                        str(batch_size), "--repeats", str(repeats)],
                       check=True)
        return json.loads(out.read_text())


def mtzoo_side(texts, *, max_length, batch_size, repeats) -> dict:
    import tensorflow as tf

    from mtzoo.text import cache
    from mtzoo.text.layers import WordPieceIds

    memory_only = cache.TextVectorCache("minilm", max_length, folder=False)
    memory_only._encoder()  # load the checkpoint outside the timing
    seconds, vectors = [], None
    for _ in range(repeats + 1):  # the first run compiles each length
        memory_only._vectors.clear()
        start = time.perf_counter()
        vectors = memory_only.vectors(texts, batch_size=batch_size,
                                      verbose=False)
        seconds.append(time.perf_counter() - start)
    ids = WordPieceIds("minilm", max_length)(tf.constant(texts)).numpy()
    return {"seconds": seconds[1:], "first_run_seconds": seconds[0],
            "vectors": vectors,
            "ids": [[int(t) for t in row if t != 0] for row in ids]}


def cosines(a, b) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.sum(a * b, 1) / np.maximum(
        np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--venv-dir", default=str(
        pathlib.Path.home() / ".cache" / "mtzoo" / "peer-venvs"))
    parser.add_argument("--output", default=str(RESULTS /
                                                "text_encoding.json"))
    parser.add_argument("--write-reference", default=None)
    args = parser.parse_args(argv)

    import pandas as pd

    from mtzoo import environment
    from mtzoo.text import checkpoints
    from run import ensure_venv_for

    python = ensure_venv_for("sentence_transformers", REFERENCE_ENVIRONMENT,
                             pathlib.Path(args.venv_dir))
    folder = checkpoints.resolve("minilm").folder
    if args.write_reference:
        sample = reference(python, folder, SAMPLE_SENTENCES,
                           max_length=args.max_length, batch_size=8,
                           repeats=1)
        pathlib.Path(args.write_reference).write_text(json.dumps({
            "encoder": "all-MiniLM-L6-v2", "max_length": args.max_length,
            "versions": sample["versions"], "sentences": SAMPLE_SENTENCES,
            "ids": sample["ids"],
            "vectors": np.round(sample["vectors"], 7).tolist()}) + "\n")
    frame = pd.read_json(next(pathlib.Path(args.data_dir).glob("*.json.gz")),
                         lines=True, nrows=args.rows)
    texts = frame["reviewText"].fillna("").astype(str).tolist()
    theirs = reference(python, folder, texts, max_length=args.max_length,
                       batch_size=args.batch_size, repeats=args.repeats)
    ours = mtzoo_side(texts, max_length=args.max_length,
                      batch_size=args.batch_size, repeats=args.repeats)
    agreement = cosines(ours["vectors"], theirs["vectors"])
    same_ids = [a == b for a, b in zip(ours["ids"], theirs["ids"])]
    summary = {
        "texts": len(texts),
        "mean_words": float(np.mean([len(t.split()) for t in texts])),
        "max_length": args.max_length, "batch_size": args.batch_size,
        "repeats": args.repeats,
        "mtzoo_sentences_per_s": len(texts) / statistics.median(
            ours["seconds"]),
        "reference_sentences_per_s": len(texts) / statistics.median(
            theirs["seconds"]),
        "mtzoo_first_run_sentences_per_s": len(texts) / ours[
            "first_run_seconds"],
        "min_cosine": float(agreement.min()),
        "median_cosine": float(np.median(agreement)),
        "identical_ids_share": float(np.mean(same_ids)),
    }
    summary["speed_ratio"] = (summary["mtzoo_sentences_per_s"]
                              / summary["reference_sentences_per_s"])
    content = {"benchmark": "frozen all-MiniLM-L6-v2 encoding",
               "summary": summary, "reference_versions": theirs["versions"],
               "seconds": {"mtzoo": ours["seconds"],
                           "reference": theirs["seconds"]},
               **environment.describe()}
    common.write_results(args.output, content, markdown_table(summary))
    return content


def markdown_table(summary: dict) -> str:
    return "\n".join([
        "| implementation | sentences/s | ratio | min cosine to reference "
        "| identical WordPiece ids |",
        "|---|---|---|---|---|",
        f"| mtzoo (keras-hub on TensorFlow) | "
        f"{summary['mtzoo_sentences_per_s']:.1f} | "
        f"{summary['speed_ratio']:.2f}x | {summary['min_cosine']:.6f} | "
        f"{summary['identical_ids_share']:.1%} |",
        f"| mtzoo, first run (XLA compiles included) | "
        f"{summary['mtzoo_first_run_sentences_per_s']:.1f} | | | |",
        f"| sentence-transformers on torch (reference) | "
        f"{summary['reference_sentences_per_s']:.1f} | 1.00x | | |",
    ]) + "\n"


if __name__ == "__main__":
    main()
