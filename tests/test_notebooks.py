"""The notebooks run top to bottom (on small data) without a cell error."""

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
SHARED = NOTEBOOKS.parents[1] / "shared" / "data"
#: The shared data folder each notebook reads (the others generate theirs or
#: fall back to simulated data).
NEEDS = {"01_quickstart": "census-income", "02_your_own_data": "movielens-100k",
         "03_compare_architectures": "census-income",
         "06_sequences": "movielens-100k"}


@pytest.mark.large
@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")),
                         ids=lambda p: p.stem)
def test_notebook_runs(path, monkeypatch):
    needed = NEEDS.get(path.stem)
    if needed and not (SHARED / needed).is_dir():
        pytest.skip(f"real data not available: {SHARED / needed}")
    monkeypatch.setenv("MTZOO_NOTEBOOK_SMALL", "1")
    # Many short trainings: XLA would take longer to compile than they run.
    monkeypatch.setenv("MTZOO_JIT_COMPILE", "0")
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells
               if cell.cell_type == "code"), "outputs must be cleared"
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert not errors


def test_there_are_notebooks():
    assert len(list(NOTEBOOKS.glob("*.ipynb"))) >= 2
