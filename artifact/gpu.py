"""Device selection shared by kernels, notebooks and GPU scripts (DESIGN.md, "GPU code").

The same code runs on a laptop (Triton in interpreter mode, torch on the CPU) and on an H100.
"""
from __future__ import annotations

import os


def has_cuda() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return False
    return bool(torch.cuda.is_available())


def configure_triton() -> bool:
    """Set ``TRITON_INTERPRET=1`` when no CUDA GPU is present. Call before ``import triton``.

    Returns True when kernels will run in the interpreter (CPU). An explicit ``TRITON_INTERPRET``
    in the environment is respected.
    """
    if "TRITON_INTERPRET" not in os.environ and not has_cuda():
        os.environ["TRITON_INTERPRET"] = "1"
    return os.environ.get("TRITON_INTERPRET") == "1"


def default_device():
    import torch

    return torch.device("cuda") if has_cuda() else torch.device("cpu")
