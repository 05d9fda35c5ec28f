"""Tiny throwaway notebooks for runner tests."""
from __future__ import annotations

from pathlib import Path

import nbformat as nbf


def make_notebook(path: Path, body: str, params: str = 'scale: str = "quick"  # smoke | quick | full') -> Path:
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbf.v4.new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbf.v4.new_markdown_cell("# throwaway"), p, nbf.v4.new_code_cell(body)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbf.write(nb, path)
    return path
