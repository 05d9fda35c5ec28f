"""Where inputs, generated data, results and figures live (DESIGN.md, "Layout").

Environment overrides (useful for tests and for putting large generated data on another disk):
``ARTIFACT_RESULTS_DIR``, ``ARTIFACT_FIGURES_DIR``, ``ARTIFACT_GENERATED_DIR``.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _dir(env: str, default: Path, *parts: str, create: bool = True) -> Path:
    base = Path(os.environ[env]) if os.environ.get(env) else default
    path = base.joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def results_root() -> Path:
    """``results/`` (git-ignored): executed notebooks, CSV/JSON, claims, the HTML report."""
    return _dir("ARTIFACT_RESULTS_DIR", REPO_ROOT / "results")


def results_dir(paper: str) -> Path:
    """``results/<paper>/``, created on demand."""
    return _dir("ARTIFACT_RESULTS_DIR", REPO_ROOT / "results", paper)


def figures_dir(paper: str) -> Path:
    """``figures/<paper>/``, created on demand (git-ignored except figures/README.md)."""
    return _dir("ARTIFACT_FIGURES_DIR", REPO_ROOT / "figures", paper)


def data_dir(*parts: str) -> Path:
    """``data/<parts>``: committed inputs (paper reference values, measured GPU tables, shipped data)."""
    return REPO_ROOT.joinpath("data", *parts)


def generated_dir(*parts: str) -> Path:
    """``data/generated/<parts>`` (git-ignored, rebuilt on demand), created on demand."""
    return _dir("ARTIFACT_GENERATED_DIR", REPO_ROOT / "data" / "generated", *parts)


def notebooks_dir() -> Path:
    return REPO_ROOT / "notebooks"
