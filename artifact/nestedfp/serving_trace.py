"""Request traces for the NestedFP serving simulator (``papers/nestedfp.md`` §3.5).

The paper replays the Azure LLM inference trace 2024 (conversation, 2024-05-14 14:00-14:20 UTC,
89,617 requests, 74.7 req/s; shipped in ``data/azure/`` with its CC-BY attribution) and derives
load levels the way the authors' ``plot_real_trace.py`` does:

* :func:`scale_by_time_compression` — the repository's ``_{f}x_tc`` traces: every inter-arrival
  time multiplied by ``f`` (f = 10 gives 7.47 req/s). Despite the name, larger ``f`` = lighter load.
* :func:`scale_by_token_length` — the ``_{f}x_token`` traces: prompt and output lengths times ``f``.
* :func:`poisson_arrivals` — the ``poisson_`` variant: the same requests at the same mean rate.

Example::

    >>> tr = load_azure_trace()
    >>> len(tr), round(tr.rate, 1)
    (89617, 74.7)
    >>> light = scale_by_time_compression(tr, 10).head(120.0)   # first 2 min at 7.47 req/s
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from artifact import paths

__all__ = [
    "AZURE_TRACE_FILE",
    "REQUIRED_COLUMNS",
    "TraceFormatError",
    "Trace",
    "load_azure_trace",
    "scale_by_time_compression",
    "scale_by_token_length",
    "poisson_arrivals",
    "burst_trace",
]

AZURE_TRACE_FILE = "azure_llm_conv_2024-05-14_1400_20min.csv.gz"
REQUIRED_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")


class TraceFormatError(ValueError):
    """A trace file is missing columns or holds unusable values."""


@dataclass(frozen=True)
class Trace:
    """Requests sorted by arrival: ``arrival_s`` (R,) float64 seconds from the first request,
    ``prompt_tokens`` (R,) int64, ``output_tokens`` (R,) int64 (>= 1)."""

    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    name: str = "trace"

    def __post_init__(self) -> None:
        n = len(self.arrival_s)
        if len(self.prompt_tokens) != n or len(self.output_tokens) != n:
            raise TraceFormatError("arrival_s, prompt_tokens and output_tokens must have the same length")
        if n and np.any(np.diff(self.arrival_s) < 0):
            raise TraceFormatError("arrival_s must be sorted; build traces with the helpers in this module")

    def __len__(self) -> int:
        return len(self.arrival_s)

    @property
    def duration_s(self) -> float:
        return float(self.arrival_s[-1] - self.arrival_s[0]) if len(self) > 1 else 0.0

    @property
    def rate(self) -> float:
        """Mean arrival rate in requests/s over the trace's span."""
        return (len(self) - 1) / self.duration_s if self.duration_s > 0 else float("nan")

    def head(self, duration_s: float) -> "Trace":
        """Requests arriving in the first ``duration_s`` seconds (the replay window)."""
        n = int(np.searchsorted(self.arrival_s, self.arrival_s[0] + duration_s, side="left")) if len(self) else 0
        return Trace(self.arrival_s[:n], self.prompt_tokens[:n], self.output_tokens[:n], f"{self.name}[:{duration_s:g}s]")


def load_azure_trace(path: str | Path | None = None) -> Trace:
    """Load the shipped Azure conversation trace (or any CSV[.gz] with the same three columns)."""
    import pandas as pd  # lazy: keep module import light

    path = Path(path) if path is not None else paths.data_dir("azure", AZURE_TRACE_FILE)
    if not path.exists():
        raise FileNotFoundError(f"trace file {path} not found; the repository ships it under data/azure/")
    df = pd.read_csv(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise TraceFormatError(
            f"trace {path.name} lacks column(s) {missing}; expected {list(REQUIRED_COLUMNS)}, found {list(df.columns)}"
        )
    ts = pd.to_datetime(df["TIMESTAMP"], utc=True, format="ISO8601")
    if ts.isna().any():
        raise TraceFormatError(f"trace {path.name}: unparseable TIMESTAMP values in {int(ts.isna().sum())} rows")
    order = np.argsort(ts.to_numpy(), kind="stable")
    t = (ts.iloc[order] - ts.iloc[order[0]]).dt.total_seconds().to_numpy(dtype=np.float64)
    prompt = df["ContextTokens"].to_numpy()[order].astype(np.int64)
    out = df["GeneratedTokens"].to_numpy()[order].astype(np.int64)
    if (prompt < 1).any() or (out < 0).any():
        raise TraceFormatError(f"trace {path.name}: ContextTokens must be >= 1 and GeneratedTokens >= 0")
    return Trace(t, prompt, np.maximum(out, 1), name=path.name.split(".")[0])


def scale_by_time_compression(trace: Trace, factor: float) -> Trace:
    """The repository's ``_{factor}x_tc`` trace: inter-arrival times multiplied by ``factor``."""
    if factor <= 0:
        raise ValueError(f"time-compression factor must be > 0, got {factor}")
    return Trace(trace.arrival_s * factor, trace.prompt_tokens, trace.output_tokens, f"{trace.name}_{factor:g}x_tc")


def scale_by_token_length(trace: Trace, factor: float) -> Trace:
    """The repository's ``_{factor}x_token`` trace: prompt and output token counts multiplied by ``factor``."""
    if factor <= 0:
        raise ValueError(f"token-scaling factor must be > 0, got {factor}")
    prompt = np.maximum(np.rint(trace.prompt_tokens * factor), 1).astype(np.int64)
    out = np.maximum(np.rint(trace.output_tokens * factor), 1).astype(np.int64)
    return Trace(trace.arrival_s, prompt, out, f"{trace.name}_{factor:g}x_token")


def poisson_arrivals(trace: Trace, seed: int = 0) -> Trace:
    """Same requests in the same order, re-timed as a Poisson process at the trace's mean rate."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / trace.rate, size=len(trace))
    t = np.concatenate([[0.0], np.cumsum(gaps[1:])])
    return Trace(t, trace.prompt_tokens, trace.output_tokens, f"poisson_{trace.name}")


def burst_trace(n: int, prompt_tokens: int, output_tokens: int) -> Trace:
    """``n`` identical requests all arriving at t = 0 (the paper's throughput mode, §3.4)."""
    return Trace(np.zeros(n), np.full(n, prompt_tokens, dtype=np.int64), np.full(n, output_tokens, dtype=np.int64),
                 f"burst_{n}x{prompt_tokens}+{output_tokens}")
