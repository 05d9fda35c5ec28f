"""The data path under the training pipelines: O_DIRECT reads, sampling, neighbor cache (Ginex §3.2, §4).

:class:`DiskData` is what :mod:`artifact.ginex.pipeline` trains from: ``indptr``, labels and the
training nodes in RAM, ``indices`` (int64 CSC) and ``features`` (float32 N x F) on disk, read
only with ``O_DIRECT`` (spec ``papers/ginex.md`` §1.8): a missed feature row costs one 4 KiB
read, 8 KiB when it straddles a page; a missed neighbor list one aligned read covering it.
Every read is counted per stage (requests, bytes), which tests compare with ``/proc/self/io``.

Sampling (:func:`sample_blocks`) is PyG's classic layer-wise neighbor sampling without
replacement. The sampled *positions* inside each neighbor list depend only on the RNG and the
in-degrees (``indptr`` is in RAM), never on where a list is read from, so Ginex (static neighbor
cache + ``O_DIRECT``), PyG+ (page cache: only the pages holding the sampled positions are
touched, as ``torch_sparse.sample_adj`` over ``mmap`` does) and the in-memory reference sample
bit-identical blocks.
"""
from __future__ import annotations

import mmap
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

PAGE = 4096
# nodes, offsets within each node's list (CSR ptr + flat positions) -> neighbour ids at those positions
Fetch = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


class DirectFile:
    """A file read only with ``O_DIRECT`` ``preadv`` of page-aligned extents from a thread pool
    (used for the neighbor-cache file; the dataset files use :mod:`artifact.ginex.storage`)."""

    def __init__(self, path: str | os.PathLike, counter, threads: int = 4) -> None:
        self.path = Path(path)
        self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECT)  # the dataset folder was probed at open
        self.size = os.fstat(self.fd).st_size
        self.counter = counter
        self.threads = max(1, threads)
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix=f"odirect-{self.path.name}")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        os.close(self.fd)

    def read_extents(self, start: np.ndarray, length: np.ndarray, stage: str,
                     sink: Callable[[int, np.ndarray], None]) -> None:
        """Read aligned extents ``[start[k], start[k] + length[k])``; ``sink(k, bytes)`` consumes each.

        One ``preadv`` per extent, into a per-thread page-aligned bounce buffer (anonymous mmap).
        """
        n = len(start)
        if n == 0:
            return
        start = np.asarray(start, dtype=np.int64)
        length = np.asarray(length, dtype=np.int64)
        if ((start % PAGE) | (length % PAGE)).any():
            raise ValueError("O_DIRECT extents must be page aligned")
        cap = int(length.max())
        chunks = np.array_split(np.arange(n), min(self.threads, n))

        def work(ks: np.ndarray) -> None:
            buf = mmap.mmap(-1, cap)  # page aligned
            view = np.frombuffer(buf, dtype=np.uint8)
            mv = memoryview(buf)
            for k in ks.tolist():
                ln = int(length[k])
                got = os.preadv(self.fd, [mv[:ln]], int(start[k]))
                if got < ln and int(start[k]) + got < min(self.size, int(start[k]) + ln):
                    raise OSError(f"short O_DIRECT read of {self.path} at {start[k]}: {got} of {ln} bytes")
                sink(k, view[:ln])
            del view, mv
            buf.close()

        list(self._pool.map(work, [c for c in chunks if len(c)]))
        self.counter.add(stage, n, int(length.sum()))


# -------------------------------------------------------------------------------- sampling


def sample_positions(deg: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``k`` distinct offsets in ``[0, deg[j])`` per node (all of them when ``deg <= k``).

    Returns ``(ptr, pos)`` in CSR form; offsets of a node are sorted. Vectorized: nodes with a small
    degree draw random keys for every neighbour; large ones draw with replacement and redraw duplicates.
    """
    deg = np.asarray(deg, dtype=np.int64)
    take = np.minimum(deg, k)
    ptr = np.zeros(len(deg) + 1, dtype=np.int64)
    np.cumsum(take, out=ptr[1:])
    pos = np.empty(ptr[-1], dtype=np.int64)
    all_ = deg <= k
    small = ~all_ & (deg <= 4 * k)
    large = deg > 4 * k
    owner = np.repeat(np.arange(len(deg)), take)
    within = np.arange(ptr[-1]) - ptr[:-1][owner]
    m_all = all_[owner]
    pos[m_all] = within[m_all]
    if small.any():  # random keys over the full list, keep the k smallest
        nodes = np.flatnonzero(small)
        d = deg[nodes]
        seg = np.repeat(np.arange(len(nodes)), d)
        keys = rng.random(int(d.sum()))
        order = np.lexsort((keys, seg))
        rank = np.arange(len(order)) - np.repeat(np.cumsum(d) - d, d)
        chosen = order[rank < k]  # grouped by node, k per node
        offs = (chosen - np.repeat(np.cumsum(d) - d, d)[chosen]).reshape(len(nodes), k)
        offs.sort(axis=1)
        pos[(ptr[nodes][:, None] + np.arange(k)).ravel()] = offs.ravel()
    if large.any():  # draw with replacement, redraw duplicates until none remain
        nodes = np.flatnonzero(large)
        d = deg[nodes][:, None]
        draw = (rng.random((len(nodes), k)) * d).astype(np.int64)
        while True:
            draw.sort(axis=1)
            dup = np.zeros_like(draw, dtype=bool)
            dup[:, 1:] = draw[:, 1:] == draw[:, :-1]
            if not dup.any():
                break
            rows = np.nonzero(dup)[0]
            draw[dup] = (rng.random(len(rows)) * deg[nodes][rows]).astype(np.int64)
        pos[(ptr[nodes][:, None] + np.arange(k)).ravel()] = draw.ravel()
    return ptr, pos


@dataclass
class Blocks:
    """A sampled mini-batch (same fields as :class:`artifact.ginex.pipeline.SampledBatch`)."""

    n_id: np.ndarray
    adjs: list
    batch_size: int


def sample_blocks(indptr: np.ndarray, seeds: np.ndarray, fanouts: tuple[int, ...], rng: np.random.Generator,
                  fetch: Fetch):
    """Layer-wise sampling (PyG ``NeighborSampler`` semantics): hop h samples ``fanouts[h]`` in-neighbours
    of every node gathered so far; new nodes are appended (sorted). Blocks are returned outermost first.
    """
    from .pipeline import SampledBatch

    n_id = np.asarray(seeds, dtype=np.int64)
    if len(np.unique(n_id)) != len(n_id):
        raise ValueError("seed nodes of a batch must be unique")
    adjs = []
    for k in fanouts:
        deg = indptr[n_id + 1] - indptr[n_id]
        ptr, pos = sample_positions(deg, k, rng)
        vals = fetch(n_id, ptr, pos)  # (E,) global ids of the sampled in-neighbours
        allv = np.concatenate([n_id, vals])
        uniq, inv = np.unique(allv, return_inverse=True)
        local = np.full(len(uniq), -1, dtype=np.int64)
        local[inv[: len(n_id)]] = np.arange(len(n_id))
        new = local < 0
        local[new] = len(n_id) + np.arange(int(new.sum()))
        src = local[inv[len(n_id):]]
        dst = np.repeat(np.arange(len(n_id)), np.diff(ptr))
        n_dst = len(n_id)
        n_id = np.concatenate([n_id, uniq[new]])
        adjs.append((np.stack([src, dst]), (len(n_id), n_dst)))
    return SampledBatch(n_id, adjs[::-1], len(seeds))


def fetch_in_memory(indptr: np.ndarray, indices: np.ndarray) -> Fetch:
    def fetch(nodes: np.ndarray, ptr: np.ndarray, pos: np.ndarray) -> np.ndarray:
        return indices[np.repeat(indptr[nodes], np.diff(ptr)) + pos]

    return fetch


# ------------------------------------------------------------------------ neighbor cache


def neighbor_cache_nodes(indptr: np.ndarray, out_degree: np.ndarray, budget_bytes: int) -> np.ndarray:
    """Ginex's static neighbor cache (§3.2): nodes by out/in-degree descending, longest prefix whose
    ``[deg, nbrs...]`` int64 entries fit in ``budget - 8 N`` bytes (int64 address table counted)."""
    n = len(indptr) - 1
    slots = (int(budget_bytes) - 8 * n) // 8
    if slots <= 0:
        return np.empty(0, dtype=np.int64)
    in_deg = np.diff(indptr)
    score = (out_degree + 1e-8) / (in_deg + 1e-8)
    order = np.lexsort((np.arange(n), -score))
    fits = np.cumsum(in_deg[order] + 1) <= slots
    return order[: int(np.argmin(fits)) if not fits.all() else n].astype(np.int64)


class NeighborCacheFile:
    """The neighbor cache dumped to disk offline (``cache_array`` of ``[deg, nbr...]`` int64), loaded
    with large O_DIRECT reads at the start of every superbatch sample and dropped after it."""

    def __init__(self, path: Path, nodes: np.ndarray, indptr: np.ndarray) -> None:
        self.path, self.nodes = Path(path), nodes
        deg = indptr[nodes + 1] - indptr[nodes]
        self.offset = np.zeros(len(nodes), dtype=np.int64)  # item offset of each node's entry
        if len(nodes):
            self.offset[1:] = np.cumsum(deg + 1)[:-1]
        self.items = int((deg + 1).sum())

    @classmethod
    def build(cls, folder: Path, indptr: np.ndarray, indices_path: Path, out_degree: np.ndarray,
              budget_bytes: int) -> "NeighborCacheFile":
        """Offline preprocessing (not timed): write ``nc_<budget>.bin`` if it is not there yet."""
        nodes = neighbor_cache_nodes(indptr, out_degree, budget_bytes)
        nc = cls(Path(folder) / f"nc_{int(budget_bytes)}.bin", nodes, indptr)
        if not nc.path.exists() or nc.path.stat().st_size != -(-nc.items * 8 // PAGE) * PAGE:
            indices = np.memmap(indices_path, dtype=np.int64, mode="r") if indptr[-1] else np.empty(0, np.int64)
            arr = np.empty(nc.items, dtype=np.int64)
            deg = indptr[nodes + 1] - indptr[nodes]
            arr[nc.offset] = deg
            body = np.ones(nc.items, dtype=bool)
            body[nc.offset] = False
            src = np.repeat(indptr[nodes], deg) + (np.arange(int(deg.sum())) - np.repeat(np.cumsum(deg) - deg, deg))
            arr[body] = indices[src]
            tmp = nc.path.with_suffix(".tmp")
            with open(tmp, "wb") as f:  # zero-padded to 4 KiB so every O_DIRECT read is whole
                f.write(arr.tobytes())
                f.write(b"\0" * (-nc.items * 8 % PAGE))
            os.replace(tmp, nc.path)
        return nc

    def load(self, counter, stage: str, threads: int = 4, extent: int = 1 << 20) -> np.ndarray:
        """Read the whole cache array with O_DIRECT in ``extent``-byte requests: (items,) int64."""
        nbytes = self.items * 8
        if nbytes == 0:
            return np.empty(0, dtype=np.int64)
        f = DirectFile(self.path, counter, threads)
        try:
            total = (nbytes + PAGE - 1) & ~(PAGE - 1)
            starts = np.arange(0, total, extent, dtype=np.int64)
            lengths = np.minimum(extent, total - starts)
            raw = np.empty(total, dtype=np.uint8)

            def sink(k: int, data: np.ndarray) -> None:
                raw[starts[k] : starts[k] + lengths[k]] = data[: lengths[k]]

            f.read_extents(starts, lengths, stage, sink)
        finally:
            f.close()
        return raw[:nbytes].view(np.int64)


# -------------------------------------------------------------------------------- dataset


class DiskData:
    """The dataset as the pipelines see it, over :class:`artifact.ginex.storage.DiskDataset`.

    ``indptr``, labels, training ids and out-degrees in RAM; features, pages and neighbor-list
    misses through the dataset's O_DIRECT readers, counted per stage in ``self.counter``; the
    offline neighbor-cache files live next to the dataset.
    """

    def __init__(self, dataset, cache_dir: str | os.PathLike | None = None) -> None:
        self.ds = dataset
        self.folder = Path(cache_dir) if cache_dir is not None else Path(dataset.path) / "neighbor_cache"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.indptr = dataset.indptr  # (N + 1,) int64
        self.num_nodes = int(dataset.num_nodes)
        self.labels = np.asarray(dataset.labels, dtype=np.int64)  # (N,)
        self.train_ids = np.asarray(dataset.train_idx, dtype=np.int64)
        self.out_degree = np.asarray(dataset.out_degree, dtype=np.int64)
        self.dim, self.num_classes = int(dataset.feat_dim), int(dataset.num_classes)
        self.counter = dataset.counter
        self.indices_path = Path(dataset.path) / "indices.dat"
        self.io_threads = int(dataset.io_threads)

    @property
    def feature_bytes(self) -> int:
        return self.num_nodes * self.dim * 4

    def io_counts(self) -> dict[str, tuple[int, int]]:
        return {k: (v.requests, v.bytes) for k, v in self.counter.snapshot().items()}

    def read_rows(self, ids: np.ndarray, stage: str) -> np.ndarray:
        """Feature rows by O_DIRECT (4 KiB each, 8 KiB if straddling): (n, F) float32."""
        return self.ds.read_rows(ids, stage=stage)

    def read_pages(self, file: str, pages: np.ndarray) -> np.ndarray:
        """4 KiB pages of ``"features"`` (stage ``gather``) or ``"indices"`` (stage ``sample``)."""
        if file not in ("features", "indices"):
            raise ValueError(f"unknown file {file!r}")
        return self.ds.read_pages(pages, stage="gather" if file == "features" else "sample", which=file)

    def read_lists(self, nodes: np.ndarray, ptr: np.ndarray, pos: np.ndarray, stage: str) -> np.ndarray:
        """Neighbour ids at ``pos`` of each node's list (one aligned O_DIRECT read covering each list)."""
        flat, lptr = self.ds.read_neighbors(nodes, stage=stage)
        return flat[np.repeat(lptr[:-1], np.diff(ptr)) + pos]

    def prepare_neighbor_cache(self, budget_bytes: int) -> int:
        """Offline preprocessing (untimed): dump the neighbor cache for ``budget_bytes``; returns #nodes."""
        return len(NeighborCacheFile.build(self.folder, self.indptr, self.indices_path, self.out_degree,
                                           budget_bytes).nodes)

    def neighbor_cache(self, budget_bytes: int, stage: str) -> Fetch:
        """Load the static neighbor cache of ``budget_bytes`` (O_DIRECT, counted under ``stage``) and
        return a fetch function: cached lists from memory, the others by O_DIRECT reads."""
        nc = NeighborCacheFile.build(self.folder, self.indptr, self.indices_path, self.out_degree, budget_bytes)
        arr = nc.load(self.counter, stage, threads=min(4, self.io_threads))
        table = np.full(self.num_nodes, -1, dtype=np.int64)  # address table (8 B x N, counted in the budget)
        table[nc.nodes] = nc.offset

        def fetch(nodes: np.ndarray, ptr: np.ndarray, pos: np.ndarray) -> np.ndarray:
            cnt = np.diff(ptr)
            t = table[nodes]
            hit = t >= 0
            out = np.empty(len(pos), dtype=np.int64)
            hit_items = np.repeat(hit, cnt)
            out[hit_items] = arr[np.repeat(t[hit] + 1, cnt[hit]) + pos[hit_items]]
            if (~hit).any():
                miss = np.flatnonzero(~hit & (cnt > 0))
                mptr = np.zeros(len(miss) + 1, dtype=np.int64)
                np.cumsum(cnt[miss], out=mptr[1:])
                out[~hit_items] = self.read_lists(nodes[miss], mptr, pos[~hit_items], stage)
            return out

        return fetch

    def sample(self, seeds: np.ndarray, fanouts: tuple[int, ...], rng: np.random.Generator, fetch: Fetch):
        return sample_blocks(self.indptr, seeds, fanouts, rng, fetch)

    def load_features(self) -> np.ndarray:
        """All features in RAM (the in-memory reference only): (N, F) float32."""
        return np.array(self.ds.features_memmap())

    def load_indices(self) -> np.ndarray:
        return np.array(self.ds.indices_memmap())
