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
from pathlib import Path
from typing import Callable

import numpy as np

from .sampler import DiskNeighbors, InMemoryNeighbors, NeighborCache, NeighborSampler, SampledBatch

PAGE = 4096


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


class PositionalSampler(NeighborSampler):
    """:class:`artifact.ginex.sampler.NeighborSampler` whose source may fetch only sampled positions.

    Same random choices (Floyd positions from the RNG and degrees) and the same ``n_id`` order, so
    batches equal the parent's bit for bit. A source with ``fetch(targets, rows, pos)`` is asked
    only for the sampled entries (PyG+: ``torch_sparse.sample_adj`` over ``mmap`` touches just the
    pages holding them); other sources return whole lists (Ginex's sampler reads whole lists).
    """

    def sample(self, seeds: np.ndarray, rng: np.random.Generator) -> SampledBatch:
        seeds = np.asarray(seeds, dtype=np.int64)
        if np.unique(seeds).shape[0] != seeds.shape[0]:
            raise ValueError("seed nodes of a batch must be unique")
        local, first = self._local, self._first
        n_id = seeds
        local[seeds] = np.arange(seeds.shape[0])
        hops = []
        fetch = getattr(self.source, "fetch", None)
        try:
            for fanout in self.fanouts:
                targets = n_id
                rows, pos = self._positions(self.degree[targets], fanout, rng)
                if fetch is not None:
                    nbr = fetch(targets, rows, pos)  # (e,) global ids
                else:
                    flat, ptr = self.source.lists(targets)
                    nbr = flat[ptr[rows] + pos]
                cand = nbr[local[nbr] < 0]
                idx = np.arange(cand.shape[0], dtype=np.int64)
                np.minimum.at(first, cand, idx)  # first occurrence of each new id
                new = cand[first[cand] == idx]
                first[cand] = np.iinfo(np.int64).max
                local[new] = n_id.shape[0] + np.arange(new.shape[0])
                n_id = np.concatenate([n_id, new])
                hops.append((np.stack([local[nbr], rows]), (n_id.shape[0], targets.shape[0])))
        finally:
            local[n_id] = -1
        return SampledBatch(n_id=n_id, adjs=hops[::-1], batch_size=int(seeds.shape[0]))


# ------------------------------------------------------------------------ neighbor cache


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
        nodes = NeighborCache.select(np.diff(indptr), out_degree, budget_bytes)
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

    def prepare_neighbor_cache(self, budget_bytes: int) -> int:
        """Offline preprocessing (untimed): dump the neighbor cache for ``budget_bytes``; returns #nodes."""
        return len(NeighborCacheFile.build(self.folder, self.indptr, self.indices_path, self.out_degree,
                                           budget_bytes).nodes)

    def neighbor_cache(self, budget_bytes: int, stage: str) -> DiskNeighbors:
        """Load the static neighbor cache of ``budget_bytes`` from its file (large O_DIRECT reads,
        counted under ``stage``); lists it lacks are read by O_DIRECT (one read per list)."""
        nc = NeighborCacheFile.build(self.folder, self.indptr, self.indices_path, self.out_degree, budget_bytes)
        arr = nc.load(self.counter, stage, threads=min(4, self.io_threads))
        table = np.full(self.num_nodes, -1, dtype=np.int64)  # address table (8 B x N, counted in the budget)
        table[nc.nodes] = nc.offset
        return DiskNeighbors(self.ds, NeighborCache(table, arr, budget_bytes), stage=stage)

    def in_memory_neighbors(self, indices: np.ndarray) -> InMemoryNeighbors:
        return InMemoryNeighbors(self.indptr, indices)

    def sample(self, seeds: np.ndarray, fanouts: tuple[int, ...], rng: np.random.Generator, source) -> SampledBatch:
        """One batch with :class:`PositionalSampler` (fresh per call: it holds per-thread scratch)."""
        return PositionalSampler(self.indptr, fanouts, source).sample(seeds, rng)

    def load_features(self) -> np.ndarray:
        """All features in RAM (the in-memory reference only): (N, F) float32."""
        return np.array(self.ds.features_memmap())

    def load_indices(self) -> np.ndarray:
        return np.array(self.ds.indices_memmap())
