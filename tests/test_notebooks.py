"""The notebooks run top to bottom (on small data) without a cell error."""

import os
import pathlib

import nbformat
import pytest
from jupyter_client import KernelManager
from nbclient import NotebookClient

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
SHARED = NOTEBOOKS.parents[1] / "shared" / "data"
#: The shared data folder each notebook reads (the others generate theirs or
#: fall back to simulated data).
NEEDS = {"01_quickstart": "census-income", "02_your_own_data": "movielens-100k",
         "03_compare_architectures": "census-income",
         "06_sequences": "movielens-100k"}


@pytest.fixture(scope="module")
def kernel():
    """One kernel for the notebooks a test worker runs: its start and
    TensorFlow's import are paid once. Each notebook starts from an empty
    namespace (`%reset`), so one that forgets an import still fails."""
    manager = KernelManager(kernel_name="python3")
    # Small data; many short trainings, which XLA would take longer to
    # compile than they run.
    manager.start_kernel(cwd=str(NOTEBOOKS), env={
        **os.environ, "MTZOO_NOTEBOOK_SMALL": "1",
        "MTZOO_JIT_COMPILE": "0"})
    yield manager
    manager.shutdown_kernel(now=True)


#: The first cell of every notebook run in the shared kernel: an empty
#: namespace, in the notebooks' folder.
FRESH_START = (f"%reset -f\nimport os\nos.chdir({str(NOTEBOOKS)!r})\n"
               "del os")


def _execute(notebook, kernel):
    """Runs `notebook` in `kernel` after `FRESH_START`."""
    notebook.cells.insert(0, nbformat.v4.new_code_cell(FRESH_START))
    client = NotebookClient(notebook, km=kernel, timeout=600)
    try:
        client.execute()
    finally:
        if client.kc is not None:
            client.kc.stop_channels()


@pytest.mark.large
@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")),
                         ids=lambda p: p.stem)
def test_notebook_runs(path, kernel):
    needed = NEEDS.get(path.stem)
    if needed and not (SHARED / needed).is_dir():
        pytest.skip(f"real data not available: {SHARED / needed}")
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells
               if cell.cell_type == "code"), "outputs must be cleared"
    _execute(notebook, kernel)
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert not errors


def test_a_notebook_does_not_see_the_previous_ones_names(kernel):
    first = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "left_behind = 1")])
    _execute(first, kernel)
    second = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "print('left_behind' in dir())")])
    _execute(second, kernel)
    assert second.cells[-1].outputs[0]["text"].strip() == "False"


def test_there_are_notebooks():
    assert len(list(NOTEBOOKS.glob("*.ipynb"))) >= 2
