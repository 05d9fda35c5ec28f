"""Batch execution of the notebooks through papermill (DESIGN.md, "How one experiment flows").

For each ``notebooks/*.ipynb`` the runner injects ``scale`` (and ``-p name value`` overrides), runs it
with a per-cell timeout, and writes the executed notebook to ``results/<paper>/<paper>.ipynb``.
Completion is recorded in ``results/<paper>/.complete-<scale>.json`` only after success, atomically;
the marker is removed *before* a run starts, so a run killed mid-notebook never looks complete.
While running, the executed notebook is ``<paper>.running.ipynb``; a failed run keeps it as
``<paper>.failed.ipynb`` for inspection and the error names the notebook and the failing cell.

papermill is imported lazily: ``import artifact`` must work on machines that only have torch.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from . import paths, scales
from .io import atomic_write_json

#: Per-cell timeout in seconds for each scale (``None``: no limit).
CELL_TIMEOUT = {"smoke": 600, "quick": 3600, "full": None}


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook, the failing cell and the error."""

    def __init__(self, notebook: Path, cell: int | None, error: str, executed: Path | None):
        self.notebook, self.cell, self.error, self.executed = notebook, cell, error, executed
        where = f"cell {cell} (0-based, counted in the executed notebook)" if cell is not None else "an unknown cell"
        keep = f"; partial executed notebook kept at {executed}" if executed else ""
        super().__init__(f"{notebook.name} failed in {where}: {error}{keep}")


class UnknownPaperError(ValueError):
    """``--paper`` named a notebook that does not exist."""


@dataclass(frozen=True)
class NotebookJob:
    """One notebook to run: where it is and which paper's results folder it writes."""

    path: Path
    paper: str

    @property
    def results(self) -> Path:
        return paths.results_dir(self.paper)

    def marker(self, scale: str) -> Path:
        return self.results / f".complete-{scale}.json"

    @property
    def executed(self) -> Path:
        return self.results / f"{self.paper}.ipynb"


@dataclass
class RunOutcome:
    job: NotebookJob
    status: str  # "ran", "skipped", "failed", "planned"
    seconds: float = 0.0
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def paper_of(notebook: Path) -> str:
    """``00_kick_the_tires.ipynb`` -> ``kick_the_tires``; ``ginex.ipynb`` -> ``ginex``."""
    return re.sub(r"^\d+_", "", notebook.stem)


def discover(notebooks_dir: Path | None = None) -> list[NotebookJob]:
    """Every ``*.ipynb`` in ``notebooks/`` (sorted by file name; checkpoints ignored)."""
    folder = notebooks_dir or paths.notebooks_dir()
    return [NotebookJob(p, paper_of(p)) for p in sorted(folder.glob("*.ipynb")) if not p.name.startswith(".")]


def select(jobs: Sequence[NotebookJob], papers: Iterable[str] | None) -> list[NotebookJob]:
    """Keep the jobs whose paper is in ``papers`` (all when empty); unknown names raise."""
    papers = list(papers or [])
    if not papers:
        return list(jobs)
    known = [j.paper for j in jobs]
    unknown = [p for p in papers if p not in known]
    if unknown:
        raise UnknownPaperError(f"unknown paper(s) {', '.join(unknown)}; choose from: {', '.join(known)}")
    return [j for j in jobs if j.paper in papers]


def parse_value(text: str) -> Any:
    """Type a ``-p name value`` string like papermill does: int, float, bool, None, else str."""
    low = text.strip().lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _fingerprint(job: NotebookJob, params: dict[str, Any]) -> str:
    h = hashlib.sha256(job.path.read_bytes())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def is_complete(job: NotebookJob, scale: str, params: dict[str, Any]) -> bool:
    """True when a run with the same notebook contents and parameters finished successfully."""
    marker = job.marker(scale)
    if not marker.exists() or not job.executed.exists():
        return False
    try:
        return json.loads(marker.read_text()).get("fingerprint") == _fingerprint(job, params)
    except (OSError, json.JSONDecodeError):
        return False


def _failing_cell(exc: Exception, executed: Path) -> tuple[int | None, str]:
    """Locate the failing cell from papermill's exception or from the partial executed notebook."""
    error = f"{getattr(exc, 'ename', type(exc).__name__)}: {getattr(exc, 'evalue', exc)}"
    cell = getattr(exc, "cell_index", None)
    if cell is None and executed.exists():
        try:
            nb = json.loads(executed.read_text())
            cells = [c for c in nb.get("cells", [])
                     if "papermill-error-cell-tag" not in c.get("metadata", {}).get("tags", [])]
            for i, c in enumerate(cells):
                if any(o.get("output_type") == "error" for o in c.get("outputs", [])):
                    cell = i
                    break
        except (OSError, json.JSONDecodeError):
            pass
    if cell is not None and executed.exists():
        try:
            cells = [c for c in json.loads(executed.read_text())["cells"]
                     if "papermill-error-cell-tag" not in c.get("metadata", {}).get("tags", [])]
            src = cells[cell].get("source", "")
            first = ("".join(src) if isinstance(src, list) else src).strip().splitlines()
            if first:
                error = f"{error} [cell starts: {first[0][:80]!r}]"
        except (OSError, json.JSONDecodeError, IndexError, KeyError):
            pass
    return cell, error


def run_notebook(job: NotebookJob, scale: str, params: dict[str, Any] | None = None, *, force: bool = False,
                 timeout: int | None = -1, log_dir: Path | None = None) -> RunOutcome:
    """Execute one notebook (skipped when complete unless ``force``); raise :class:`NotebookFailed`."""
    import papermill as pm

    scales.check_scale(scale)
    params = {"scale": scale, **(params or {})}
    if not force and is_complete(job, scale, params):
        return RunOutcome(job, "skipped")
    marker = job.marker(scale)
    marker.unlink(missing_ok=True)  # from here on, nothing is marked complete until success
    running = job.results / f"{job.paper}.running.ipynb"
    failed = job.results / f"{job.paper}.failed.ipynb"
    failed.unlink(missing_ok=True)
    cell_timeout = CELL_TIMEOUT[scale] if timeout == -1 else timeout

    log_dir = log_dir or (paths.results_root() / "logs")
    log_dir.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    log_path = log_dir / f"{job.paper}-{scale}-{stamp}.log"
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("papermill")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(
            str(job.path), str(running), parameters=params, kernel_name="python3",
            cwd=str(paths.notebooks_dir()), execution_timeout=cell_timeout, log_output=True,
            progress_bar=False, report_mode=False,
        )
    except BaseException as exc:
        if running.exists():
            running.replace(failed)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        cell, error = _failing_cell(exc, failed)
        logger.error("FAILED %s cell %s: %s", job.path.name, cell, error)
        raise NotebookFailed(job.path, cell, error, failed if failed.exists() else None) from exc
    finally:
        logger.removeHandler(handler)
        handler.close()
    seconds = time.perf_counter() - t0
    running.replace(job.executed)
    atomic_write_json(marker, {
        "notebook": job.path.name, "scale": scale, "params": params, "seconds": round(seconds, 2),
        "fingerprint": _fingerprint(job, params), "finished_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "log": str(log_path),
    })
    return RunOutcome(job, "ran", seconds, extra={"log": str(log_path)})


def run_all(jobs: Sequence[NotebookJob], scale: str, params: dict[str, Any] | None = None, *, force: bool = False,
            dry_run: bool = False, timeout: int | None = -1, echo=print) -> list[RunOutcome]:
    """Run ``jobs`` in order; stop at the first failure (raising :class:`NotebookFailed`)."""
    scales.check_scale(scale)
    outcomes: list[RunOutcome] = []
    for job in jobs:
        full = {"scale": scale, **(params or {})}
        if dry_run:
            state = "complete, would skip" if (not force and is_complete(job, scale, full)) else "would run"
            echo(f"[dry-run] {job.path.name} -> {job.executed} ({state}; parameters {full})")
            outcomes.append(RunOutcome(job, "planned"))
            continue
        echo(f"[run] {job.path.name} at scale={scale} ...")
        out = run_notebook(job, scale, params, force=force, timeout=timeout)
        echo(f"[run] {job.path.name}: {out.status}" + (f" in {out.seconds:.1f} s" if out.status == "ran" else " (already complete; --force reruns)"))
        outcomes.append(out)
    return outcomes
