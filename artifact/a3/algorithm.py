"""A3's approximate attention: the heap-based reference (Ham et al., HPCA 2020, §IV, Fig. 7).

This module is the *bit-faithful reference* that defines the semantics; the batched torch version
in :mod:`artifact.a3.batched` must agree with it exactly (candidate and kept sets) on every input.

Stages (``papers/a3.md`` §1.3-1.6):

1. :func:`preprocess` -- per key matrix, sort every column ascending as (value, row id), stable.
2. :func:`greedy_search` / :func:`candidate_selection` -- Fig. 7: per-column max/min pointers, a
   max queue and a min queue over the current component products ``K[i, j] * q[j]``. Each of the
   ``M`` iterations pops the max side (added to its row's greedy score only if > 0), then the min
   side (added only if < 0). With ``min_skip`` the min pop of an iteration is skipped while the
   running sum of every value added so far is negative. An exhausted column is not pushed again;
   ties between columns go to the lower column index (heap key ``(value, column)``), ties inside a
   column follow the stable sort order. Candidates = rows with greedy score > 0.
3. :func:`a3_attention` -- exact scores on the candidates only (the caller folds any 1/sqrt(d) into
   ``q``, §2.7 item 7), keep rows with ``s_max - s_i <= ln(100 / T)`` (§IV-D reading, §1.5),
   softmax over the kept rows, weighted sum of ``V``.

**Empty-candidate rule** (unspecified in the paper, ``papers/a3.md`` §6 item 6): if no row ends
with a positive greedy score, the candidate set is the single row that owns the largest component
product -- the entry at the head of the max queue before the first pop (ties: lower column, then
sort order). It is always defined (n, d >= 1), costs one dot product in hardware (C = 1) and is the
row the greedy search itself ranks first. The counters report such queries with ``empty = True``.

Dot products are accumulated column by column, left to right, in float64 (``_sequential_dot``), so
that the batched version can reproduce the kept set bit for bit.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "SortedKeys",
    "GreedyTrace",
    "A3Result",
    "preprocess",
    "greedy_search",
    "candidate_selection",
    "post_scoring_threshold",
    "a3_attention",
    "exact_attention",
    "quantize_fixed",
    "check_inputs",
]


@dataclass(frozen=True)
class SortedKeys:
    """Column-sorted key matrix (the 'Sorted Key' SRAM of Fig. 8)."""

    values: np.ndarray  # (n, d) float64, each column ascending
    rows: np.ndarray  # (n, d) int64, row id of each sorted entry

    @property
    def n(self) -> int:
        return int(self.values.shape[0])

    @property
    def d(self) -> int:
        return int(self.values.shape[1])


@dataclass
class GreedyTrace:
    """Everything the greedy search did for one query (used by tests and the cycle model)."""

    scores: np.ndarray  # (n,) greedy scores after the last iteration
    history: list[np.ndarray] = field(default_factory=list)  # greedy scores after each iteration
    first_row: int = 0  # row of the largest component product (head of maxQ before any pop)
    max_pops: int = 0  # max-queue pops performed
    min_pops: int = 0  # min-queue pops performed (min-skip reduces this)


@dataclass
class A3Result:
    """Output and counters of one approximate attention op."""

    output: np.ndarray  # (d_v,)
    candidates: np.ndarray  # sorted row ids that were scored (C of them)
    kept: np.ndarray  # sorted row ids that survived post-scoring (K of them)
    n: int
    M: int
    empty: bool  # True when the empty-candidate rule supplied the candidate

    @property
    def C(self) -> int:
        return int(self.candidates.size)

    @property
    def K(self) -> int:
        return int(self.kept.size)


def _check_finite(name: str, x: np.ndarray) -> None:
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf; A3 needs finite keys/queries/values (clean the input)")


def check_inputs(K: np.ndarray, q: np.ndarray, M: int, T_percent: float | None = None,
                 V: np.ndarray | None = None) -> None:
    """Validate shapes and parameters; raise ``ValueError`` saying what the valid range is."""
    if K.ndim != 2 or K.shape[0] < 1 or K.shape[1] < 1:
        raise ValueError(f"K must be a non-empty (n, d) matrix, got shape {K.shape}")
    if q.ndim != 1 or q.shape[0] != K.shape[1]:
        raise ValueError(f"q must have shape (d,) = ({K.shape[1]},) to match K {K.shape}, got {q.shape}")
    if V is not None and (V.ndim != 2 or V.shape[0] != K.shape[0]):
        raise ValueError(f"V must have shape (n, d_v) with n = {K.shape[0]} rows like K, got {V.shape}")
    if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 0:
        raise ValueError(f"M (candidate-selection iterations) must be an integer >= 0, got {M!r}")
    if T_percent is not None and not (0.0 < float(T_percent) <= 100.0):
        raise ValueError(f"T_percent must lie in (0, 100] (post-scoring threshold in %), got {T_percent!r}")
    _check_finite("K", K)
    _check_finite("q", q)
    if V is not None:
        _check_finite("V", V)


def preprocess(K: np.ndarray) -> SortedKeys:
    """Sort each column of ``K`` ascending as (value, row id); stable, so equal values keep row order."""
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] < 1 or K.shape[1] < 1:
        raise ValueError(f"K must be a non-empty (n, d) matrix, got shape {K.shape}")
    _check_finite("K", K)
    order = np.argsort(K, axis=0, kind="stable")  # (n, d) row ids
    return SortedKeys(values=np.take_along_axis(K, order, axis=0), rows=order.astype(np.int64))


def greedy_search(pre: SortedKeys, q: np.ndarray, M: int, min_skip: bool = True,
                  record_history: bool = False) -> GreedyTrace:
    """Run Fig. 7's M iterations with two heaps of size d; return the greedy scores and counters."""
    q = np.asarray(q, dtype=np.float64)
    sv, sr = pre.values, pre.rows
    n, d = sv.shape
    check_inputs(sv, q, M)
    pos = q > 0
    max_ptr = np.where(pos, n - 1, 0)  # points at the largest product of each column
    max_step = np.where(pos, -1, 1)
    min_ptr = np.where(pos, 0, n - 1)  # points at the smallest product
    min_step = -max_step
    # Heap entries (key, column): ties on the key go to the lower column index.
    max_q = [(-(sv[max_ptr[j], j] * q[j]), j) for j in range(d)]
    min_q = [(sv[min_ptr[j], j] * q[j], j) for j in range(d)]
    heapq.heapify(max_q)
    heapq.heapify(min_q)
    used_max = np.zeros(d, dtype=np.int64)
    used_min = np.zeros(d, dtype=np.int64)
    g = np.zeros(n, dtype=np.float64)
    trace = GreedyTrace(scores=g, first_row=int(sr[max_ptr[max_q[0][1]], max_q[0][1]]))
    running = 0.0
    for _ in range(M):
        if max_q:
            neg_v, j = heapq.heappop(max_q)
            v = -neg_v
            if v > 0:
                g[sr[max_ptr[j], j]] += v
                running += v
            trace.max_pops += 1
            used_max[j] += 1
            if used_max[j] < n:  # an exhausted column is no longer pushed
                max_ptr[j] += max_step[j]
                heapq.heappush(max_q, (-(sv[max_ptr[j], j] * q[j]), j))
        if min_q and not (min_skip and running < 0):
            v, j = heapq.heappop(min_q)
            if v < 0:
                g[sr[min_ptr[j], j]] += v
                running += v
            trace.min_pops += 1
            used_min[j] += 1
            if used_min[j] < n:
                min_ptr[j] += min_step[j]
                heapq.heappush(min_q, (sv[min_ptr[j], j] * q[j], j))
        if record_history:
            trace.history.append(g.copy())
    return trace


def candidate_selection(K: np.ndarray, q: np.ndarray, M: int, min_skip: bool = True,
                        pre: SortedKeys | None = None) -> np.ndarray:
    """Sorted row ids whose greedy score is > 0 after ``M`` iterations (may be empty)."""
    K = np.asarray(K, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    check_inputs(K, q, M)
    pre = preprocess(K) if pre is None else pre
    trace = greedy_search(pre, q, M, min_skip)
    return np.flatnonzero(trace.scores > 0)


def post_scoring_threshold(T_percent: float) -> float:
    """t = ln(100 / T): rows whose softmax weight would be < T % of the top row's are dropped."""
    if not (0.0 < float(T_percent) <= 100.0):
        raise ValueError(f"T_percent must lie in (0, 100], got {T_percent!r}")
    return math.log(100.0 / float(T_percent))


def _sequential_dot(K_rows: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Row dot products accumulated column by column (fixed order, reproducible in torch)."""
    s = np.zeros(K_rows.shape[0], dtype=np.float64)
    for j in range(K_rows.shape[1]):
        s = s + K_rows[:, j] * q[j]
    return s


def a3_attention(K: np.ndarray, V: np.ndarray, q: np.ndarray, M: int, T_percent: float,
                 min_skip: bool = True, pre: SortedKeys | None = None) -> A3Result:
    """Approximate attention for one query: candidate selection, post-scoring, softmax, output."""
    K = np.asarray(K, dtype=np.float64)
    V = np.asarray(V, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    check_inputs(K, q, M, T_percent, V)
    pre = preprocess(K) if pre is None else pre
    trace = greedy_search(pre, q, M, min_skip)
    cand = np.flatnonzero(trace.scores > 0)
    empty = cand.size == 0
    if empty:
        cand = np.array([trace.first_row], dtype=np.int64)
    s = _sequential_dot(K[cand], q)  # (C,)
    s_max = s.max()
    keep = (s_max - s) <= post_scoring_threshold(T_percent)
    kept, s = cand[keep], s[keep]
    w = np.exp(s - s_max)
    out = (w[:, None] * V[kept]).sum(axis=0) / w.sum()
    return A3Result(output=out, candidates=cand, kept=kept, n=K.shape[0], M=int(M), empty=bool(empty))


def exact_attention(K: np.ndarray, V: np.ndarray, q: np.ndarray) -> np.ndarray:
    """softmax(K q) V for one query (q already scaled)."""
    s = np.asarray(K, dtype=np.float64) @ np.asarray(q, dtype=np.float64)
    w = np.exp(s - s.max())
    return (w / w.sum()) @ np.asarray(V, dtype=np.float64)


def quantize_fixed(x, int_bits: int = 4, frac_bits: int = 4):
    """Round to a signed fixed-point grid: sign + ``int_bits`` + ``frac_bits`` (§III-B, i = f = 4).

    Works on numpy arrays and torch tensors; values saturate at +-(2**i - 2**-f).
    """
    if int_bits < 0 or frac_bits < 0:
        raise ValueError(f"int_bits and frac_bits must be >= 0, got {int_bits}, {frac_bits}")
    scale = float(2 ** frac_bits)
    limit = float(2 ** int_bits) - 1.0 / scale
    if isinstance(x, np.ndarray):
        return np.clip(np.round(x * scale) / scale, -limit, limit)
    return (x * scale).round().div(scale).clamp(-limit, limit)
