"""Vectorized, batched A3 in torch/numpy (Ham et al., HPCA 2020, §IV; ``papers/a3.md`` §1.8).

Same semantics as the heap reference :mod:`artifact.a3.algorithm`, for many queries at once:
candidate and kept sets are identical to the reference's, outputs agree to float64 rounding
(``exp`` and the weighted sum are computed by torch instead of numpy).

Why it is exact: the heap's max side pops the d per-column product lists in the order of the key
``(-value, column, depth)``. Within a column the products along the pointer are already monotone,
so the first ``M`` max pops are the first ``M`` entries of one stable sort of all products by that
key, and only a prefix of every column can reach them. :func:`_top_sequence` finds a safe prefix
per column (a lower bound on the M-th key from a shallow probe, then per-column counts), and sorts
only those entries; ties inside the top or across the cut fall back to a stable sort. The min side
is symmetric. :func:`select_candidates` then replaces the M-iteration loop with prefix sums: max
pop t happens iff t < M; min pop m happens at ``T_m = m + cummax(tau(k) - k)`` where tau(k) is the
first iteration whose running positive sum covers the first k min additions (the min-skip rule).

Greedy scores are summed per side (positive max additions, then negative min additions) rather than
interleaved as in the heap loop; the two agree in exact arithmetic and bit for bit whenever the
sums are exact (fixed-point and integer inputs). On every random float instance of the tests the
candidate sets are identical too; a flip would need a greedy score or a min-skip running sum within a
rounding error of 0.

Shapes: ``K`` (G, n, d) key groups (one group = one key matrix, sorted once), ``q`` (G, L, d)
queries against each group, ``V`` (G, n, d_v). Per-query ``M`` may be an int or a (G, L) tensor.
numpy is used for the sorts/partitions (several times faster than torch's on CPU).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["SortedKeysT", "BatchedA3", "preprocess_t", "select_candidates", "a3_attention_batched",
           "exact_attention_t", "M_from_fraction"]


@dataclass(frozen=True)
class SortedKeysT:
    asc_v: torch.Tensor  # (G, n, d) float64, each column ascending
    asc_r: torch.Tensor  # (G, n, d) int64 row ids


@dataclass
class BatchedA3:
    """Outputs and per-query counters of :func:`a3_attention_batched` (all (G, L, ...))."""

    output: torch.Tensor  # (G, L, d_v)
    candidates: torch.Tensor  # (G, L, n) bool, after the empty-candidate rule
    kept: torch.Tensor  # (G, L, n) bool
    scores: torch.Tensor  # (G, L, n) exact scores K q for all rows (diagnostics only)
    n: int
    M: torch.Tensor  # (G, L) int64
    C: torch.Tensor  # (G, L) int64 candidates scored
    K: torch.Tensor  # (G, L) int64 rows kept after post-scoring
    empty: torch.Tensor  # (G, L) bool, the empty-candidate rule fired
    min_pops: torch.Tensor  # (G, L) int64


def _check(K: torch.Tensor, q: torch.Tensor, V: torch.Tensor | None) -> None:
    if K.ndim != 3 or K.shape[1] < 1 or K.shape[2] < 1:
        raise ValueError(f"K must be (G, n, d) with n, d >= 1, got {tuple(K.shape)}")
    if q.ndim != 3 or q.shape[0] != K.shape[0] or q.shape[2] != K.shape[2]:
        raise ValueError(f"q must be (G, L, d) = ({K.shape[0]}, L, {K.shape[2]}) to match K, got {tuple(q.shape)}")
    if V is not None and (V.ndim != 3 or V.shape[:2] != K.shape[:2]):
        raise ValueError(f"V must be (G, n, d_v) with (G, n) = {tuple(K.shape[:2])}, got {tuple(V.shape)}")
    for name, x in (("K", K), ("q", q), ("V", V)):
        if x is not None and not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} contains NaN or inf; A3 needs finite inputs (clean the input)")


def _as_M(M: int | torch.Tensor, G: int, L: int) -> torch.Tensor:
    if isinstance(M, torch.Tensor):
        if M.shape != (G, L) or M.dtype.is_floating_point:
            raise ValueError(f"per-query M must be an integer tensor of shape ({G}, {L}), got {M.dtype} {tuple(M.shape)}")
        Mt = M.to(torch.int64)
    else:
        if isinstance(M, bool) or int(M) != M:
            raise ValueError(f"M must be an integer >= 0, got {M!r}")
        Mt = torch.full((G, L), int(M), dtype=torch.int64)
    if bool((Mt < 0).any()):
        raise ValueError("M (candidate-selection iterations) must be >= 0 for every query")
    return Mt


def M_from_fraction(fraction: float, n: int) -> int:
    """M = ceil(fraction * n) per op (``papers/a3.md`` §6 item 1); fraction 1 means M = n."""
    if fraction <= 0:
        raise ValueError(f"M fraction must be > 0, got {fraction}")
    return int(math.ceil(fraction * n - 1e-9))


def preprocess_t(K: torch.Tensor) -> SortedKeysT:
    """Stable ascending sort of every column of every key group."""
    v, r = torch.sort(K.to(torch.float64), dim=1, stable=True)  # (G, n, d)
    return SortedKeysT(v, r)


def _keys_at(av: np.ndarray, ar: np.ndarray, n: int, qf: np.ndarray, gi: np.ndarray, depth: np.ndarray,
             from_bottom: np.ndarray, sign: float):
    """Sort key (ascending = popped first) and row of entry ``depth`` of a column's pointer list.

    ``av``/``ar`` are the flattened (G*n*d,) sorted values / row ids; ``depth``, ``from_bottom``,
    ``qf`` broadcast to a common shape whose last axis is the column. The product is computed as
    the reference does (sorted value * q[j], float64); key = -product (max side) or +product.
    """
    d = qf.shape[-1]
    idx = np.clip(np.where(from_bottom, n - 1 - depth, depth), 0, n - 1)
    flat = (gi * n + idx) * d + np.arange(d)
    return sign * (av[flat] * qf), ar[flat]


def _top_sequence(pre: SortedKeysT, qf_t: torch.Tensor, gi_t: torch.Tensor, length: int, max_side: bool):
    """The first ``length`` pops of one side, exactly in heap order: (B, length) values and rows.

    1. A lower bound on the cut: the ``length``-th best key among the first k0 entries of every
       column (k0 * d >= length entries, so it is no better than the true ``length``-th key).
    2. Per column, bisection finds how many entries are at least that good: a prefix (keys are
       monotone along the pointer) that contains every entry of the true top ``length``.
    3. Those ragged prefixes, laid out column by column (the heap's tie order), are partitioned
       and the best ``length`` sorted. A query with equal keys (inside the top, or across the
       cut) is redone with a stable sort of the whole prefix set, so ties go to the lower
       (column, depth) exactly as in the heap. numpy's sorts are used: several times faster than
       torch's on CPU.
    """
    G, n, d = pre.asc_v.shape
    av = pre.asc_v.numpy().reshape(-1)
    ar = pre.asc_r.numpy().reshape(-1)
    qf, gi = qf_t.numpy(), gi_t.numpy()
    B = qf.shape[0]
    sign = -1.0 if max_side else 1.0
    fb = (qf > 0) if max_side else ~(qf > 0)  # (B, d) pointer starts at the bottom of the column
    full = min(n, length)
    k0 = min(full, max(8, 4 * math.ceil(length / d)))  # probe depth: tighter cut vs probe cost
    asc = pre.asc_v.numpy()  # (G, n, d)
    head, tail = asc[:, :k0], asc[:, n - k0:][:, ::-1]  # (G, k0, d) first entries from the top / bottom
    if G == 1:
        head, tail = head, tail
    else:
        head, tail = head[gi], tail[gi]  # (B, k0, d)
    probe = np.where(fb[:, None, :], tail, head) * qf[:, None, :]  # (B, k0, d) products, pointer order
    if max_side:
        probe = -probe
    cut = np.partition(probe.reshape(B, -1), length - 1, axis=1)[:, length - 1:length]  # (B, 1)
    # Keys are monotone along each column, so a column with fewer than k0 probe entries at least as
    # good as the cut has its exact count already; only columns whose whole probe qualifies are
    # bisected further (between k0 and full), on a flat list of (query, column) pairs.
    lo = (probe <= cut[:, :, None]).sum(1)  # (B, d)
    todo = np.flatnonzero((lo == k0).reshape(-1)) if k0 < full else np.zeros(0, dtype=np.int64)
    if todo.size:
        b_idx, c_idx = np.divmod(todo, d)
        t_lo, t_hi = lo.reshape(-1)[todo], np.full(todo.size, full, dtype=np.int64)
        q_c, fb_c, cut_c, g_c = qf[b_idx, c_idx], fb[b_idx, c_idx], cut[b_idx, 0], gi[b_idx]
        while (t_lo < t_hi).any():
            open_ = t_lo < t_hi
            mid = (t_lo + t_hi) // 2
            idx = np.clip(np.where(fb_c, n - 1 - mid, mid), 0, n - 1)
            key = sign * (av[(g_c * n + idx) * d + c_idx] * q_c)
            good = (key <= cut_c) & open_
            t_lo = np.where(good, mid + 1, t_lo)
            t_hi = np.where(~good & open_, mid, t_hi)
        lo.reshape(-1)[todo] = t_lo
    counts = lo  # (B, d) entries per column that may be among the top ``length``
    ends = counts.cumsum(1)
    e_max = int(ends[:, -1].max())
    tot = ends[:, -1]  # (B,) entries per query
    starts = np.cumsum(tot) - tot
    row_of = np.repeat(np.arange(B), tot)  # ragged entries, flattened, column-major per query
    col_of = np.repeat(np.tile(np.arange(d), B), counts.reshape(-1))
    slot = np.arange(row_of.size) - np.repeat(starts, tot)  # position inside its query
    rc = row_of * d + col_of
    depth = slot - (ends - counts).reshape(-1)[rc]
    idx = np.where(fb.reshape(-1)[rc], n - 1 - depth, depth)
    flat = (gi[row_of] * n + idx) * d + col_of
    prod = av[flat] * qf.reshape(-1)[rc]  # (E,) exact products, as in the reference
    rows = ar[flat]
    key = np.full((B, e_max), np.inf)
    key[row_of, slot] = sign * prod
    top = np.argpartition(key, length - 1, axis=1)[:, :length] if length < e_max else np.broadcast_to(np.arange(e_max), (B, e_max))
    top_key = np.take_along_axis(key, top, 1)
    order = np.take_along_axis(top, np.argsort(top_key, axis=1), 1)  # (B, length)
    sk = np.take_along_axis(key, order, 1)
    tied = (sk[:, 1:] == sk[:, :-1]).any(1)  # equal keys inside the top
    tied |= (key <= sk[:, -1:]).sum(1) > length  # or across the cut
    if tied.any():
        order[tied] = np.argsort(key[tied], axis=1, kind="stable")[:, :length]
    pos = starts[:, None] + order  # (B, length) index into the flat entries
    return torch.from_numpy(prod[pos]), torch.from_numpy(rows[pos])


def select_candidates(pre: SortedKeysT, q: torch.Tensor, M: int | torch.Tensor, min_skip: bool = True):
    """Greedy scores for every query: returns (greedy (G, L, n), first_row (G, L), min_pops (G, L)).

    The iteration loop is replaced by prefix sums. Max pop t (0-based) happens iff t < M. The
    running sum before min pop m is ``Smax[t] + Smin[m]`` (positive max additions so far plus the
    first m min additions); min-skip lets pop m happen at the first iteration t >= (time of pop
    m-1) + 1 with ``Smax[t] >= -Smin[m]``. With tau(m) = first t where that holds (a searchsorted,
    Smax is non-decreasing), the pop times are ``T_m = m + cummax_k<=m (tau(k) - k)``, and pop m is
    done iff ``T_m < M``. Float sums are formed per side instead of interleaved as in the heap loop;
    they are equal in exact arithmetic, and exactly equal for fixed-point/integer inputs.
    """
    G, n, d = pre.asc_v.shape
    L = q.shape[1]
    Mt = _as_M(M, G, L).reshape(-1, 1)  # (B, 1)
    qf = q.to(torch.float64).reshape(G * L, d)  # (B, d)
    gi = torch.arange(G).repeat_interleave(L)  # (B,) key group of each query
    B = qf.shape[0]
    length = max(1, min(int(Mt.max()) if B else 0, n * d))
    max_v, max_r = _top_sequence(pre, qf, gi, length, True)  # (B, length) in pop order
    min_v, min_r = _top_sequence(pre, qf, gi, length, False)
    t = torch.arange(length)
    zero = torch.zeros((), dtype=torch.float64)
    add_max = torch.where((t < Mt) & (max_v > 0), max_v, zero)  # (B, length)
    neg_min = torch.where(min_v < 0, min_v, zero)
    if min_skip:
        s_max = add_max.cumsum(1)  # running sum after max pop t
        before = neg_min.cumsum(1) - neg_min  # sum of the min additions before pop m
        tau = torch.searchsorted(s_max, (-before).contiguous(), right=False)  # (B, length)
        tau = torch.where(tau >= length, torch.full_like(tau, 1 << 40), tau)  # never satisfied
        pop_time = t + torch.cummax(tau - t, dim=1).values
    else:
        pop_time = t.expand(B, length)
    popped = pop_time < Mt  # (B, length)
    g = torch.zeros(B, n, dtype=torch.float64)
    g.scatter_add_(1, max_r, add_max)
    g.scatter_add_(1, min_r, torch.where(popped, neg_min, zero))
    return g.reshape(G, L, n), max_r[:, 0].reshape(G, L), popped.sum(1).reshape(G, L)


def _sequential_scores(K: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """(G, L, n) scores accumulated over d left to right, like the reference's ``_sequential_dot``."""
    K64, q64 = K.to(torch.float64), q.to(torch.float64)
    s = torch.zeros(K.shape[0], q.shape[1], K.shape[1], dtype=torch.float64)
    for j in range(K.shape[2]):
        s = s + K64[:, None, :, j] * q64[:, :, j, None]
    return s


def a3_attention_batched(K: torch.Tensor, V: torch.Tensor, q: torch.Tensor, M: int | torch.Tensor | None,
                         T_percent: float | None, min_skip: bool = True,
                         pre: SortedKeysT | None = None) -> BatchedA3:
    """A3 for (G, L) queries against G key/value groups; counters n, M, C, K per query.

    ``M = None`` disables candidate selection (all rows are candidates; Fig. 12's setting) and
    ``T_percent = None`` disables post-scoring (Fig. 11's setting). Empty-candidate rule: the row of
    the largest component product (see :mod:`artifact.a3.algorithm`).
    """
    _check(K, q, V)
    if T_percent is not None and not (0.0 < float(T_percent) <= 100.0):
        raise ValueError(f"T_percent must lie in (0, 100] (post-scoring threshold in %), got {T_percent!r}")
    G, n, _ = K.shape
    L = q.shape[1]
    if M is None:  # post-scoring only (Fig. 12): every row is a candidate
        Mt = torch.zeros(G, L, dtype=torch.int64)
        cand = torch.ones(G, L, n, dtype=torch.bool)
        empty = torch.zeros(G, L, dtype=torch.bool)
        min_pops = torch.zeros(G, L, dtype=torch.int64)
    else:
        Mt = _as_M(M, G, L)
        pre = preprocess_t(K) if pre is None else pre
        g, first_row, min_pops = select_candidates(pre, q, Mt, min_skip)
        cand = g > 0  # (G, L, n)
        empty = ~cand.any(dim=-1)  # (G, L)
        cand = cand | (empty[..., None] & (torch.arange(n) == first_row[..., None]))
    s = _sequential_scores(K, q)  # (G, L, n)
    s_c = torch.where(cand, s, torch.tensor(-math.inf, dtype=torch.float64))
    s_max = s_c.max(dim=-1, keepdim=True).values
    if T_percent is None:  # candidate selection only (Fig. 11)
        kept = cand
    else:
        kept = cand & ((s_max - s_c) <= math.log(100.0 / float(T_percent)))
    w = torch.where(kept, torch.exp(s_c - s_max), torch.zeros((), dtype=torch.float64))
    out = torch.einsum("gln,gnv->glv", w, V.to(torch.float64)) / w.sum(-1, keepdim=True)
    return BatchedA3(output=out, candidates=cand, kept=kept, scores=s, n=n, M=Mt,
                     C=cand.sum(-1), K=kept.sum(-1), empty=empty, min_pops=min_pops)


def exact_attention_t(K: torch.Tensor, V: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """softmax(q K^T) V for (G, L) queries; (G, L, d_v)."""
    s = torch.einsum("gld,gnd->gln", q.to(torch.float64), K.to(torch.float64))
    return torch.einsum("gln,gnv->glv", torch.softmax(s, dim=-1), V.to(torch.float64))
