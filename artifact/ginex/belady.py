"""Changeset precomputation: Belady-optimal feature caching over a superbatch (Ginex §3.3-§3.4).

Ginex knows every node id that each of the S iterations of a superbatch will gather, so the
feature cache can follow Belady's MIN policy *with bypass*: after iteration ``i`` the cache holds
the ``capacity`` candidates (cached or just gathered) whose next access is soonest; a gathered id
that is not among them is simply not inserted. The initial cache is the first ``capacity``
distinct ids in access order (optimal prefetch). Inserted rows come from the batch buffer, so the
plan never causes extra reads; misses at iteration ``i`` are ``batch_i \\ cache_i``.

The paper's three passes, vectorized in numpy (spec ``papers/ginex.md`` §1.6):

1. count accesses and take the first ``capacity`` distinct ids (``initial``);
2. next-use array: one backward sweep over the iterations with a last-seen array gives the next
   use of every access (S = "never") and each id's first use -- no sort, no 16-bit cap on S;
3. per iteration, the cached ids and the newly missed ids compete on their next use; the
   ``capacity`` smallest win (a counting selection over the small-integer next-use keys,
   O(|cache| + |batch| + S) instead of Ginex's O(N) GPU scan). Ties at the threshold prefer ids already cached (fewer writes); ids never used
   again are never inserted. Any tie-break is optimal: tied ids are interchangeable until their
   common next access, where both are candidates again.

:func:`brute_force_min_misses` (exhaustive DP over cache states) and :func:`heap_reference`
(per-iteration ``heapq`` with a naive next-use search) are the independent references of the tests.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


@dataclass
class CachePlan:
    """A node-granular cache schedule over ``S`` iterations (any policy, replayable live).

    ``initial`` is loaded before iteration 0; ``changesets[i] = (insert, evict)`` is applied after
    iteration ``i``; ``insert_positions[i]`` are the rows of ``insert`` inside batch ``i``.
    """

    capacity: int
    initial: np.ndarray                                        # (<= capacity,) int64
    changesets: list[tuple[np.ndarray, np.ndarray]]            # S x (insert, evict) int64
    insert_positions: list[np.ndarray]                         # S x (|insert|,) int64
    misses: np.ndarray                                         # (S,) int64
    accesses: np.ndarray                                       # (S,) int64
    policy: str = "belady"
    info: dict = field(default_factory=dict)

    @property
    def num_iterations(self) -> int:
        return int(self.accesses.shape[0])

    @property
    def total_misses(self) -> int:
        return int(self.misses.sum())

    @property
    def total_accesses(self) -> int:
        return int(self.accesses.sum())

    @property
    def miss_ratio(self) -> float:
        return self.total_misses / max(1, self.total_accesses)

    def replay(self, batches: Sequence[np.ndarray]) -> np.ndarray:
        """Apply the plan to ``batches`` checking every invariant; return misses per iteration."""
        batches = [np.asarray(b, dtype=np.int64) for b in batches]
        n = 1 + max([int(b.max()) for b in batches if b.size] + [int(self.initial.max()) if self.initial.size else 0])
        cached = np.zeros(n, dtype=bool)
        if np.unique(self.initial).size != self.initial.size or self.initial.size > self.capacity:
            raise AssertionError("initial set has duplicates or exceeds capacity")
        cached[self.initial] = True
        size = self.initial.size
        misses = np.zeros(len(batches), dtype=np.int64)
        for i, b in enumerate(batches):
            misses[i] = np.count_nonzero(~cached[b])
            ins, ev = self.changesets[i]
            if ins.size and (cached[ins].any() or not np.isin(ins, b).all()):
                raise AssertionError(f"iteration {i}: insert must be uncached ids of batch {i}")
            if not np.array_equal(b[self.insert_positions[i]], ins):
                raise AssertionError(f"iteration {i}: insert_positions do not point at the inserted ids")
            if ev.size and (not cached[ev].all() or np.unique(ev).size != ev.size):
                raise AssertionError(f"iteration {i}: evict must be distinct cached ids")
            cached[ev] = False
            cached[ins] = True
            size += ins.size - ev.size
            if size > self.capacity:
                raise AssertionError(f"iteration {i}: cache holds {size} > capacity {self.capacity}")
        return misses


class BeladyPlan(CachePlan):
    """The plan returned by :func:`plan` (Belady with bypass)."""


def _flatten(batches: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids (T,), iteration (T,), batch lengths (S,)) with validation of each batch."""
    arrs = [np.asarray(b) for b in batches]
    for i, b in enumerate(arrs):
        if b.ndim != 1 or (b.size and not np.issubdtype(b.dtype, np.integer)):
            raise ValueError(f"batch {i} must be a 1-D integer array of node ids, got {b.dtype} {b.shape}")
        if b.size and b.min() < 0:
            raise ValueError(f"batch {i} contains a negative node id")
    lens = np.array([b.size for b in arrs], dtype=np.int64)
    ids = np.concatenate(arrs).astype(np.int64) if arrs else np.zeros(0, np.int64)
    it = np.repeat(np.arange(len(arrs), dtype=np.int64), lens)
    return ids, it, lens


def next_use(ids: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pass 2 (backward over the iterations): next-use iteration of every access (S = never).

    Returns ``(nxt (T,) int32, first_use (n,) int32)`` with ``first_use[v]`` = first iteration that
    accesses ``v`` (S if none). O(T) vectorized work, no sort. Raises ``ValueError`` on an id
    repeated within one batch.
    """
    S = lens.shape[0]
    n = int(ids.max()) + 1 if ids.size else 1
    bounds = np.concatenate(([0], np.cumsum(lens)))
    last_seen = np.full(n, S, dtype=np.int32)     # after the sweep: first use of every id
    mark = np.empty(n, dtype=np.int64)
    nxt = np.empty(ids.shape[0], dtype=np.int32)
    for i in range(S - 1, -1, -1):
        b = ids[bounds[i]:bounds[i + 1]]
        mark[b] = np.arange(b.shape[0])            # a duplicate overwrites one of its positions
        if not np.array_equal(mark[b], np.arange(b.shape[0])):
            bad = b[np.flatnonzero(mark[b] != np.arange(b.shape[0]))[0]]
            raise ValueError(f"node id {int(bad)} appears twice in batch {i}; ids within a batch "
                             f"must be unique (np.unique them)")
        nxt[bounds[i]:bounds[i + 1]] = last_seen[b]
        last_seen[b] = i
    return nxt, last_seen


def _smallest_k_mask(key: np.ndarray, k: int, n_keys: int) -> np.ndarray:
    """Mask of ``k`` entries with the smallest small-integer keys (ties: earlier entries first).

    A counting selection (bincount + cumsum finds the threshold), O(len + n_keys), several times
    faster than ``np.argpartition`` on these keys; the threshold plays the role of Ginex's
    incrementally tracked T.
    """
    cum = np.cumsum(np.bincount(key, minlength=n_keys))
    t = int(np.searchsorted(cum, k))              # smallest key value whose cumulative count >= k
    keep = key < t
    room = k - (int(cum[t - 1]) if t > 0 else 0)
    keep[np.flatnonzero(key == t)[:room]] = True
    return keep


def plan(batches: Sequence[np.ndarray], capacity: int) -> BeladyPlan:
    """Belady-with-bypass changesets for a superbatch; minimises the total number of misses.

    ``batches[i]``: unique node ids gathered at iteration ``i`` (any order). ``capacity``: rows.
    """
    if int(capacity) != capacity or capacity <= 0:
        raise ValueError(f"capacity must be a positive number of rows, got {capacity}")
    capacity = int(capacity)
    ids, _, lens = _flatten(batches)
    S = lens.shape[0]
    bounds = np.concatenate(([0], np.cumsum(lens)))
    nxt, first_use = next_use(ids, lens)           # pass 2
    # pass 1: the first `capacity` distinct ids in access order (earliest first use)
    initial_parts, have = [], 0
    for i in range(S):
        if have >= capacity:
            break
        b = ids[bounds[i]:bounds[i + 1]]
        new = b[first_use[b] == i][:capacity - have]
        initial_parts.append(new)
        have += new.shape[0]
    initial = np.concatenate(initial_parts) if initial_parts else np.zeros(0, np.int64)
    next_of = first_use                             # (n,) int32: next use of each id (valid when cached)
    cached = np.zeros(first_use.shape[0], dtype=bool)
    cached[initial] = True
    cache = initial.copy()
    changesets, positions = [], []
    misses = np.zeros(S, dtype=np.int64)
    for i in range(S):                                  # pass 3
        b, nb = ids[bounds[i]:bounds[i + 1]], nxt[bounds[i]:bounds[i + 1]]
        hit = cached[b]
        misses[i] = b.size - int(np.count_nonzero(hit))
        next_of[b] = nb
        cand_pos = np.flatnonzero(~hit & (nb < S))     # bypass ids never used again
        cand = b[cand_pos]
        if cache.size + cand.size <= capacity:
            keep_cache = np.ones(cache.size, dtype=bool)
            ins_sel = np.arange(cand.size)
        else:   # keep the `capacity` smallest next uses; ties prefer already cached ids
            key = np.concatenate((next_of[cache] * 2, nb[cand_pos] * 2 + 1))   # int32, < 2S + 2
            keep = _smallest_k_mask(key, capacity, 2 * S + 2)
            keep_cache, ins_sel = keep[:cache.size], np.flatnonzero(keep[cache.size:])
        evict = cache[~keep_cache]
        insert = cand[ins_sel]
        cached[evict] = False
        cached[insert] = True
        cache = np.concatenate((cache[keep_cache], insert))
        changesets.append((insert, evict))
        positions.append(cand_pos[ins_sel])
    return BeladyPlan(capacity=capacity, initial=initial, changesets=changesets, insert_positions=positions,
                      misses=misses, accesses=lens.copy(), policy="belady")


# --------------------------------------------------------------------------- references (tests)


def heap_reference(batches: Sequence[np.ndarray], capacity: int) -> np.ndarray:
    """Misses per iteration of Belady with bypass via ``heapq.nsmallest`` and a bisect next-use search."""
    occ: dict[int, list[int]] = {}
    order: list[int] = []
    for i, b in enumerate(batches):
        for v in map(int, b):
            if v not in occ:
                order.append(v)
            occ.setdefault(v, []).append(i)
    inf = len(batches)

    def nxt(v: int, i: int) -> int:
        lst = occ[v]
        k = bisect.bisect_right(lst, i)
        return lst[k] if k < len(lst) else inf

    cache = set(order[:capacity])
    out = []
    for i, b in enumerate(batches):
        bl = [int(v) for v in b]
        out.append(sum(v not in cache for v in bl))
        cand = [v for v in cache | set(bl) if nxt(v, i) < inf]
        cache = set(heapq.nsmallest(capacity, cand, key=lambda v: (nxt(v, i), v)))
    return np.array(out, dtype=np.int64)


def brute_force_min_misses(batches: Sequence[np.ndarray], capacity: int) -> int:
    """Minimum total misses over every cache schedule (any initial set of <= capacity ids, any
    insert-from-batch / evict choice) by exhaustive dynamic programming over cache states. Tiny inputs only."""
    universe = sorted({int(v) for b in batches for v in b})
    states = [frozenset(c) for k in range(min(capacity, len(universe)) + 1)
              for c in itertools.combinations(universe, k)]
    best = {s: 0 for s in states}
    for b in batches:
        bs = {int(v) for v in b}
        nxt_best: dict[frozenset, int] = {}
        for s, cost in best.items():
            c = cost + len(bs - s)
            pool = sorted(s | bs)
            for k in range(min(capacity, len(pool)) + 1):
                for t in itertools.combinations(pool, k):
                    t = frozenset(t)
                    if c < nxt_best.get(t, 1 << 60):
                        nxt_best[t] = c
        best = nxt_best
    return min(best.values())


# --------------------------------------------------------------------------- torch (GPU) variant


def plan_torch(batches: Sequence[np.ndarray], capacity: int, device=None) -> BeladyPlan:
    """:func:`plan` in PyTorch ops, for a CUDA device (Ginex runs changeset precomputation on the
    GPU, §3.4). Same algorithm and tie-breaks, so the plan is identical to :func:`plan` (tested on
    CPU); timing it on a GPU needs a GPU. ``device``: e.g. "cuda"; default CPU."""
    import torch

    if int(capacity) != capacity or capacity <= 0:
        raise ValueError(f"capacity must be a positive number of rows, got {capacity}")
    capacity = int(capacity)
    ids_np, _, lens = _flatten(batches)
    dev = torch.device(device or "cpu")
    S = int(lens.shape[0])
    ids = torch.from_numpy(ids_np).to(dev)
    bounds = np.concatenate(([0], np.cumsum(lens))).tolist()
    n = int(ids_np.max()) + 1 if ids_np.size else 1
    # pass 2: backward sweep -> next use of every access, first use of every id
    last_seen = torch.full((n,), S, dtype=torch.int32, device=dev)
    mark = torch.empty(n, dtype=torch.int64, device=dev)
    nxt = torch.empty(ids.shape[0], dtype=torch.int32, device=dev)
    for i in range(S - 1, -1, -1):
        b = ids[bounds[i]:bounds[i + 1]]
        pos = torch.arange(b.shape[0], device=dev)
        mark[b] = pos
        bad = mark[b] != pos
        if bool(bad.any()):
            raise ValueError(f"node id {int(b[bad][0])} appears twice in batch {i}; ids within a batch "
                             f"must be unique (np.unique them)")
        nxt[bounds[i]:bounds[i + 1]] = last_seen[b]
        last_seen[b] = i
    # pass 1: first `capacity` distinct ids in access order
    parts, have = [], 0
    for i in range(S):
        if have >= capacity:
            break
        b = ids[bounds[i]:bounds[i + 1]]
        new = b[last_seen[b] == i][:capacity - have]
        parts.append(new)
        have += int(new.shape[0])
    initial = torch.cat(parts) if parts else torch.zeros(0, dtype=torch.int64, device=dev)
    next_of = last_seen
    cached = torch.zeros(n, dtype=torch.bool, device=dev)
    cached[initial] = True
    cache = initial.clone()
    changesets, positions = [], []
    misses = np.zeros(S, dtype=np.int64)
    for i in range(S):                                  # pass 3
        b, nb = ids[bounds[i]:bounds[i + 1]], nxt[bounds[i]:bounds[i + 1]]
        hit = cached[b]
        misses[i] = int(b.shape[0] - hit.sum())
        next_of[b] = nb
        cand_pos = torch.nonzero(~hit & (nb < S)).flatten()
        cand = b[cand_pos]
        if cache.shape[0] + cand.shape[0] <= capacity:
            keep_cache = torch.ones(cache.shape[0], dtype=torch.bool, device=dev)
            ins_sel = torch.arange(cand.shape[0], device=dev)
        else:
            key = torch.cat((next_of[cache] * 2, nb[cand_pos] * 2 + 1)).long()
            cum = torch.cumsum(torch.bincount(key, minlength=2 * S + 2), 0)
            t = int(torch.searchsorted(cum, torch.tensor([capacity], device=dev)))
            keep = key < t
            room = capacity - (int(cum[t - 1]) if t > 0 else 0)
            keep[torch.nonzero(key == t).flatten()[:room]] = True
            keep_cache, ins_sel = keep[:cache.shape[0]], torch.nonzero(keep[cache.shape[0]:]).flatten()
        evict, insert = cache[~keep_cache], cand[ins_sel]
        cached[evict] = False
        cached[insert] = True
        cache = torch.cat((cache[keep_cache], insert))
        changesets.append((insert.cpu().numpy(), evict.cpu().numpy()))
        positions.append(cand_pos[ins_sel].cpu().numpy())
    return BeladyPlan(capacity=capacity, initial=initial.cpu().numpy(), changesets=changesets,
                      insert_positions=positions, misses=misses, accesses=lens.copy(), policy="belady",
                      info={"backend": f"torch:{dev}"})
