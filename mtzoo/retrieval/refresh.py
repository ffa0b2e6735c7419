"""A trained model exported again with a new catalogue: items first seen
after training become candidates without retraining."""

from __future__ import annotations

import pathlib

import pandas as pd

from mtzoo import export
from mtzoo import models
from mtzoo import tasks as tasks_lib
from mtzoo.retrieval import catalogues


def export_with_catalogue(model_path, items, export_dir, *,
                          model_name: str | None = None,
                          task: str | None = None, top_k: int = 100):
    """A new SavedModel version of a trained model (`model.keras`, loaded
    with `safe_mode=True`) whose retrieval catalogue is `items` (a frame,
    or a CSV / Parquet file with the candidate features' columns), without
    retraining: items first seen after training are scored through the
    features the candidate tower reads besides their id (an unseen id
    reads the unknown-id row). Returns the version folder."""
    model = models.load_model(model_path)
    if not isinstance(items, pd.DataFrame):
        from mtzoo.recipes.table import read_table

        items = read_table(str(items))
    catalogues.retrieval_task(model.tasks, task)  # names an unknown task
    # Every retrieval task's signatures need a catalogue; the item file
    # holds each one's candidate columns.
    return export.export_saved_model(
        model, pathlib.Path(export_dir),
        model_name=model_name or pathlib.Path(model_path).parent.name,
        catalogues={t.name: catalogues.catalogue(items, model.features,
                                                 model.tasks, t.name)
                    for t in tasks_lib.retrieval_tasks(model.tasks)},
        top_k=top_k)
