"""Encodes texts with sentence-transformers (torch): the reference
implementation of all-MiniLM-L6-v2. Runs in its own environment (see
`benchmarks/text_encoding.py`).

    python sentence_transformers_encode.py CHECKPOINT TEXTS.json OUT.json \
        --max-length 128 --batch-size 64 --repeats 3
"""

import argparse
import json
import time

import torch
from sentence_transformers import SentenceTransformer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint")
    parser.add_argument("texts")
    parser.add_argument("output")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    texts = json.load(open(args.texts))
    model = SentenceTransformer(args.checkpoint, device="cpu")
    model.max_seq_length = args.max_length
    model.encode(texts[:args.batch_size], batch_size=args.batch_size)
    seconds, vectors = [], None
    for _ in range(args.repeats):
        start = time.perf_counter()
        vectors = model.encode(texts, batch_size=args.batch_size)
        seconds.append(time.perf_counter() - start)
    ids = [model.tokenizer(t, truncation=True,
                           max_length=args.max_length)["input_ids"]
           for t in texts]
    json.dump({"seconds": seconds, "vectors": vectors.tolist(), "ids": ids,
               "versions": {"torch": torch.__version__,
                            "sentence_transformers": __import__(
                                "sentence_transformers").__version__}},
              open(args.output, "w"))


if __name__ == "__main__":
    main()
