"""Feature caches at an equal byte budget, live and as a trace simulator (Ginex §3.3, §5.1, §5.3).

Byte budgets include the address tables, as in Ginex's code:

* node-granular caches (Belady, PaGraph static top-out-degree, batch-granular LRU, Ginex-PG):
  an int32 direct-address table over all N nodes + ``capacity`` rows of ``4F`` bytes, i.e.
  ``capacity = (B - 4N) // 4F`` (:func:`feature_cache_capacity`);
* the page-granular LRU (the OS page cache with readahead off, i.e. PyG+): an int32 table over
  every page of the cached files + 16 B of LRU links per resident page + 4096 B of data, i.e.
  ``pages = (B - 4P) // (4096 + 16)`` (:func:`page_cache_capacity`).

Every node-granular policy is expressed as a :class:`~artifact.ginex.belady.CachePlan` (initial
set + per-iteration (insert, evict) changesets), so one live :class:`FeatureCache` replays any of
them over real O_DIRECT reads, and :func:`simulate_plan` counts the same misses, requests and
bytes from the trace alone. :class:`PageLRUCache` and :func:`simulate_page_lru` share the
:class:`PageLRU` bookkeeping. Tests assert simulator == live counters == ``/proc/self/io``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .belady import CachePlan, plan as belady_plan
from .storage import PAGE, DiskDataset, row_read_bytes

LRU_LINK_BYTES = 16   # per resident page: prev/next links + owner key (the kernel's struct page is 64 B)


def feature_cache_capacity(budget_bytes: int, num_nodes: int, feat_dim: int) -> int:
    """Rows that fit in ``budget_bytes`` after the int32 address table (Ginex ``lib/cache.py``)."""
    rows = (int(budget_bytes) - 4 * num_nodes) // (4 * feat_dim)
    if rows <= 0:
        raise ValueError(f"feature-cache budget {budget_bytes} B leaves no room for rows after the "
                         f"4 B x {num_nodes} address table; give at least {4 * num_nodes + 4 * feat_dim} B")
    return int(rows)


def page_cache_capacity(budget_bytes: int, num_file_pages: int) -> int:
    """Resident 4 KiB pages of the emulated page cache within ``budget_bytes`` (table included)."""
    pages = (int(budget_bytes) - 4 * num_file_pages) // (PAGE + LRU_LINK_BYTES)
    if pages <= 0:
        raise ValueError(f"page-cache budget {budget_bytes} B is below its 4 B x {num_file_pages}-page table; "
                         f"give at least {4 * num_file_pages + PAGE + LRU_LINK_BYTES} B")
    return int(pages)


@dataclass
class GatherCounts:
    accesses: int = 0      # rows asked for
    hits: int = 0          # rows served from memory
    misses: int = 0        # rows that needed at least one read
    requests: int = 0      # read requests issued (counter delta of the stage)
    bytes: int = 0         # bytes read (counter delta of the stage)

    def __iadd__(self, o: "GatherCounts") -> "GatherCounts":
        for k in ("accesses", "hits", "misses", "requests", "bytes"):
            setattr(self, k, getattr(self, k) + getattr(o, k))
        return self


# --------------------------------------------------------------------------- node-granular plans


def static_plan(out_degree: np.ndarray, capacity: int, batches: Sequence[np.ndarray]) -> CachePlan:
    """PaGraph: the ``capacity`` highest out-degree nodes (ties by id), never updated."""
    initial = np.argsort(-out_degree, kind="stable")[:capacity].astype(np.int64)
    cached = np.zeros(out_degree.shape[0], dtype=bool)
    cached[initial] = True
    empty = np.zeros(0, np.int64)
    misses = np.array([np.count_nonzero(~cached[b]) for b in batches], dtype=np.int64)
    return CachePlan(capacity, initial, [(empty, empty)] * len(batches), [empty] * len(batches), misses,
                     np.array([len(b) for b in batches], dtype=np.int64), policy="static")


def batch_lru_plan(batches: Sequence[np.ndarray], capacity: int, num_nodes: int) -> CachePlan:
    """Batch-granular LRU, cold start: misses are inserted after the batch, evicting the ids whose
    last use is oldest (ties by id); a batch larger than the cache keeps its first ``capacity`` misses."""
    last = np.full(num_nodes, -1, dtype=np.int64)
    cached = np.zeros(num_nodes, dtype=bool)
    cache = np.zeros(0, np.int64)
    changesets, positions, misses = [], [], []
    for i, b in enumerate(batches):
        b = np.asarray(b, dtype=np.int64)
        miss_pos = np.flatnonzero(~cached[b])[:capacity]
        misses.append(int(np.count_nonzero(~cached[b])))
        last[b] = i
        over = cache.size + miss_pos.size - capacity
        evict = np.zeros(0, np.int64)
        if over > 0:
            key = last[cache] * num_nodes + cache           # unique: oldest first, ties by id
            sel = np.argpartition(key, over - 1)[:over]
            evict = cache[sel]
            keep = np.ones(cache.size, bool)
            keep[sel] = False
            cache = cache[keep]
        insert = b[miss_pos]
        cached[evict] = False
        cached[insert] = True
        cache = np.concatenate((cache, insert))
        changesets.append((insert, evict))
        positions.append(miss_pos)
    return CachePlan(capacity, np.zeros(0, np.int64), changesets, positions, np.array(misses, np.int64),
                     np.array([len(b) for b in batches], dtype=np.int64), policy="batch_lru")


def superbatch_plans(policy: str, batches: Sequence[np.ndarray], capacity: int, superbatch_size: int,
                     out_degree: np.ndarray | None = None) -> list[CachePlan]:
    """One plan per superbatch: the Ginex cache is rebuilt from scratch every superbatch.

    ``policy``: "belady" (Ginex) or "static" (Ginex-PG; the static set is re-filled per superbatch).
    """
    plans = []
    for lo in range(0, len(batches), superbatch_size):
        chunk = batches[lo:lo + superbatch_size]
        if policy == "belady":
            plans.append(belady_plan(chunk, capacity))
        elif policy == "static":
            plans.append(static_plan(out_degree, capacity, chunk))
        else:
            raise ValueError(f"unknown superbatch policy {policy!r}; use 'belady' or 'static'")
    return plans


# --------------------------------------------------------------------------- live node cache


class FeatureCache:
    """Direct-addressed feature cache: int32 ``table`` (N,) -> slot, ``rows`` (capacity, F) float32."""

    def __init__(self, ds: DiskDataset, capacity: int) -> None:
        self.ds, self.capacity = ds, int(capacity)
        self.table = np.full(ds.num_nodes, -1, dtype=np.int32)          # (N,)
        self.rows = np.empty((self.capacity, ds.feat_dim), dtype=np.float32)
        self.free = np.arange(self.capacity, dtype=np.int64)             # free slots (stack)

    @property
    def nbytes(self) -> int:
        return int(self.table.nbytes + self.rows.nbytes)

    @property
    def size(self) -> int:
        return self.capacity - self.free.size

    def fill(self, ids: np.ndarray, stage: str = "switch") -> None:
        """"Switch": drop everything and load ``ids`` with O_DIRECT reads."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size > self.capacity:
            raise ValueError(f"{ids.size} initial ids exceed the capacity of {self.capacity} rows")
        self.table.fill(-1)
        self.ds.read_rows(ids, out=self.rows[:ids.size], stage=stage)
        self.table[ids] = np.arange(ids.size, dtype=np.int32)
        self.free = np.arange(ids.size, self.capacity, dtype=np.int64)

    def gather(self, ids: np.ndarray, out: np.ndarray | None = None, stage: str = "gather") -> tuple[np.ndarray, GatherCounts]:
        """Rows of ``ids`` (n, F) float32: hits copied from the cache, misses read with O_DIRECT."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.empty((ids.size, self.ds.feat_dim), dtype=np.float32) if out is None else out
        slots = self.table[ids]
        hit = slots >= 0
        out[hit] = self.rows[slots[hit]]
        miss = np.flatnonzero(~hit)
        before = self.ds.counter.get(stage)
        if miss.size:
            out[miss] = self.ds.read_rows(ids[miss], stage=stage)
        d = self.ds.counter.get(stage) - before
        return out, GatherCounts(ids.size, int(hit.sum()), int(miss.size), d.requests, d.bytes)

    def update(self, insert: np.ndarray, evict: np.ndarray, insert_positions: np.ndarray,
               batch_rows: np.ndarray) -> None:
        """Apply one changeset; inserted rows come from the batch buffer (no I/O)."""
        freed = self.table[evict].astype(np.int64)
        if np.any(freed < 0):
            raise ValueError("changeset evicts an id that is not cached")
        self.table[evict] = -1
        pool = np.concatenate((freed, self.free))
        if insert.size > pool.size:
            raise ValueError(f"changeset inserts {insert.size} rows but only {pool.size} slots are free")
        slots, self.free = pool[:insert.size], pool[insert.size:]
        self.rows[slots] = batch_rows[insert_positions]
        self.table[insert] = slots.astype(np.int32)

    def apply(self, plan: CachePlan, i: int, batch_rows: np.ndarray) -> None:
        ins, ev = plan.changesets[i]
        self.update(ins, ev, plan.insert_positions[i], batch_rows)


def run_plans_live(ds: DiskDataset, plans: Sequence[CachePlan], batches: Sequence[np.ndarray],
                   capacity: int, check_rows: bool = False) -> dict:
    """Replay per-superbatch plans on a live :class:`FeatureCache` with real reads; return counters."""
    fc = FeatureCache(ds, capacity)
    total, k = GatherCounts(), 0
    init_before = ds.counter.get("switch")
    mm = ds.features_memmap() if check_rows else None
    for p in plans:
        fc.fill(p.initial)
        for i in range(p.num_iterations):
            x, c = fc.gather(batches[k])
            if mm is not None and not np.array_equal(x, mm[batches[k]]):
                raise AssertionError(f"gathered rows of batch {k} differ from the file")
            total += c
            fc.apply(p, i, x)
            k += 1
    init = ds.counter.get("switch") - init_before
    return dict(accesses=total.accesses, misses=total.misses, requests=total.requests, bytes=total.bytes,
                init_requests=init.requests, init_bytes=init.bytes)


def simulate_plans(plans: Sequence[CachePlan], batches: Sequence[np.ndarray], row_bytes: int) -> dict:
    """Trace-only count of what :func:`run_plans_live` reads (misses -> 4/8 KiB requests)."""
    acc = miss = nbytes = init_req = init_bytes = 0
    k = 0
    n = 1 + max(int(b.max()) for b in batches if len(b)) if batches else 1
    for p in plans:
        n = max(n, 1 + (int(p.initial.max()) if p.initial.size else 0))
        cached = np.zeros(n, dtype=bool)
        cached[p.initial] = True
        init_req += p.initial.size
        init_bytes += int(row_read_bytes(p.initial, row_bytes).sum())
        for i in range(p.num_iterations):
            b = np.asarray(batches[k], dtype=np.int64)
            missed = b[~cached[b]]
            acc += b.size
            miss += missed.size
            nbytes += int(row_read_bytes(missed, row_bytes).sum())
            ins, ev = p.changesets[i]
            cached[ev] = False
            cached[ins] = True
            k += 1
    return dict(accesses=acc, misses=miss, requests=miss, bytes=nbytes, init_requests=init_req,
                init_bytes=init_bytes)


# --------------------------------------------------------------------------- page-granular LRU


class PageLRU:
    """Bookkeeping of a per-access LRU over page keys (no data): shared by simulator and live cache."""

    def __init__(self, capacity_pages: int) -> None:
        self.capacity = int(capacity_pages)
        self.map: OrderedDict[int, int] = OrderedDict()      # key -> slot, LRU first
        self.free = list(range(self.capacity - 1, -1, -1))

    def touch(self, keys: Sequence[int]) -> tuple[list[int], list[int], dict[int, int], list[int]]:
        """Access ``keys`` in order. Returns (slot or -1 per access, read-buffer index or -1 per
        access, {key: read index} for pages loaded now and still resident, keys read in order).
        An access is a miss iff its read-buffer index is new (``buf_src[k] == number of reads so far``)."""
        m, free = self.map, self.free
        slot_src, buf_src, reads = [], [], []
        pending: dict[int, int] = {}
        for key in keys:
            if key in m:
                m.move_to_end(key)
                j = pending.get(key, -1)
                slot_src.append(m[key] if j < 0 else -1)
                buf_src.append(j)
                continue
            if not free:
                old, s = m.popitem(last=False)
                pending.pop(old, None)
                free.append(s)
            m[key] = free.pop()
            pending[key] = len(reads)
            slot_src.append(-1)
            buf_src.append(len(reads))
            reads.append(key)
        return slot_src, buf_src, pending, reads


def _miss_flags(buf_src: np.ndarray) -> np.ndarray:
    """Accesses that caused a read: the first access carrying each read-buffer index."""
    buf_src = np.asarray(buf_src, dtype=np.int64)
    prev_max = np.maximum.accumulate(np.concatenate(([-1], buf_src)))[:-1]
    return buf_src > prev_max


def _row_pages(ids: np.ndarray, row_bytes: int) -> tuple[np.ndarray, np.ndarray, int]:
    off = ids * row_bytes
    first = off // PAGE
    npg = (off + row_bytes - 1) // PAGE - first + 1
    return first, npg, int(npg.max()) if ids.size else 1


class PageLRUCache:
    """PyG+'s page cache emulated exactly: 4 KiB-page LRU of ``budget_bytes`` over ``features``
    (and ``indices`` unless ``include_indices=False``); misses are O_DIRECT page reads."""

    def __init__(self, ds: DiskDataset, budget_bytes: int, include_indices: bool = True) -> None:
        self.ds = ds
        self.index_base = ds.num_feature_pages            # key of indices page p = index_base + p
        file_pages = ds.num_feature_pages + (ds.num_index_pages if include_indices else 0)
        self.include_indices = include_indices
        self.lru = PageLRU(page_cache_capacity(budget_bytes, file_pages))
        self.data = np.empty((self.lru.capacity, PAGE), dtype=np.uint8)   # (pages, 4096)
        self.nbytes = 4 * file_pages + self.lru.capacity * (PAGE + LRU_LINK_BYTES)

    def _touch_and_read(self, keys: np.ndarray, stage: str):
        """LRU bookkeeping for the page accesses ``keys`` (in order) and O_DIRECT reads of the misses.

        Returns (slot per access or -1, read index per access or -1, read buffer (m, 4096), pending).
        Row data must be extracted *before* :meth:`_commit` writes the pending pages into slots.
        """
        slot_src, buf_src, pending, reads = self.lru.touch(keys.tolist())
        r = np.asarray(reads, dtype=np.int64)
        buf = np.empty((r.size, PAGE), dtype=np.uint8)
        feat = r < self.index_base
        if feat.any():
            buf[feat] = self.ds.read_pages(r[feat], stage=stage, which="features")
        if (~feat).any():
            buf[~feat] = self.ds.read_pages(r[~feat] - self.index_base, stage=stage, which="indices")
        return np.asarray(slot_src, np.int64), np.asarray(buf_src, np.int64), buf, pending

    def _commit(self, buf: np.ndarray, pending: dict[int, int]) -> None:
        if pending:
            keys = list(pending)
            self.data[[self.lru.map[k] for k in keys]] = buf[[pending[k] for k in keys]]

    def _extract(self, first_acc: np.ndarray, npg: np.ndarray, inner: np.ndarray, nelem: np.ndarray,
                 slot_src: np.ndarray, buf_src: np.ndarray, buf: np.ndarray, dtype) -> np.ndarray:
        """Concatenated elements of items (rows / lists) that span ``npg`` consecutive page accesses
        starting at access ``first_acc``, ``inner`` bytes into the first page. Copies only the bytes needed."""
        from .sampler import _segment_gather
        isz = np.dtype(dtype).itemsize
        per = PAGE // isz
        out_ptr = np.cumsum(nelem) - nelem
        out = np.empty(int(nelem.sum()), dtype=dtype)
        sources = (self.data.reshape(-1).view(dtype), buf.reshape(-1).view(dtype))
        one = np.flatnonzero(npg == 1)
        slot = slot_src[first_acc[one]]
        for mask, src, page in ((slot >= 0, sources[0], slot), (slot < 0, sources[1], buf_src[first_acc[one]])):
            it = one[mask]
            starts = page[mask] * per + inner[it] // isz
            out[_segment_gather(out_ptr[it], nelem[it])] = src[_segment_gather(starts, nelem[it])]
        multi = np.flatnonzero(npg > 1)
        if multi.size:   # rows straddling pages / long lists: stage only their pages
            acc = _segment_gather(first_acc[multi], npg[multi])
            staged = np.empty((acc.size, PAGE), dtype=np.uint8)
            sl = slot_src[acc]
            staged[sl >= 0] = self.data[sl[sl >= 0]]
            staged[sl < 0] = buf[buf_src[acc][sl < 0]]
            starts = (np.cumsum(npg[multi]) - npg[multi]) * per + inner[multi] // isz
            out[_segment_gather(out_ptr[multi], nelem[multi])] = \
                staged.reshape(-1).view(dtype)[_segment_gather(starts, nelem[multi])]
        return out

    def gather(self, ids: np.ndarray, stage: str = "gather") -> tuple[np.ndarray, GatherCounts]:
        """Feature rows (n, F) float32, pages touched in row order (1, or 2 if straddling)."""
        ids = np.asarray(ids, dtype=np.int64)
        rb, F = self.ds.row_bytes, self.ds.feat_dim
        first, npg, _ = _row_pages(ids, rb)
        first_acc = np.cumsum(npg) - npg
        keys = np.repeat(first, npg) + (np.arange(int(npg.sum())) - np.repeat(first_acc, npg))
        before = self.ds.counter.get(stage)
        slot_src, buf_src, buf, pending = self._touch_and_read(keys, stage)
        out = self._extract(first_acc, npg, ids * rb - first * PAGE, np.full(ids.size, F, np.int64),
                            slot_src, buf_src, buf, np.float32).reshape(ids.size, F)
        self._commit(buf, pending)
        d = self.ds.counter.get(stage) - before
        miss = _miss_flags(buf_src)
        row_miss = int(np.count_nonzero(np.bincount(np.repeat(np.arange(ids.size), npg), weights=miss,
                                                    minlength=ids.size)))
        return out, GatherCounts(ids.size, ids.size - row_miss, row_miss, d.requests, d.bytes)

    def lists(self, nodes: np.ndarray, stage: str = "sample") -> tuple[np.ndarray, np.ndarray]:
        """In-neighbour lists through the page cache (a NeighborSource for the sampler)."""
        if not self.include_indices:
            raise ValueError("this PageLRUCache was built without the indices file")
        nodes = np.asarray(nodes, dtype=np.int64)
        start, deg = self.ds.indptr[nodes], self.ds.in_degree[nodes]
        ptr = np.zeros(nodes.size + 1, dtype=np.int64)
        np.cumsum(deg, out=ptr[1:])
        nz = np.flatnonzero(deg > 0)
        p0 = start[nz] * 8 // PAGE
        npg = ((start[nz] + deg[nz]) * 8 - 1) // PAGE - p0 + 1
        first_acc = np.cumsum(npg) - npg
        keys = self.index_base + np.repeat(p0, npg) + (np.arange(int(npg.sum())) - np.repeat(first_acc, npg))
        slot_src, buf_src, buf, pending = self._touch_and_read(keys, stage)
        flat = np.empty(int(ptr[-1]), dtype=np.int64)
        from .sampler import _segment_gather
        flat[_segment_gather(ptr[nz], deg[nz])] = self._extract(
            first_acc, npg, start[nz] * 8 - p0 * PAGE, deg[nz], slot_src, buf_src, buf, np.int64)
        self._commit(buf, pending)
        return flat, ptr


def simulate_page_lru(batches: Sequence[np.ndarray], row_bytes: int, budget_bytes: int,
                      num_file_pages: int) -> dict:
    """Trace-only per-access 4 KiB-page LRU over feature rows (what :class:`PageLRUCache` reads)."""
    lru = PageLRU(page_cache_capacity(budget_bytes, num_file_pages))
    acc = row_miss = reads = 0
    for b in batches:
        ids = np.asarray(b, dtype=np.int64)
        first, npg, _ = _row_pages(ids, row_bytes)
        keys = np.repeat(first, npg) + (np.arange(int(npg.sum())) - np.repeat(np.cumsum(npg) - npg, npg))
        _, buf_src, _, r = lru.touch(keys.tolist())
        fresh = _miss_flags(np.asarray(buf_src, dtype=np.int64))
        row_of = np.repeat(np.arange(ids.size), npg)
        row_miss += int(np.count_nonzero(np.bincount(row_of, weights=fresh, minlength=ids.size)))
        acc += ids.size
        reads += len(r)
    return dict(accesses=acc, misses=row_miss, requests=reads, bytes=reads * PAGE, capacity_pages=lru.capacity)
