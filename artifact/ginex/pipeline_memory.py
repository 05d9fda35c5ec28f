"""What lives between the pipeline stages: Ginex's feature cache, PyG+'s page cache, run-time files.

Part of :mod:`artifact.ginex.pipeline` (Ginex §3.1, §3.3, Fig. 11; PyG+ §5.1), split out to keep
modules small; everything here is re-exported there.

* :class:`FeatureCache` -- direct-addressed (``table[N]`` int32 + ``rows[K, F]``), updated from the
  batch buffer by changesets (insert, in_positions, evict): no I/O;
* :class:`PageLRU` / :func:`gather_via_pages` / :class:`PagedNeighbors` -- the OS page cache with
  readahead off, emulated as an exact, thread-safe LRU of 4 KiB pages over several files;
* :class:`RuntimeDir` -- per-superbatch run-time files with a CRC-32 manifest.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Callable

import numpy as np

from .sampler import SampledBatch


class BudgetTooSmallError(ValueError):
    """The memory budget does not even hold the address tables; the message gives the minimum."""


class RuntimeFileError(RuntimeError):
    """A run-time file of a superbatch is missing or corrupt (checksum/size mismatch)."""


# ---------------------------------------------------------------------- Ginex feature cache


def feature_cache_rows(budget_bytes: int, num_nodes: int, dim: int) -> int:
    """Rows of the Ginex feature cache for a budget: ``(B - 4N) / 4F`` (int32 address table)."""
    rows = (int(budget_bytes) - 4 * num_nodes) // (4 * dim)
    if rows < 1:
        raise BudgetTooSmallError(
            f"budget {budget_bytes} B does not hold the feature-cache address table (4 B x {num_nodes} nodes) "
            f"plus one {dim}-d row; the minimum is {minimum_budget(num_nodes, dim)} B"
        )
    return rows


def minimum_budget(num_nodes: int, dim: int) -> int:
    """Smallest budget Ginex accepts: the int64 neighbor-cache table (8N) and the feature table + 1 row."""
    return max(8 * num_nodes, 4 * num_nodes + 4 * dim)


class FeatureCache:
    """Direct-addressed feature cache (paper Fig. 11): ``table[N]`` int32 slot or -1, ``rows[K, F]``."""

    def __init__(self, num_nodes: int, dim: int, capacity: int) -> None:
        self.table = np.full(num_nodes, -1, dtype=np.int32)  # (N,) slot of each node or -1
        self.rows = np.empty((capacity, dim), dtype=np.float32)  # (K, F)
        self.capacity = capacity
        self._used = 0  # slots 0 .. _used-1 are taken; the cache only grows until full

    def fill(self, ids: np.ndarray, rows: np.ndarray) -> None:
        """Switch: load ``rows`` (already read from disk) for ``ids``."""
        n = len(ids)
        if n > self.capacity - self._used:
            raise ValueError(f"cannot insert {n} rows into a cache with {self.capacity - self._used} free slots")
        slots = np.arange(self._used, self._used + n, dtype=np.int32)
        self.rows[slots] = rows
        self.table[ids] = slots
        self._used += n

    def lookup(self, n_id: np.ndarray) -> np.ndarray:
        """Slot of each id (-1 = miss)."""
        return self.table[n_id]

    def apply(self, buf: np.ndarray, insert: np.ndarray, in_positions: np.ndarray, evict: np.ndarray) -> None:
        """Cache update from the batch buffer: row ``buf[in_positions[k]]`` replaces ``evict[k]``."""
        slots = self.table[evict]
        if len(evict) and (slots < 0).any():
            raise ValueError("changeset evicts ids that are not cached (changesets applied out of order?)")
        self.table[evict] = -1
        extra = len(insert) - len(evict)
        if extra < 0:
            raise ValueError(f"changeset evicts {len(evict)} ids but inserts only {len(insert)}")
        if extra:
            if extra > self.capacity - self._used:
                raise ValueError("changeset overfills the cache")
            slots = np.concatenate([slots, np.arange(self._used, self._used + extra, dtype=np.int32)])
            self._used += extra
        self.rows[slots] = buf[in_positions]
        self.table[insert] = slots


# --------------------------------------------------------------------------- run-time files


class RuntimeDir:
    """Run-time files of one superbatch with a checksum manifest (written last, atomically).

    Files: ``ids_<i>.npy`` (n,) int64, ``adj_<i>.npz`` (per-hop edge_index + sizes),
    ``update_<i>.npz`` (insert, in_positions, evict). Every read checks the manifest's size and
    CRC-32, so a missing, truncated or corrupt file raises :class:`RuntimeFileError`.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._sums: dict[str, tuple[int, int]] = {}
        self.bytes_written = 0
        self.bytes_read = 0

    def _write(self, name: str, writer: Callable[[Path], None]) -> None:
        p = self.path / name
        writer(p)
        data = p.read_bytes()
        self._sums[name] = (len(data), zlib.crc32(data))
        self.bytes_written += len(data)

    def _read(self, name: str) -> bytes:
        p = self.path / name
        if name not in self._sums:
            raise RuntimeFileError(f"run-time file {p} is not in this superbatch's manifest")
        try:
            data = p.read_bytes()
        except FileNotFoundError as e:
            raise RuntimeFileError(f"run-time file {p} is missing; rerun the epoch (stale files are cleaned at start)") from e
        size, crc = self._sums[name]
        if len(data) != size or zlib.crc32(data) != crc:
            raise RuntimeFileError(f"run-time file {p} is corrupt (size/CRC-32 mismatch); rerun the epoch")
        self.bytes_read += len(data)
        return data

    def write_batch(self, i: int, batch: SampledBatch) -> None:
        self._write(f"ids_{i}.npy", lambda p: np.save(p, batch.n_id))
        arrays = {f"ei{l}": ei for l, (ei, _) in enumerate(batch.adjs)}
        arrays["sizes"] = np.array([s for _, s in batch.adjs], dtype=np.int64).reshape(-1, 2)
        arrays["batch_size"] = np.array(batch.batch_size)
        self._write(f"adj_{i}.npz", lambda p: np.savez(p, **arrays))

    def write_update(self, i: int, insert: np.ndarray, in_positions: np.ndarray, evict: np.ndarray) -> None:
        self._write(f"update_{i}.npz", lambda p: np.savez(p, insert=insert, in_positions=in_positions, evict=evict))

    def write_manifest(self) -> None:
        tmp = self.path / ".manifest.json.tmp"
        tmp.write_text(json.dumps({k: list(v) for k, v in self._sums.items()}))
        os.replace(tmp, self.path / "manifest.json")

    @classmethod
    def open(cls, path: Path) -> "RuntimeDir":
        """Re-open a superbatch folder from its manifest (detects missing/corrupt files on read)."""
        rd = cls.__new__(cls)
        rd.path, rd.bytes_written, rd.bytes_read = Path(path), 0, 0
        try:
            rd._sums = {k: (int(v[0]), int(v[1])) for k, v in json.loads((rd.path / "manifest.json").read_text()).items()}
        except (OSError, ValueError) as e:
            raise RuntimeFileError(f"manifest of {path} is missing or unreadable: {e}") from e
        return rd

    def read_ids(self, i: int) -> np.ndarray:
        return _npy(self._read(f"ids_{i}.npy"))

    def read_batch(self, i: int) -> SampledBatch:
        import io

        n_id = self.read_ids(i)
        z = np.load(io.BytesIO(self._read(f"adj_{i}.npz")))
        sizes = z["sizes"]
        adjs = [(z[f"ei{l}"], (int(sizes[l, 0]), int(sizes[l, 1]))) for l in range(len(sizes))]
        return SampledBatch(n_id, adjs, int(z["batch_size"]))

    def read_update(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import io

        z = np.load(io.BytesIO(self._read(f"update_{i}.npz")))
        return z["insert"], z["in_positions"], z["evict"]

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _npy(data: bytes) -> np.ndarray:
    import io

    return np.load(io.BytesIO(data))


def clean_stale_runtime(root: Path) -> int:
    """Delete run-time folders left by an interrupted run; returns how many were removed."""
    root = Path(root)
    if not root.exists():
        return 0
    stale = [p for p in root.iterdir() if p.is_dir()]
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
    return len(stale)


# ------------------------------------------------------------------ PyG+ page cache (emulated)

PAGE = 4096


class _Pending:
    """Pages one call is reading: other threads that touch them wait (like locked pages in the kernel)."""

    __slots__ = ("event", "data", "slot", "error")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.data: np.ndarray | None = None  # (n_missing, 4096) once read
        self.slot: dict[int, int] = {}  # page -> row of data
        self.error: BaseException | None = None


class PageLRU:
    """The OS page cache with readahead off, emulated: an LRU of ``capacity`` 4 KiB pages.

    Shared by every file (``indices`` and ``features``) and every thread (sampling workers and
    the gather thread), like the kernel's page cache under ``mmap`` + ``MADV_RANDOM``. Within one
    call the pages are touched once each in the given order and the LRU is updated access by
    access (exact LRU); the missed pages are then read together with ``read_pages(file, pages)
    -> (n, 4096) uint8`` (``O_DIRECT``) outside the lock. A thread touching a page still under
    I/O waits for it.
    """

    def __init__(self, capacity_pages: int, read_pages: Callable[[str, np.ndarray], np.ndarray]) -> None:
        if capacity_pages < 1:
            raise BudgetTooSmallError(f"page cache needs at least one {PAGE}-byte page; got {capacity_pages}")
        from collections import OrderedDict

        self.capacity = int(capacity_pages)
        self._pages: "OrderedDict[tuple[str, int], np.ndarray | _Pending]" = OrderedDict()
        self._lock = threading.Lock()
        self._read = read_pages
        self.accesses: dict[str, int] = defaultdict(int)  # per file
        self.misses: dict[str, int] = defaultdict(int)

    def get(self, file: str, pages: np.ndarray) -> np.ndarray:
        """Contents of the (unique) ``pages`` of ``file``: (n, 4096) uint8."""
        out = np.empty((len(pages), PAGE), dtype=np.uint8)
        plist = pages.tolist()
        missing: list[int] = []
        waits: list[tuple[int, int, _Pending]] = []
        pend = _Pending()
        od = self._pages
        with self._lock:
            for k, p in enumerate(plist):
                key = (file, p)
                v = od.get(key)
                if v is None:
                    od[key] = pend
                    pend.slot[p] = len(missing)
                    missing.append(k)
                    if len(od) > self.capacity:
                        od.popitem(last=False)
                else:
                    od.move_to_end(key)
                    if isinstance(v, _Pending):
                        waits.append((k, p, v))
                    else:
                        out[k] = v
            self.accesses[file] += len(plist)
            self.misses[file] += len(missing)
        if missing:
            idx = np.asarray(missing, dtype=np.int64)
            try:
                data = self._read(file, pages[idx])  # (m, 4096): I/O outside the lock
            except BaseException as e:
                pend.error = e
                with self._lock:
                    for k in missing:
                        if od.get((file, plist[k])) is pend:
                            del od[(file, plist[k])]
                pend.event.set()
                raise
            out[idx] = data
            pend.data = data
            with self._lock:
                for j, k in enumerate(missing):
                    key = (file, plist[k])
                    if od.get(key) is pend:
                        od[key] = data[j].copy()
            pend.event.set()
        for k, p, other in waits:
            other.event.wait()
            if other.error is not None:
                raise RuntimeError(f"page {p} of {file}: the read that loaded it failed") from other.error
            out[k] = other.data[other.slot[p]]
        return out


def gather_via_pages(cache: PageLRU, file: str, byte_start: np.ndarray, nbytes: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Read byte ranges ``[start, start + nbytes)`` of ``file`` through the page cache.

    Returns ``(ptr, flat)``: range ``j`` is ``flat[ptr[j]:ptr[j+1]]`` of ``dtype`` (ranges must be
    aligned to the item size). Vectorized: the pages of a range are contiguous in the sorted set.
    """
    item = np.dtype(dtype).itemsize
    byte_start = np.asarray(byte_start, dtype=np.int64)
    nbytes = np.asarray(nbytes, dtype=np.int64)
    counts = nbytes // item
    ptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    nonempty = nbytes > 0
    if not nonempty.any():
        return ptr, np.empty(0, dtype=dtype)
    first = byte_start // PAGE
    last = (byte_start + np.maximum(nbytes, 1) - 1) // PAGE
    npg = np.where(nonempty, last - first + 1, 0)
    all_pages = np.repeat(first, npg) + (np.arange(npg.sum()) - np.repeat(np.cumsum(npg) - npg, npg))
    uniq = np.unique(all_pages)  # sorted: touched in ascending page order
    pages = cache.get(file, uniq)  # (u, 4096) uint8
    flat_items = pages.reshape(-1).view(dtype)  # the sorted pages back to back
    base = (np.searchsorted(uniq, first) * PAGE + byte_start % PAGE) // item  # item index of each range
    idx = np.repeat(base - ptr[:-1], counts) + np.arange(ptr[-1])
    return ptr, flat_items[idx]


# ----------------------------------------------------------------------------- systems

class PagedNeighbors:
    """PyG+ neighbour source: sampled entries of ``indices`` read through the page cache.

    ``fetch`` touches only the pages holding sampled positions, as ``torch_sparse.sample_adj``
    over a memory-mapped ``indices`` does; ``lists`` (whole lists) is there for completeness.
    """

    def __init__(self, indptr: np.ndarray, pages: PageLRU) -> None:
        self.indptr, self.pages = indptr, pages

    def fetch(self, targets: np.ndarray, rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
        item = self.indptr[targets[rows]] + pos  # (e,) positions in indices
        return gather_via_pages(self.pages, "indices", item * 8, np.full(len(item), 8), np.int64)[1]

    def lists(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        start, stop = self.indptr[nodes], self.indptr[nodes + 1]
        ptr, flat = gather_via_pages(self.pages, "indices", start * 8, (stop - start) * 8, np.int64)
        return flat, ptr
