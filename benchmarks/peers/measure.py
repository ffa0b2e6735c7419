"""What every library's side of the side-by-side run measures the same way.

Imported by the per-library scripts, which run in their own virtual
environments: only the standard library, NumPy and scikit-learn here.
"""

from __future__ import annotations

import json
import pathlib
import resource
import time

import numpy as np
from sklearn.metrics import roc_auc_score

TASKS = ("income", "marital")


def load_encoded(path) -> dict:
    """The census arrays `run.py` prepared: ids, standardized numbers, labels.

    Returns a dict with `train` and `test` (each a dict of column arrays and
    the two labels) and `schema` (categorical vocabulary sizes, numeric
    columns).
    """
    folder = pathlib.Path(path)
    schema = json.loads((folder / "schema.json").read_text())
    splits = {}
    for split in ("train", "test"):
        with np.load(folder / f"{split}.npz", allow_pickle=False) as arrays:
            splits[split] = {k: arrays[k] for k in arrays.files}
    return {"schema": schema, **splits}


def features_of(split: dict, schema: dict) -> dict:
    return {name: split[name] for name in
            list(schema["categorical"]) + list(schema["numeric"])}


def aucs(split: dict, predictions) -> dict:
    """Test AUC per task; `predictions` maps task names to probabilities."""
    return {f"{t}_auc": float(roc_auc_score(
        split[t], np.asarray(predictions[t]).reshape(-1))) for t in TASKS}


def epochs_rate(rows: int, seconds: list[float]) -> float:
    """Examples/s over the epochs after the first (which pays for tracing
    or warm-up)."""
    timed = seconds[1:] or seconds
    return rows * len(timed) / sum(timed)


def batch_rate(call, batches: list, rows: int, repeats: int = 3) -> float:
    """Median examples/s of calling `call` on every batch."""
    call(batches[0])
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in batches:
            call(batch)
        rates.append(rows / (time.perf_counter() - start))
    return float(np.median(rates))


def latency_ms(call, rows: list, calls: int = 500) -> dict:
    """p50 and p99 latency of one-row calls, after a warm-up."""
    for row in rows[:20]:
        call(row)
    seconds = []
    for i in range(calls):
        start = time.perf_counter()
        call(rows[i % len(rows)])
        seconds.append(time.perf_counter() - start)
    return {"latency_ms_p50": 1000 * float(np.percentile(seconds, 50)),
            "latency_ms_p99": 1000 * float(np.percentile(seconds, 99))}


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: Linux's `VmHWM`, which,
    unlike `ru_maxrss`, does not start from the peak of the parent that
    launched it (`exec` keeps `ru_maxrss`, so every library launched by
    one parent would report at least that parent's memory)."""
    status = pathlib.Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write(path, result: dict) -> None:
    pathlib.Path(path).write_text(json.dumps(result, indent=2))
