"""Atomic writes: a file is complete or absent, never half-written (DESIGN.md, "Idempotent runs")."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from . import paths


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temporary file in the same folder, fsync it, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def save_csv(df, paper: str, name: str, *, scale: str, seed: int | None = None) -> Path:
    """Write ``df`` to ``results/<paper>/<name>.csv`` (full precision) and refresh ``env.json``."""
    from . import envinfo

    out = paths.results_dir(paper) / f"{name}.csv"
    atomic_write_text(out, df.to_csv(index=False, float_format="%.17g"))
    envinfo.write_env(paths.results_dir(paper), scale=scale, seed=seed)
    return out
