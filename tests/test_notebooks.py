"""The tutorial notebooks run from top to bottom and are stored clean.

Every notebook in ``notebooks/`` is executed headless, in a kernel started
from the interpreter that runs the tests (so it imports this checkout's
``pyg_signeq``), with its working directory in a temporary folder and
matplotlib drawing off screen. A cell that raises fails the test. The
runs are slow-marked: ``pytest -m slow tests/test_notebooks.py``.
"""

import os
import sys
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

# Seconds a single cell may take; every tutorial is meant to run in well
# under a minute on a CPU, so a cell near this limit is a bug.
CELL_TIMEOUT = 120

KERNEL_NAME = "pyg-signeq-tests"


def _ids(path: Path) -> str:
    return path.name


@pytest.fixture
def kernel_name(tmp_path, monkeypatch):
    """A kernel spec that runs ``sys.executable``, found only by this test.

    The default ``python3`` kernel may belong to another environment, so
    the spec is written to a temporary Jupyter data folder that is put
    first on ``JUPYTER_PATH``.
    """
    data_dir = tmp_path / "jupyter"
    write_kernel_spec(
        data_dir / "kernels" / KERNEL_NAME,
        overrides={"display_name": f"pyg_signeq tests ({sys.executable})"},
    )
    path = os.environ.get("JUPYTER_PATH")
    monkeypatch.setenv(
        "JUPYTER_PATH", os.pathsep.join(filter(None, [str(data_dir), path]))
    )
    # Figures are drawn off screen; the kernel inherits the environment.
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # One thread: the tutorials' graphs are tiny, so more threads only add
    # overhead, and the test machines are shared with timing benchmarks.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return KERNEL_NAME


def test_the_tutorials_are_there():
    names = [path.name for path in NOTEBOOKS]
    for expected in [
        "01_quick_start.ipynb",
        "02_why_sign_equivariance.ipynb",
        "03_ogb_link_prediction.ipynb",
        "04_orthogonal_equivariance.ipynb",
    ]:
        assert expected in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: code cells {dirty} hold outputs or execution counts; "
        f"clear them before committing (e.g. jupyter nbconvert "
        f"--clear-output --inplace {path.name})"
    )


# Each notebook takes 10-20 s, most of it starting a kernel and importing
# torch; together they take over a minute, too long for the fast suite.
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_runs(path, kernel_name, tmp_path):
    nb = nbformat.read(path, as_version=4)
    workdir = tmp_path / "run"
    workdir.mkdir()
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(workdir)}},
    )
    # Raises CellExecutionError, with the cell and its traceback, on the
    # first cell that fails.
    client.execute()

    errors = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
