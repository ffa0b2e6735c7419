"""What benchmark scripts share: their arguments, runs, timing and
results files.

Scripts import it as a sibling module (`sys.path` gets this folder first):

```python
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402
```
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from mtzoo.atomic import write_text
from mtzoo.training.callbacks import EpochTimer  # noqa: F401 (re-export)
from peers.measure import peak_rss_mb  # noqa: F401 (re-export)

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"
SHARED_DATA = HERE.parent.parent / "shared" / "data"


def parser(doc: str, results: str, *, data: str | None = None,
           seeds: int | None = None, repeats: int | None = None
           ) -> argparse.ArgumentParser:
    """A script's arguments: `--output` (default `results/<results>`),
    and, when asked for, `--data-dir` (default the shared copy of
    `data`), `--seeds N` and `--repeats N`."""
    made = argparse.ArgumentParser(description=doc.strip().split("\n")[0])
    made.add_argument("--output", default=str(RESULTS / results))
    if data is not None:
        shared = SHARED_DATA / data
        made.add_argument(
            "--data-dir", default=str(shared) if shared.is_dir() else None,
            help=f"folder of the dataset (default: {shared} when present, "
                 f"else $MTZOO_DATA_DIR or the cache)")
    if seeds is not None:
        made.add_argument("--seeds", type=int, default=seeds)
    if repeats is not None:
        made.add_argument("--repeats", type=int, default=repeats)
    return made


def write_results(output, content: dict, table: str) -> None:
    """`content` as `output` (JSON) and `table` as the `.md` beside it,
    each written atomically; prints the table. The JSON states the
    library versions and hardware (`mtzoo.environment`)."""
    from mtzoo import environment

    content = {**content, **environment.describe()}
    output = pathlib.Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_text(output, json.dumps(content, indent=2))
    write_text(output.with_suffix(".md"), table)
    print(table)


def write_runs(output, benchmark: str, runs: list[dict], summarize,
               markdown_table) -> dict:
    """Writes `{"benchmark", "runs", "summary"}` with `write_results`
    (the summary from `summarize(runs)`, its table from
    `markdown_table(summary)`); returns the summary."""
    summary = summarize(runs)
    write_results(output, {"benchmark": benchmark, "runs": runs,
                           "summary": summary}, markdown_table(summary))
    return summary


def _run_in_child(config, queue) -> None:
    from mtzoo import runs

    try:
        queue.put(("ok", runs.run(config)))
    except BaseException as error:  # reported to the parent
        queue.put(("error", f"{type(error).__name__}: {error}"))


def _benchmark_config(config, folder):
    """`config` without an export or baselines (benchmarks fit their own
    anchors), writing to `folder`."""
    import dataclasses

    return dataclasses.replace(config, output_dir=folder, export=False,
                               baselines=False)


def run_isolated(config) -> dict:
    """`mtzoo.runs.run(config)` in a fresh process, without an export or
    baselines, in a temporary folder; returns its `metrics.json` content.
    No run inherits another's random state, compiled functions or
    memory."""
    with tempfile.TemporaryDirectory() as folder:
        config = _benchmark_config(config, folder)
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        child = context.Process(target=_run_in_child, args=(config, queue))
        child.start()
        status, result = _result_of(child, queue)
        child.join()
    if status != "ok":
        raise RuntimeError(f"{config.recipe} / {config.model} failed: "
                           f"{result}")
    return result


def _result_of(child, queue) -> tuple:
    """What `child` put on `queue`, or an error when it ended without
    putting anything (killed, out of memory), rather than a wait forever."""
    import queue as queue_lib

    while True:
        try:
            return queue.get(timeout=1.0)
        except queue_lib.Empty:
            if not child.is_alive() and queue.empty():
                return "error", (f"the process ended with exit code "
                                 f"{child.exitcode} without a result")


def run_in_this_process(config) -> dict:
    """What `run_isolated` returns, computed in this process: without a
    process start, for checks of a benchmark's own logic."""
    from mtzoo import runs

    with tempfile.TemporaryDirectory() as folder:
        return runs.run(_benchmark_config(config, folder))


def median_seconds(function, repeats: int) -> float:
    """The median wall time of `function()` over `repeats` calls."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def run_script(script, arguments: list[str], args, what: str) -> str:
    """The output of `python script arguments` in a fresh process (with
    `args`' `--data-dir` and `--max-rows` when set), or an error naming
    `what` failed with the end of its stderr."""
    command = [sys.executable, str(script), *arguments]
    if args.data_dir:
        command += ["--data-dir", str(args.data_dir)]
    if args.max_rows:
        command += ["--max-rows", str(args.max_rows)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-3000:]}")
    return done.stdout
