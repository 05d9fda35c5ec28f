"""Every notebook: a tagged parameters cell of literal one-line defaults, no stored outputs; runs at smoke."""
from __future__ import annotations

import ast

import nbformat
import pytest

from artifact import paths, runner

NOTEBOOKS = sorted(paths.notebooks_dir().glob("*.ipynb"))


def test_there_are_notebooks():
    assert any(p.name == "00_kick_the_tires.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_structure(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), f"{path.name} has stored outputs"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
    tree = ast.parse(tagged[0].source)
    names = []
    for node in tree.body:
        assert isinstance(node, (ast.Assign, ast.AnnAssign)), f"{path.name}: parameters cell holds only assignments"
        value = node.value
        ast.literal_eval(value)  # literal defaults only: papermill does not recompute derived values
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        names.append(target.id)
    assert "scale" in names, f"{path.name}: the parameters cell must define scale"
    for line in tagged[0].source.strip().splitlines():
        assert "#" in line, f"{path.name}: parameter line without a comment: {line!r}"


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_at_smoke_scale(path, tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACT_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("ARTIFACT_FIGURES_DIR", str(tmp_path / "figures"))
    job = runner.NotebookJob(path, runner.paper_of(path))
    outcome = runner.run_notebook(job, "smoke", force=True)
    assert outcome.status == "ran" and job.executed.exists()
