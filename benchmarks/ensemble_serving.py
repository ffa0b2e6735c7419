"""What an ensemble of a network and the baselines costs at serving.

`--tune N` ends with one model per task combining the search's trained
models and the baselines served as Keras layers (`mtzoo.runs.ensembles`).
Every member runs on every request, so this measures, on the synthetic
recipe, the SavedModel of the network `mtzoo train synthetic` trains
against one that combines it with the run's gradient boosting and linear
baselines (`ensembles.combine`, equal weights: whichever weights a search
chooses, a member in the model costs the same): one row through
`serving_default` (p50 and p99 of repeated calls, one process, after a
warm-up), rows per second at 4,096 rows a call (median of repeats), and
the SavedModels' sizes.

    python benchmarks/ensemble_serving.py [--rows 40000]
"""

from __future__ import annotations

import pathlib
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402
from peers import measure  # noqa: E402


def _folder_mb(path: pathlib.Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) \
        / 2**20


def _serving(version_dir: pathlib.Path, frame, features, calls: int,
             repeats: int) -> dict:
    import numpy as np
    import tensorflow as tf

    from mtzoo import data as data_lib

    serve = tf.saved_model.load(str(version_dir)).signatures[
        "serving_default"]
    arrays = data_lib.feature_arrays(frame, features)
    rows = [{name: tf.constant(values[i:i + 1])
             for name, values in arrays.items()} for i in range(64)]
    one = measure.latency_ms(lambda x: serve(**x), rows, calls)
    batch = {name: tf.constant(np.resize(values, (4096,) + values.shape[1:]))
             for name, values in arrays.items()}
    serve(**batch)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        serve(**batch)
        rates.append(4096 / (time.perf_counter() - start))
    return {**one, "rows_per_s_at_4096": statistics.median(rates),
            "saved_model_mb": round(_folder_mb(version_dir), 2)}


def measure_run(rows: int, seed: int, calls: int, repeats: int) -> dict:
    from mtzoo import export as export_lib
    from mtzoo import models as models_lib
    from mtzoo import runs
    from mtzoo.data import synthetic
    from mtzoo.recipes import definitions
    from mtzoo.runs import config as config_lib
    from mtzoo.runs import ensembles
    from mtzoo.runs import steps

    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        config = runs.RunConfig("synthetic", options={"rows": rows},
                                seed=seed, verbose=False,
                                output_dir=str(folder / "run"))
        result = runs.run(config)
        network = models_lib.load_model(folder / "run" / "model.keras")
        recipe = definitions.RECIPES["synthetic"]
        splits = steps.prepare(recipe, config_lib.resolve(config, recipe))
        members = [ensembles.Member("final", network, {})]
        members += ensembles.baseline_members(splits, seed, 0)
        # Every member at an equal weight on every task: what an ensemble
        # of all three costs, whichever weights a search would choose.
        chosen = {task.name: [1 / len(members)] * len(members)
                  for task in splits.tasks}
        ensemble = ensembles.combine(members, chosen, network.features,
                                     network.tasks)
        combined = export_lib.export_saved_model(
            ensemble, folder / "ensemble", model_name="ensemble")
        frame = synthetic.impressions(512, seed=seed + 1)
        return {
            "seed": seed, "rows": rows,
            "members": [m.name for m in members],
            "trees": {layer.name: layer.trees for member in members[1:]
                      for layer in member.model.layers
                      if hasattr(layer, "trees")},
            "ensemble": _serving(combined, frame, network.features, calls,
                                 repeats),
            "network_alone": _serving(folder / "run" / result["saved_model"],
                                      frame, network.features, calls,
                                      repeats)}


def summarize(runs: list[dict]) -> dict:
    summary = {}
    for name in ("ensemble", "network_alone"):
        summary[name] = {key: statistics.median(r[name][key] for r in runs)
                         for key in runs[0][name]}
    summary["latency_ratio_p50"] = (summary["ensemble"]["latency_ms_p50"]
                                    / summary["network_alone"]
                                    ["latency_ms_p50"])
    summary["throughput_ratio"] = (summary["ensemble"]["rows_per_s_at_4096"]
                                   / summary["network_alone"]
                                   ["rows_per_s_at_4096"])
    summary["members"] = sorted({m for r in runs for m in r["members"]})
    return summary


def markdown_table(summary: dict) -> str:
    lines = ["| SavedModel | one row p50 (ms) | one row p99 (ms) | "
             "rows/s at 4,096 | size (MB) |", "|---|---|---|---|---|"]
    for name, label in (("network_alone", "network alone (`final`)"),
                        ("ensemble", "network + gradient boosting + "
                                     "linear")):
        entry = summary[name]
        lines.append(f"| {label} | {entry['latency_ms_p50']:.2f} | "
                     f"{entry['latency_ms_p99']:.2f} | "
                     f"{entry['rows_per_s_at_4096']:,.0f} | "
                     f"{entry['saved_model_mb']:.1f} |")
    lines.append("")
    lines.append(f"The ensemble answers one row in "
                 f"{summary['latency_ratio_p50']:.1f}x the network's time "
                 f"and serves {summary['throughput_ratio']:.2f}x its rows "
                 f"per second.")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = common.parser(__doc__, "ensemble_serving.json", seeds=1)
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    runs = [measure_run(args.rows, seed, args.calls, args.repeats)
            for seed in range(args.seeds)]
    return common.write_runs(
        args.output, "ensemble serving cost against the network alone",
        runs, summarize, markdown_table)


if __name__ == "__main__":
    main()
