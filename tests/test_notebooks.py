"""The notebooks run top to bottom against the demo store (a real kernel, the public API only)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import copy_demo

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def demo_store(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_demo(demo_file, tmp_path_factory.mktemp("nb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(notebook: Path, demo_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVENANCE_STORE", str(demo_store))
    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(demo_store.parent)}}
    ).execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert errors == []


def test_both_notebooks_exist() -> None:
    assert [p.name for p in NOTEBOOKS] == ["data_engineering.ipynb", "legal_team.ipynb"]
