"""Seconds to write a SavedModel: `mtzoo.export.export_saved_model` with
its own writer (`mtzoo.serving_archive.ServingArchive`, each signature
traced once) beside the same export written by `keras.export.ExportArchive`
(same tracked objects, same endpoints).

Models, freshly built on the synthetic impressions (their weights do not
change what an export costs):

- an MMoE: `serving_default` and `serve_examples`;
- two towers with retrieval beside the ranking tasks, and a catalogue: six
  signatures;
- a shared encoder over a frozen MiniLM text feature (the `text` extra;
  left out without it): the encoder runs inside both signatures.

Medians of `--repeats` exports each. Writes `results/export_time.json`
and `.md`.

    python benchmarks/export_time.py [--repeats 3]
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402


class _KerasArchive:
    """`keras.export.ExportArchive` behind `ServingArchive`'s methods."""

    def __init__(self):
        import keras

        self.archive = keras.export.ExportArchive()

    def track(self, trackable):
        self.archive.track(trackable)

    def add_endpoint(self, name, fn, input_signature):
        self.archive.add_endpoint(name, fn, input_signature=input_signature)

    def write_out(self, path):
        self.archive.write_out(str(path), verbose=False)


def _models():
    """`(name, model, catalogues)` for each model exported."""
    import keras

    import mtzoo
    from mtzoo import retrieval
    from mtzoo.data import synthetic

    frame = synthetic.impressions(2_000, seed=0)
    features = mtzoo.features.adapt(synthetic.impression_features(), frame)
    keras.utils.set_random_seed(0)
    tasks = mtzoo.tasks.adapt(synthetic.impression_tasks(), frame)
    yield "mmoe, 2 signatures", mtzoo.models.mmoe(features, tasks), None
    tasks = mtzoo.tasks.adapt(synthetic.retrieval_tasks(), frame)
    model = mtzoo.models.two_tower(features, tasks)
    yield ("two towers with a catalogue, 6 signatures", model,
           {task.name: retrieval.catalogue(frame, features, tasks, task.name)
            for task in mtzoo.tasks.retrieval_tasks(tasks)})
    if importlib.util.find_spec("keras_hub") is not None:
        text = frame.assign(review=[f"item {i} was fine" for i in
                                    range(len(frame))])
        features = mtzoo.features.adapt([
            mtzoo.features.CategoricalFeature("user_id"),
            mtzoo.features.TextFeature("review", encoder="minilm",
                                       max_length=16)], text)
        tasks = [mtzoo.tasks.binary("click")]
        yield ("shared encoder over a frozen MiniLM, 2 signatures",
               mtzoo.models.shared_bottom(features, tasks), None)


def measure(repeats: int) -> list[dict]:
    from mtzoo import export

    results, ours = [], export.ServingArchive
    for name, model, catalogues in _models():
        seconds = {}
        for writer, archive in (("mtzoo", ours),
                                ("keras", _KerasArchive)):
            def write():
                with tempfile.TemporaryDirectory() as folder:
                    export.export_saved_model(model, folder,
                                              catalogues=catalogues)
            export.ServingArchive = archive
            try:
                seconds[writer] = common.median_seconds(write, repeats)
            finally:
                export.ServingArchive = ours
        results.append({"model": name, "mtzoo_s": seconds["mtzoo"],
                        "keras_export_archive_s": seconds["keras"]})
        print(results[-1], flush=True)
    return results


def markdown_table(results: list[dict]) -> str:
    lines = ["| model | mtzoo (s) | keras.export.ExportArchive (s) | "
             "speed-up |", "|---|---|---|---|"]
    for entry in results:
        lines.append(
            f"| {entry['model']} | {entry['mtzoo_s']:.2f} | "
            f"{entry['keras_export_archive_s']:.2f} | "
            f"{entry['keras_export_archive_s'] / entry['mtzoo_s']:.1f}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = common.parser(__doc__, "export_time.json", repeats=3)
    args = parser.parse_args()
    results = measure(args.repeats)
    common.write_results(args.output, {
        "benchmark": "export_time", "repeats": args.repeats,
        "summary": results}, markdown_table(results))


if __name__ == "__main__":
    main()
