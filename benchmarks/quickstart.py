"""How long the README's main job takes: `mtzoo quickstart` end to end in a
fresh process (import, simulate 200,000 impressions, train with early
stopping, evaluate, fit the baselines, save, export), repeated, on this
machine.

Writes `benchmarks/results/quickstart.json` and `.md`.

    python benchmarks/quickstart.py
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

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def run_once() -> dict:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "mtzoo.cli",
                               "quickstart", "--output-dir", folder],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-3000:])
        metrics = json.loads((pathlib.Path(folder) / "metrics.json")
                             .read_text())
    return {"total_seconds": seconds,
            "train_seconds": metrics["train_seconds"],
            "baseline_seconds": metrics.get("baseline_seconds") or 0.0,
            "epochs_run": metrics["epochs_run"]}


def markdown_table(summary: dict) -> str:
    return "\n".join([
        "| `mtzoo quickstart` | median (s) | min (s) | max (s) |",
        "|---|---|---|---|",
        *[f"| {label} | {summary[key]['median']:.1f} | "
          f"{summary[key]['min']:.1f} | {summary[key]['max']:.1f} |"
          for label, key in (("end to end", "total_seconds"),
                             ("of which training", "train_seconds"),
                             ("of which baselines", "baseline_seconds"))
          if key in summary],
    ]) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default=str(RESULTS /
                                                "quickstart.json"))
    args = parser.parse_args(argv)

    from mtzoo import environment

    runs = [run_once() for _ in range(args.repeats)]
    summary = {key: {"median": statistics.median(r[key] for r in runs),
                     "min": min(r[key] for r in runs),
                     "max": max(r[key] for r in runs)}
               for key in ("total_seconds", "train_seconds",
                           "baseline_seconds")}
    content = {"benchmark": "mtzoo quickstart, end to end", "runs": runs,
               "summary": summary, **environment.describe()}
    common.write_results(args.output, content, markdown_table(summary))
    return content


if __name__ == "__main__":
    main()
