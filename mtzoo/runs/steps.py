"""The steps of a run: prepare data -> build -> fit -> evaluate -> save
and export. `mtzoo.runs.run` calls them in order; notebooks and benchmarks
call the ones they need.
"""

from __future__ import annotations

import dataclasses
import logging
import pathlib
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from mtzoo import catalog
from mtzoo import data as data_lib
from mtzoo import evaluation
from mtzoo import export as export_lib
from mtzoo import features as features_lib
from mtzoo import models
from mtzoo import retrieval
from mtzoo import tasks as tasks_lib
from mtzoo.data import shards
from mtzoo.models import registry
from mtzoo.models.batched_call import call_in_batches
from mtzoo.runs import config as config_lib
from mtzoo.training.averaging import WeightAveraging
from mtzoo.training.callbacks import EpochTimer
from mtzoo.training.callbacks import StopOnNonFiniteLoss
from mtzoo.training import relative_loss
from mtzoo.training.checkpoint import TrainingCheckpoint
from mtzoo.training.lazy_adam import LazyAdam

#: Rows of a split kept on disk (`mtzoo.data.shards`) that what needs rows
#: in memory reads at most: label statistics, the relative validation
#: loss's references, evaluation and the baselines (an evenly spaced
#: sample; `metrics.json` states the rows evaluated). Memory then stays
#: flat as the table grows; AUC's standard error on 250,000 rows is about
#: 0.001.
SAMPLE_ROWS = 250_000
#: The most batches of a frame that are predicted by calling the model
#: eagerly rather than through `Model.predict`, whose first call traces a
#: step, and compiles it for a model whose steps XLA compiles (about 3 s),
#: that then runs a batch about twice as fast as an eager call. Chosen on
#: `benchmarks/run_overhead.py`: with XLA, eager calls win up to about 60
#: batches; without, up to about 8.
EAGER_BATCHES = {"xla": 32, "traced": 8}
#: Training splits of at least this many batches train on full batches
#: (`mtzoo.data.from_dataframe(full_batches=True)`).
FULL_BATCHES_FROM = 16


def with_task_weights(tasks, weights: dict | None) -> list:
    """Tasks with the loss weights of `weights` (task name -> weight)."""
    if not weights:
        return list(tasks)
    names = [t.name for t in tasks]
    unknown = sorted(set(weights) - set(names))
    if unknown:
        raise ValueError(f"`task_weights` names unknown tasks {unknown}; "
                         f"the tasks are {names}.")
    return [dataclasses.replace(t, weight=float(weights.get(t.name,
                                                             t.weight)))
            for t in tasks]


def prepare(recipe, config):
    """The recipe's splits and specs, with each task's label statistics
    learned from the training split and `config.task_weights` applied."""
    keras.utils.set_random_seed(config.seed)
    splits = recipe.prepare(config, config.model)
    tasks = tasks_lib.adapt(splits.tasks, shards.in_memory(
        splits.train, SAMPLE_ROWS, shards.label_columns(splits.tasks)))
    features = splits.features
    if config.piecewise_linear_bins:
        features = features_lib.adapt(features_lib.with_piecewise_linear_bins(
            features, config.piecewise_linear_bins),
            shards.chunks(splits.train))
    return dataclasses.replace(
        splits, features=features,
        tasks=with_task_weights(tasks, config.task_weights))


def hyperparameters(recipe, config, splits) -> dict:
    """Builder keywords: the recipe's defaults for the architecture, the
    run's, then what the recipe sets itself."""
    accepted = registry.hyperparameters(config.model)
    chosen = {k: v for k, v in recipe.hparams.items() if k in accepted}
    for name, value in config.hyperparameters.items():
        if name not in accepted or name in catalog.RECIPE_SET:
            raise ValueError(
                f"Hyperparameter '{name}' does not apply to "
                f"'{config.model}'; its hyperparameters are "
                f"{sorted(k for k in accepted if k not in catalog.RECIPE_SET)}")
        chosen[name] = value
    return {**splits.build_kwargs, **chosen}


@dataclasses.dataclass
class Trainer:
    """What `build` makes and `fit` uses: the compiled model and how it
    was built (to rebuild a local copy after multi-worker training)."""

    model: keras.Model
    hparams: dict
    averaging: WeightAveraging
    steps_per_execution: int
    catalogues: dict
    #: The `tf.distribute` strategy it was built under, or None.
    strategy: object = None

    def rebuild(self, config, splits) -> keras.Model:
        return _compiled(config, splits, self.hparams, self.averaging,
                         self.steps_per_execution)


def _compiled(config, splits, hparams, averaging, steps_per_execution):
    model = models.build(config.model, splits.features, splits.tasks,
                         **hparams)
    model.compile(
        optimizer=LazyAdam(config.learning_rate,
                           **averaging.optimizer_options),
        weighting=config.weighting_config,
        # "auto": XLA where the model allows it (MultiTaskModel.compile).
        jit_compile="auto" if config.jit_compile else False,
        steps_per_execution=steps_per_execution)
    return model


def build(recipe, config, splits, *, strategy=None,
          multi_worker: bool = False) -> Trainer:
    """The compiled model (in `strategy`'s scope), its retrieval
    catalogues and sampling probabilities."""
    from mtzoo.training import distribution

    hparams = hyperparameters(recipe, config, splits)
    averaging = WeightAveraging.for_run(
        config.weight_averaging,
        data_lib.batches_per_epoch(len(splits.train), config.batch_size))
    # Keras' multi-step loop leaves a collective op's input unfed across
    # workers (InvalidArgumentError "must feed a value for placeholder").
    steps = 1 if multi_worker else config.steps_per_execution
    with distribution.scope(strategy):
        model = _compiled(config, splits, hparams, averaging, steps)
    catalogues = {
        t.name: retrieval.catalogue(splits.train, splits.features,
                                    splits.tasks, t.name)
        for t in tasks_lib.retrieval_tasks(splits.tasks)}
    for catalogue in catalogues.values():
        retrieval.set_sampling_probabilities(model, catalogue)
    return Trainer(model, hparams, averaging, steps, catalogues,
                   strategy)


@dataclasses.dataclass
class Fitted:
    """What `fit` returns: the logs of every epoch (including epochs
    before a resume), the timer and the checkpoint."""

    history: dict
    timer: EpochTimer
    checkpoint: TrainingCheckpoint
    initial_epoch: int
    patience: int


def fit(trainer: Trainer, config, splits, output: pathlib.Path, *,
        write: bool = True) -> Fitted:
    """Trains with early stopping on the tasks' relative validation loss
    (`mtzoo.training.relative_loss`), weight averaging
    and a checkpoint after every epoch (resumed with `config.resume`).

    The one place these are put together: the averaged weights are swapped
    in before early stopping judges and keeps them, and the checkpoint is
    written after both.
    """
    model = trainer.model
    relative = relative_loss.for_splits(
        shards.sampled_splits(splits, {"train": SAMPLE_ROWS,
                                       "validation": SAMPLE_ROWS},
                              shards.label_columns(splits.tasks)),
        config.batch_size, trainer.catalogues)
    patience = (config.patience if config.patience is not None
                else config_lib.sized_patience(len(splits.train),
                                               config.batch_size))
    stop = keras.callbacks.EarlyStopping(
        monitor=relative_loss.MONITOR, mode="min", patience=patience,
        restore_best_weights=True)
    checkpoint = TrainingCheckpoint(
        output / "checkpoint", settings=config.settings(),
        early_stopping=stop, write=write,
        averaged_weights=trainer.averaging.enabled)
    if checkpoint.latest() is not None and not config.resume:
        raise ValueError(
            f"'{checkpoint.directory}' holds the checkpoint of an "
            f"interrupted run: resume it (--resume), or remove the folder "
            f"to start over.")
    initial_epoch = checkpoint.restore(model) if config.resume else 0
    if checkpoint.finished:
        initial_epoch = config.epochs
    # Epoch k's order depends on (seed, k) only, so a resumed run sees the
    # batches the uninterrupted run would have.
    cache = _encoded_cache(splits)
    train = _training_batches(trainer, config, splits, initial_epoch, cache)
    validation = shards.dataset(
        splits.validation, splits.features, splits.tasks,
        batch_size=max(config.batch_size, 4096),
        cache=cache and cache / "validation")
    timer = EpochTimer(len(splits.train))
    callbacks = [*trainer.averaging.callbacks, relative, stop, timer,
                 StopOnNonFiniteLoss()]
    if write:
        callbacks.append(keras.callbacks.TensorBoard(
            str(output / "tensorboard"), write_graph=False))
    try:
        model.fit(train, validation_data=validation, epochs=config.epochs,
                  initial_epoch=initial_epoch,
                  callbacks=callbacks + [checkpoint],  # after early stopping
                  verbose=2 if config.verbose else 0)
    finally:
        if cache:
            shutil.rmtree(cache, ignore_errors=True)
    return Fitted(checkpoint.history, timer, checkpoint, initial_epoch,
                  patience)


def _training_batches(trainer, config, splits, initial_epoch, cache):
    """The training split's batches: with several workers and a split in
    at least as many files, each worker reads its own files
    (`shards.distributed_dataset`); else every worker reads every file
    and keeps its share of the batches (tf.data's auto-sharding)."""
    from mtzoo.training import distribution

    workers = distribution.worker_count(trainer.strategy)
    if workers > 1 and shards.is_sharded(splits.train) and len(
            splits.train.paths) >= workers:
        return shards.distributed_dataset(
            trainer.strategy, splits.train, splits.features, splits.tasks,
            batch_size=config.batch_size, shuffle=True, seed=config.seed,
            first_epoch=initial_epoch)
    # Full batches: the XLA step compiles once, not again for a smaller
    # last batch; below FULL_BATCHES_FROM batches the zero-weight filler
    # rows would pull the logged training loss down too far.
    return shards.dataset(
        splits.train, splits.features, splits.tasks,
        batch_size=config.batch_size, shuffle=True, seed=config.seed,
        first_epoch=initial_epoch, cache=cache and cache / "train",
        full_batches=len(splits.train) >= FULL_BATCHES_FROM
        * config.batch_size)


def _encoded_cache(splits) -> pathlib.Path | None:
    """A new folder of this process (under the temporary directory,
    `TMPDIR`) where a sharded split's encoded batches are kept during
    `fit`, or None for splits in memory. Its own: workers sharing an
    output folder, or a resumed run, never read another's partial cache."""
    if not shards.is_sharded(splits.train):
        return None
    return pathlib.Path(tempfile.mkdtemp(prefix="mtzoo-encoded-"))


def predict(model, frame, features, batch_size: int = 4096) -> dict:
    """The model's outputs for a frame's rows: called eagerly on up to
    `EAGER_BATCHES` batches, through `Model.predict` on more."""
    dataset = data_lib.from_dataframe(frame, features, batch_size=batch_size)
    limit = EAGER_BATCHES["xla" if model.jit_compile else "traced"]
    if len(frame) <= limit * batch_size:
        return call_in_batches(model, dataset)
    _quiet_tracing_of_distinct_models()
    return model.predict(dataset, verbose=0)


class _DistinctModelsTracing(logging.Filter):
    """Drops TensorFlow's "5 out of the last 5 calls to ... triggered
    tf.function retracing" warning. TensorFlow counts the traces of every
    Keras model's predict step as one function's (it keys them by their
    Python code), so a run that predicts with several models in a row (an
    ensemble's candidates, a search's trials, a multi-worker chief's local
    copy) sees it though each model traces its own step once per shape."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def _quiet_tracing_of_distinct_models() -> None:
    logger = tf.get_logger()
    if not any(isinstance(f, _DistinctModelsTracing)
               for f in logger.filters):
        logger.addFilter(_DistinctModelsTracing())


def evaluate(model, splits, catalogues: dict, *, split: str = "test",
             batch_size: int = 4096) -> dict:
    """Per-task metrics and the combined score of a split (`"test"` or
    `"validation"`; `mtzoo.evaluation.evaluate`), retrieval over each
    catalogue."""
    frame = shards.in_memory(getattr(splits, split), SAMPLE_ROWS)
    labels, weights = data_lib.label_arrays(frame, splits.tasks)
    predictions = predict(model, frame, splits.features, batch_size)
    return evaluation.evaluate(
        splits.tasks, labels, predictions, weights,
        retrieval={name: retrieval.evaluate(model, frame, catalogue)
                   for name, catalogue in catalogues.items()})


def baselines(splits, config) -> tuple[dict, tuple | None]:
    """`(results, fitted)`: per-task baselines on the run's rows
    (`mtzoo.baselines`), and the fitted models (`(design, fits)`, as
    `mtzoo.baselines.fitted` gives them) for an ensemble to serve; `({},
    None)` when the run asks for none."""
    from mtzoo import baselines as baselines_lib

    if not config.baselines:
        return {}, None
    # They fit on at most MAX_TRAIN_ROWS and are scored on the network's
    # test rows; a streamed table's validation rows are sampled as their
    # training rows are (they only early-stop and regularize).
    fitted_rows = baselines_lib.MAX_TRAIN_ROWS
    results, design, fits = baselines_lib.fit_score_and_keep(
        shards.sampled_splits(splits, {"train": fitted_rows,
                                       "validation": fitted_rows,
                                       "test": SAMPLE_ROWS}),
        seed=config.seed)
    return results, (design, fits)


def save_and_export(model, splits, output: pathlib.Path, *, export_name,
                    catalogues: dict, export: bool = True) -> dict:
    """Writes `model.keras` (checked by loading it back with
    `safe_mode=True`) and, with `export`, the SavedModel under
    `export/<export_name>/<version>/`."""
    models.save_model(model, output / "model.keras")
    sample = data_lib.model_inputs(shards.head(splits.test, 256),
                                   splits.features)
    reloaded = models.load_model(output / "model.keras")
    # Called eagerly: tracing a predict step for each model cost more than
    # these 256 rows.
    expected, actual = model(sample), reloaded(sample)
    difference = max(float(np.max(np.abs(np.asarray(expected[k])
                                          - np.asarray(actual[k]))))
                     for k in expected)
    saved_model = None
    if export:
        saved_model = export_lib.export_saved_model(
            model, output / "export", model_name=export_name,
            warmup_inputs=data_lib.feature_arrays(shards.head(splits.test, 8),
                                                  splits.features),
            catalogues=catalogues or None)
    return {"reload_max_abs_difference": difference,
            "saved_model": (str(saved_model.relative_to(output))
                            if saved_model else None)}
