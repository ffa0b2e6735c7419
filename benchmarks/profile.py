"""Where census MMoE's training step and its SavedModel spend their time.

One process, Census-Income, the peers' configuration (`peers/run.py`:
MMoE, 8-dimensional embeddings, 8 experts Dense(64), towers Dense(32),
Adam 1e-3, batch 1024, numbers standardized only), compiled as the
recipes compile it (XLA, 16 steps per call). It times:

- **training**: one epoch of `fit` from the encoded rows; the input
  pipeline alone; `fit` on one batch held in memory (the step without
  input); and, inside a step, the forward pass up to each stage (feature
  encoding, experts, the whole model) and forward plus backward, so the
  optimizer's share is what is left of the step;
- **the census recipe's defaults**, added one at a time to the peers'
  configuration (piecewise-linear bins and exact-value embeddings, a cross
  layer, dropout, weight averaging, LazyAdam): examples/s of each;
- **serving**: the exported SavedModel at 4096 rows from raw values, its
  preprocessing stage alone, the model alone on ids; one-row latency
  through `serving_default`, `serve_examples`, each part alone, and a
  function taking the same inputs and doing nothing (the cost of the
  call itself);
- **memory**: the process's peak resident memory after each phase
  (`VmHWM`), and what the rows held in memory take.

Medians of `--repeats` timings. Writes `results/profile.json` and
`profile.md`, whose last section states what the numbers say.

    python benchmarks/profile.py --data-dir ../shared/data/census-income
"""

from __future__ import annotations

import collections
import pathlib
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from mtzoo import data as data_lib
from mtzoo import export as export_lib
from mtzoo import models
from mtzoo.data.datasets.census_income import PLAIN_NUMBERS
from mtzoo.models.serving import serving_model
from mtzoo.training.averaging import WeightAveraging
from mtzoo.training.lazy_adam import LazyAdam

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402
from peers import measure  # noqa: E402

BATCH = 1024
SERVING_BATCH = 4096
STEPS_PER_EXECUTION = 16
CALLS = 200
#: The census recipe's defaults, added in this order to the peers'
#: configuration (`mtzoo/recipes/definitions.py`).
RECIPE_STEPS = ("peers' configuration", "+ piecewise-linear bins and "
                "exact-value embeddings", "+ a cross layer", "+ dropout 0.1",
                "+ weight averaging", "+ LazyAdam (the recipes' optimizer)")


def median_rate(rows: int, function, repeats: int) -> float:
    """Median examples/s of `function()`, which handles `rows` rows, after
    one untimed call."""
    function()
    return rows / common.median_seconds(function, repeats)


def median_ms(function, inputs: list, calls: int) -> float:
    """Median milliseconds of `function(x)` over `calls` calls cycling
    through `inputs`, after 20 untimed calls (`peers/measure.py`)."""
    return measure.latency_ms(function, inputs, calls)["latency_ms_p50"]


def repeated(function, *args) -> None:
    """`CALLS` calls of `function(*args)`: a timing long enough to
    measure one step's parts."""
    for _ in range(CALLS):
        function(*args)


def compiled(model, optimizer=None, jit_compile="auto"):
    model.compile(optimizer=optimizer or keras.optimizers.Adam(1e-3),
                  steps_per_execution=STEPS_PER_EXECUTION,
                  jit_compile=jit_compile)
    return model


def fit_rate(model, dataset, rows: int, *, epochs: int = 3,
             callbacks=()) -> float:
    """Examples/s of `fit` over epochs 2 and later (the first traces)."""
    timer = common.EpochTimer(rows)
    model.fit(dataset, epochs=epochs, callbacks=[timer, *callbacks],
              verbose=0)
    timed = timer.seconds[1:]
    return rows * len(timed) / sum(timed)


def stage_models(model) -> dict:
    """Sub-models from the raw inputs to each stage's output, by the
    layer names of mtzoo's MMoE."""
    stages = {}
    for name, layer in (("feature encoding", "feature_encoder"),
                        ("+ experts", "experts")):
        stages[name] = keras.Model(model.inputs,
                                   model.get_layer(layer).output)
    stages["+ gates and towers (whole model)"] = model
    return stages


def per_call_ms(function, *args, repeats: int) -> float:
    """Median milliseconds of one `function(*args)`, over `CALLS` calls."""
    function(*args)
    return 1000 * common.median_seconds(
        lambda: repeated(function, *args), repeats) / CALLS


def profile_training(bundle, repeats: int) -> dict:
    """Examples/s of `fit` and of the input pipeline; milliseconds per
    batch of the step and of its parts, less the cost of calling a
    function with the batch (measured alone)."""
    model = compiled(models.build("mmoe", bundle.features, bundle.tasks))
    rows = len(bundle.train)
    train = data_lib.from_dataframe(bundle.train, bundle.features,
                                    bundle.tasks, batch_size=BATCH,
                                    shuffle=True, seed=0)
    rates = {"fit": fit_rate(model, train, rows),
             "input pipeline alone": median_rate(
                 rows, lambda: [None for _ in train], repeats)}
    held = train.take(1).cache().repeat()
    steps = rows // BATCH // STEPS_PER_EXECUTION * STEPS_PER_EXECUTION
    step_ms = 1000 * BATCH / median_rate(
        steps * BATCH, lambda: model.fit(held, epochs=1,
                                         steps_per_epoch=steps, verbose=0),
        repeats)
    x, y, _ = next(iter(train))
    jit = bool(model.jit_compile)
    first = next(iter(x))
    overhead = per_call_ms(tf.function(lambda x: tf.identity(x[first]),
                                       jit_compile=jit), x, repeats=repeats)
    parts = {}
    for name, stage in stage_models(model).items():
        call = tf.function(lambda x, s=stage: s(x, training=True),
                           jit_compile=jit)
        parts[f"forward to {name}"] = per_call_ms(call, x, repeats=repeats)

    loss = keras.losses.BinaryCrossentropy()

    @tf.function(jit_compile=jit)
    def forward_backward(x, y):
        with tf.GradientTape() as tape:
            outputs = model(x, training=True)
            total = sum(loss(y[t], outputs[t]) for t in y)
        return tape.gradient(total, model.trainable_variables)

    parts["forward and backward"] = per_call_ms(forward_backward, x, y,
                                                repeats=repeats)
    return {"examples/s": rates,
            "ms per batch of 1024": {
                "step (fit, 16 steps per call, one batch held in memory)":
                    step_ms,
                **{name: ms - overhead for name, ms in parts.items()},
                "calling a function with the batch (subtracted above)":
                    overhead}}


def _recipe_model(step: int, bundles: dict):
    """The model and optimizer of `RECIPE_STEPS[:step + 1]`."""
    bundle = bundles["recipe" if step >= 1 else "plain"]
    hparams = {}
    if step >= 2:
        hparams["cross_layers"] = 1
    if step >= 3:
        hparams["dropout"] = 0.1
    averaging = WeightAveraging.for_run(
        0.995 if step >= 4 else 0.0,
        data_lib.batches_per_epoch(len(bundle.train), BATCH))
    optimizer_class = LazyAdam if step >= 5 else keras.optimizers.Adam
    model = models.build("mmoe", bundle.features, bundle.tasks, **hparams)
    compiled(model, optimizer_class(1e-3, **averaging.optimizer_options))
    return bundle, model, averaging


def profile_recipe_defaults(bundles: dict) -> dict:
    rates = {}
    for step, name in enumerate(RECIPE_STEPS):
        keras.utils.set_random_seed(0)
        bundle, model, averaging = _recipe_model(step, bundles)
        train = data_lib.from_dataframe(bundle.train, bundle.features,
                                        bundle.tasks, batch_size=BATCH,
                                        shuffle=True, seed=0)
        rates[name] = fit_rate(model, train, len(bundle.train),
                               callbacks=averaging.callbacks)
        print(f"  {name}: {rates[name]:,.0f} examples/s", flush=True)
    return rates


def _serving_tensors(signature, frame, features) -> dict:
    specs = signature.structured_input_signature[1]
    arrays = data_lib.feature_arrays(frame, features)
    return {name: tf.cast(tf.constant(arrays[name]), spec.dtype)
            for name, spec in specs.items()}


def profile_serving(bundle, repeats: int, calls: int, folder) -> dict:
    model = compiled(models.build("mmoe", bundle.features, bundle.tasks))
    model.fit(data_lib.from_dataframe(bundle.train.iloc[:BATCH * 16],
                                      bundle.features, bundle.tasks,
                                      batch_size=BATCH), verbose=0)
    version = export_lib.export_saved_model(model, folder,
                                            model_name="mmoe")
    loaded = tf.saved_model.load(str(version))
    serve = loaded.signatures[export_lib.SIGNATURE]
    examples = loaded.signatures[export_lib.EXAMPLES_SIGNATURE]
    preprocessing = serving_model(model).get_layer("preprocessing")
    test = bundle.test
    raw = [_serving_tensors(serve, test.iloc[i:i + SERVING_BATCH],
                            bundle.features)
           for i in range(0, len(test), SERVING_BATCH)]
    encoded = [preprocessing(batch) for batch in raw]
    preprocess = tf.function(lambda x: preprocessing(x))
    forward = tf.function(lambda x: model(x, training=False))
    rows = len(test)
    result = {"at 4096 rows, examples/s": {
        "serving_default (raw values in)": median_rate(
            rows, lambda: [serve(**b) for b in raw], repeats),
        "preprocessing alone": median_rate(
            rows, lambda: [preprocess(b) for b in raw], repeats),
        "model alone (ids in)": median_rate(
            rows, lambda: [forward(b) for b in encoded], repeats)}}
    one_raw = [_serving_tensors(serve, test.iloc[i:i + 1], bundle.features)
               for i in range(100)]
    one_encoded = [preprocessing(x) for x in one_raw]
    one_examples = [tf.constant(export_lib.tf_examples(
        data_lib.feature_arrays(test.iloc[i:i + 1], bundle.features),
        bundle.features)) for i in range(100)]
    specs = serve.structured_input_signature[1]
    nothing = tf.function(lambda **x: x[next(iter(specs))],
                          input_signature=None).get_concrete_function(
        **specs)
    result["one row, p50 ms"] = {
        "serving_default": median_ms(lambda x: serve(**x), one_raw, calls),
        "serve_examples": median_ms(lambda x: examples(examples=x),
                                    one_examples, calls),
        "preprocessing alone": median_ms(preprocess, one_raw, calls),
        "model alone (ids in)": median_ms(forward, one_encoded, calls),
        "a call taking the same inputs, doing nothing": median_ms(
            lambda x: nothing(**x), one_raw, calls)}
    result["serving graph ops"] = export_lib.op_count(version)
    for rows in (SERVING_BATCH, 1):
        arrays = {name: np.asarray(tensor) for name, tensor in
                  _serving_tensors(serve, test.iloc[:rows],
                                   bundle.features).items()}
        result[f"time by op type, {rows} rows, microseconds"] = (
            served_op_times(version, arrays))
    return result


def served_op_times(version, arrays: dict, runs: int = 50) -> dict:
    """Microseconds per op type of one `serving_default` request holding
    `arrays` (raw feature values), from TensorFlow's own step statistics:
    the SavedModel loaded into a graph-mode session, as TF Serving runs
    it, and traced op by op. Returns the op types by time, and
    `"(all ops)"` and `"(session call)"`: the ops' sum and the whole
    call's median time."""
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        meta = tf.compat.v1.saved_model.loader.load(
            session, ["serve"], str(version))
        signature = meta.signature_def[export_lib.SIGNATURE]
        feed = {signature.inputs[name].name: arrays[name]
                for name in signature.inputs}
        fetch = {name: info.name for name, info in signature.outputs.items()}
        for _ in range(20):
            session.run(fetch, feed)
        call_ms = common.median_seconds(
            lambda: session.run(fetch, feed), runs) * 1e6
        options = tf.compat.v1.RunOptions(
            trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
        totals = collections.Counter()
        for _ in range(runs):
            metadata = tf.compat.v1.RunMetadata()
            session.run(fetch, feed, options=options, run_metadata=metadata)
            for device in metadata.step_stats.dev_stats:
                for node in device.node_stats:
                    # "name = OpType(inputs)"
                    label = node.timeline_label
                    op = (label.split(" = ")[1].split("(")[0]
                          if " = " in label else node.node_name)
                    totals[op] += (node.op_end_rel_micros
                                   - node.op_start_rel_micros)
    ops = {op: micros / runs for op, micros in totals.most_common(8)}
    return {**ops, "(all ops)": sum(totals.values()) / runs,
            "(session call)": call_ms}


def load_bundles(data_dir, max_rows):
    plain = data_lib.census_income(data_dir, max_rows=max_rows,
                                   **PLAIN_NUMBERS)
    recipe = data_lib.census_income(data_dir, max_rows=max_rows)
    return {"plain": plain, "recipe": recipe}


def findings(result: dict) -> list[str]:
    """What the numbers say, one sentence each."""
    rates = result["training"]["examples/s"]
    parts = list(result["training"]["ms per batch of 1024"].values())
    step, encoding, experts, forward, both, _ = parts
    serving = result["serving"]["at 4096 rows, examples/s"]
    raw = serving["serving_default (raw values in)"]
    one = result["serving"]["one row, p50 ms"]
    nothing = one["a call taking the same inputs, doing nothing"]
    recipe = result["recipe defaults, examples/s"]
    names = list(recipe)
    costs = {names[i]: recipe[names[i - 1]] / recipe[names[i]] - 1
             for i in range(1, len(names))}
    dearest = max(costs, key=costs.get)
    served = [
        f"{rows} rows: " + ", ".join(
            f"{op} {us:,.0f} us" for op, us in list(times.items())[:3])
        + f" of {times['(all ops)']:,.0f} us of ops"
        for rows, times in (
            (n, result["serving"][f"time by op type, {n} rows, "
                                  f"microseconds"])
            for n in (SERVING_BATCH, 1))]
    return [
        f"fit trains at {rates['fit'] * step / 1000 / BATCH:.0%} of the "
        f"step's own speed; the input pipeline alone runs "
        f"{rates['input pipeline alone'] * step / 1000 / BATCH:.1f}x "
        f"faster than the step, so the difference is the two sharing the "
        f"cores, not waiting for data.",
        f"A step takes {step:.2f} ms per 1024 rows (16 steps per call). "
        f"Called alone, less the call itself: the forward pass up to the "
        f"feature encoding {encoding:.2f} ms, up to the experts "
        f"{experts:.2f} ms, the whole model {forward:.2f} ms; forward and "
        f"backward {both:.2f} ms (every gradient returned, which a step "
        f"does not).",
        f"The census recipe's defaults train at "
        f"{recipe[names[-1]] / recipe[names[0]]:.0%} of the peers' "
        f"configuration; the dearest is '{dearest}' "
        f"(+{costs[dearest]:.0%} time per example).",
        f"At 4096 rows, raw-value serving ({raw:,.0f} examples/s) spends "
        f"{raw / serving['preprocessing alone']:.0%} of its time in "
        f"preprocessing and {raw / serving['model alone (ids in)']:.0%} in "
        f"the model.",
        f"One row through serving_default takes "
        f"{one['serving_default']:.2f} ms, of which {nothing:.2f} ms is "
        f"calling a function with its {len(result['inputs'])} inputs; "
        f"through serve_examples (one input) "
        f"{one['serve_examples']:.2f} ms.",
        f"The served graph's dearest ops: {'; '.join(served)}.",
    ]


def markdown(result: dict) -> str:
    lines = ["| what | value |", "|---|---|"]
    training = result["training"]
    for name, rate in training["examples/s"].items():
        lines.append(f"| training: {name}, examples/s | {rate:,.0f} |")
    for name, ms in training["ms per batch of 1024"].items():
        lines.append(f"| training: {name}, ms per 1024 rows | {ms:.2f} |")
    for name, rate in result["recipe defaults, examples/s"].items():
        lines.append(f"| recipe defaults: {name}, examples/s | {rate:,.0f} |")
    for name, rate in result["serving"]["at 4096 rows, examples/s"].items():
        lines.append(f"| serving 4096 rows: {name}, examples/s | "
                     f"{rate:,.0f} |")
    for name, ms in result["serving"]["one row, p50 ms"].items():
        lines.append(f"| serving one row: {name}, p50 ms | {ms:.2f} |")
    lines.append(f"| serving graph ops | "
                 f"{result['serving']['serving graph ops']:,} |")
    for rows in (SERVING_BATCH, 1):
        times = result["serving"][f"time by op type, {rows} rows, "
                                  f"microseconds"]
        lines.append(f"| served graph, {rows} rows: microseconds by op type "
                     f"| " + ", ".join(f"{op} {us:,.0f}"
                                       for op, us in times.items()) + " |")
    for phase, mb in result["peak memory MB, by phase"].items():
        lines.append(f"| peak memory after {phase} (MB) | {mb:,.0f} |")
    lines.append(f"| rows held in memory (MB) | "
                 f"{result['rows in memory MB']:,.0f} |")
    lines += ["", *[f"- {line}" for line in result["findings"]]]
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = common.parser(__doc__, "profile.json", data="census-income",
                           repeats=3)
    parser.add_argument("--max-rows", type=int, default=None,
                        help="rows per split (quick checks only)")
    parser.add_argument("--calls", type=int, default=300,
                        help="one-row calls per latency")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    memory = {"import": common.peak_rss_mb()}
    bundles = load_bundles(args.data_dir, args.max_rows)
    plain = bundles["plain"]
    memory["load"] = common.peak_rss_mb()
    result = {"settings": {k: v for k, v in vars(args).items()
                           if k != "output"},
              "inputs": [f.name for f in plain.features],
              "rows in memory MB": sum(
                  b.train.memory_usage(deep=True).sum()
                  + b.test.memory_usage(deep=True).sum()
                  for b in bundles.values()) / 2**20}
    print("training ...", flush=True)
    result["training"] = profile_training(plain, args.repeats)
    memory["training"] = common.peak_rss_mb()
    print("recipe defaults ...", flush=True)
    result["recipe defaults, examples/s"] = profile_recipe_defaults(bundles)
    memory["recipe defaults"] = common.peak_rss_mb()
    print("serving ...", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        result["serving"] = profile_serving(plain, args.repeats, args.calls,
                                            folder)
    memory["serving"] = common.peak_rss_mb()
    result["peak memory MB, by phase"] = memory
    result["findings"] = findings(result)
    common.write_results(args.output, result, markdown(result))
    return result


if __name__ == "__main__":
    main()
