"""Environment capture written as ``env.json`` next to every result (DESIGN.md, "Honest provenance").

Works without papermill/Jupyter and without a GPU; every probe that can fail degrades to ``None``.
"""
from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from . import paths
from .io import atomic_write_json

_PACKAGES = ("torch", "triton", "torch_geometric", "numpy", "pandas", "papermill", "transformers", "imagecodecs")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def gpu_info() -> dict[str, Any] | None:
    """Name, memory and driver of GPU 0, or None when there is no CUDA device."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    info: dict[str, Any] = {
        "name": props.name,
        "memory_gib": round(props.total_memory / 2**30, 1),
        "capability": f"{props.major}.{props.minor}",
        "cuda": torch.version.cuda,
        "count": torch.cuda.device_count(),
    }
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10,
        )
        info["driver"] = out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, subprocess.TimeoutExpired):
        info["driver"] = None
    return info


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        dist = name.replace("_", "-")
        try:
            versions[name] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=paths.REPO_ROOT, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def hardware_label(gpu: dict[str, Any] | None | bool = True) -> str:
    """One-line hardware description used in figure captions and claim records."""
    info = gpu_info() if gpu is True else (gpu or None)
    cpu = f"CPU: {cpu_model()} ({cpu_count()} cores)"
    return f"{cpu}, GPU: {info['name']}" if info else f"{cpu}, no GPU"


def collect(scale: str | None = None, seed: int | None = None) -> dict[str, Any]:
    """Everything a reader needs to judge where a number came from."""
    gpu = gpu_info()
    return {
        "timestamp_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "hardware": hardware_label(gpu),
        "cpu_model": cpu_model(),
        "cpu_cores": cpu_count(),
        "ram_gib": ram_gib(),
        "gpu": gpu,
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": package_versions(),
        "git": git_state(),
        "scale": scale,
        "seed": seed,
    }


def write_env(folder: str | os.PathLike, scale: str | None = None, seed: int | None = None) -> Path:
    """Write ``env.json`` into ``folder`` atomically and return its path."""
    return atomic_write_json(Path(folder) / "env.json", collect(scale=scale, seed=seed))
