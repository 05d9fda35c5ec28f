"""Neighbour sampling, superbatch trace files and the static neighbour cache (Ginex §3.1-§3.2).

* :class:`NeighborSampler` -- vectorized multi-hop sampling without replacement (Robert Floyd's
  algorithm, as Ginex's ``sample.cpp``, vectorized over all target nodes of a hop). Like PyG's
  ``NeighborSampler`` (which Ginex uses), hop ``h+1`` samples neighbours of *all* nodes reached so
  far; the output is PyG's ``adjs`` format (outermost hop first) that plugs into ``SAGEConv``.
  The random choices depend only on ``(seeds, rng, degrees)``, never on where lists come from, so
  the same rng gives the same batch from RAM, from disk, or through any cache.
* Neighbour sources: :class:`InMemoryNeighbors` (no I/O, for trace studies) and
  :class:`DiskNeighbors` (O_DIRECT reads of ``indices.dat`` unless the list is in the
  :class:`NeighborCache`).
* :class:`NeighborCache` -- static cache of in-neighbour lists, score = out-degree / in-degree
  (eps 1e-8 on both, ties by id), the longest prefix of the ranking that fits the byte budget,
  which includes the int64 direct-address table (8 B x N); layout ``[deg, nbr_0..nbr_deg-1]``.
* :func:`write_superbatch` / :func:`load_batch` -- the run-time files ``ids_i.npy`` /
  ``adj_i.npz`` of a superbatch, with an index holding sizes and crc32 so a missing or corrupt
  file is detected instead of silently reused.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .storage import DiskDataset, IOCounter


class NeighborSource(Protocol):
    """Anything that returns in-neighbour lists: ``lists(nodes) -> (flat, ptr)`` (int64 each).

    A source may also offer ``pick(nodes, rows, pos) -> nbrs`` (neighbour ``pos[k]`` of
    ``nodes[rows[k]]``) to skip materialising whole lists when that costs no I/O.
    """

    def lists(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


def _segment_gather(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ranges [starts[k], starts[k] + lengths[k]) as one int64 index array."""
    total = int(lengths.sum())
    excl = np.zeros(lengths.shape[0], dtype=np.int64)
    np.cumsum(lengths[:-1], out=excl[1:])
    return np.repeat(starts - excl, lengths) + np.arange(total, dtype=np.int64)


class InMemoryNeighbors:
    """In-neighbour lists from an in-RAM CSC (no I/O)."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray) -> None:
        self.indptr, self.indices = indptr, indices

    def lists(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        start = self.indptr[nodes]
        deg = self.indptr[nodes + 1] - start
        ptr = np.zeros(nodes.shape[0] + 1, dtype=np.int64)
        np.cumsum(deg, out=ptr[1:])
        return self.indices[_segment_gather(start, deg)], ptr

    def pick(self, nodes: np.ndarray, rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
        return self.indices[self.indptr[nodes][rows] + pos]


class NeighborCache:
    """Static in-neighbour-list cache (Ginex Fig. 10): ``table[v]`` = offset of ``[deg, nbrs...]`` or -1."""

    EPS = 1e-8

    def __init__(self, table: np.ndarray, array: np.ndarray, budget_bytes: int) -> None:
        self.table = table          # (N,) int64, -1 = not cached
        self.array = array          # (slots,) int64
        self.budget_bytes = int(budget_bytes)

    @property
    def nbytes(self) -> int:
        """Bytes used: address table + cached slots (always <= the budget)."""
        return int(self.table.nbytes + self.array.nbytes)

    @property
    def num_cached(self) -> int:
        return int(np.count_nonzero(self.table >= 0))

    @staticmethod
    def ranking(in_degree: np.ndarray, out_degree: np.ndarray) -> np.ndarray:
        """Nodes by descending out/in-degree score (eps 1e-8 on both), ties by ascending id."""
        score = (out_degree + NeighborCache.EPS) / (in_degree + NeighborCache.EPS)
        return np.argsort(-score, kind="stable")

    @staticmethod
    def select(in_degree: np.ndarray, out_degree: np.ndarray, budget_bytes: int) -> np.ndarray:
        """Longest prefix of :meth:`ranking` whose (deg + 1) int64 slots fit after the 8 B x N table."""
        n = in_degree.shape[0]
        if budget_bytes < 8 * n:
            raise ValueError(f"neighbour-cache budget {budget_bytes} B is below its address table "
                             f"(8 B x {n} nodes = {8 * n} B); give at least {8 * n} B")
        order = NeighborCache.ranking(in_degree, out_degree)
        slots = (budget_bytes - 8 * n) // 8
        fits = np.cumsum(in_degree[order] + 1) <= slots
        return order[:int(np.argmin(fits)) if not fits.all() else n]  # longest prefix, no skipping

    @classmethod
    def build(cls, ds: DiskDataset, budget_bytes: int, stage: str = "nc_fill") -> "NeighborCache":
        """Choose the cached nodes and fill their lists with one O_DIRECT read per list."""
        chosen = cls.select(ds.in_degree, ds.out_degree, budget_bytes)
        deg = ds.in_degree[chosen]
        flat, _ = ds.read_neighbors(chosen, stage=stage)
        offs = np.zeros(chosen.shape[0], dtype=np.int64)
        np.cumsum(deg[:-1] + 1, out=offs[1:])
        array = np.empty(int((deg + 1).sum()), dtype=np.int64)
        array[offs] = deg
        array[_segment_gather(offs + 1, deg)] = flat
        table = np.full(ds.num_nodes, -1, dtype=np.int64)
        table[chosen] = offs
        return cls(table, array, budget_bytes)


class DiskNeighbors:
    """Lists from the :class:`NeighborCache` when cached, else one O_DIRECT read per list."""

    def __init__(self, ds: DiskDataset, cache: NeighborCache | None = None, stage: str = "sample") -> None:
        self.ds, self.cache, self.stage = ds, cache, stage
        self.lists_hit = 0
        self.lists_read = 0

    def lists(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        deg = self.ds.in_degree[nodes]
        ptr = np.zeros(nodes.shape[0] + 1, dtype=np.int64)
        np.cumsum(deg, out=ptr[1:])
        flat = np.empty(int(ptr[-1]), dtype=np.int64)
        hit = (self.cache.table[nodes] >= 0) if self.cache is not None else np.zeros(nodes.shape, bool)
        need = ~hit & (deg > 0)
        if hit.any():
            h = np.flatnonzero(hit)
            flat[_segment_gather(ptr[h], deg[h])] = self.cache.array[_segment_gather(self.cache.table[nodes[h]] + 1, deg[h])]
        if need.any():
            m = np.flatnonzero(need)
            got, _ = self.ds.read_neighbors(nodes[m], stage=self.stage)
            flat[_segment_gather(ptr[m], deg[m])] = got
        self.lists_hit += int(np.count_nonzero(hit & (deg > 0)))
        self.lists_read += int(need.sum())
        return flat, ptr


@dataclass
class SampledBatch:
    """One mini-batch: ``n_id`` (unique global ids, seeds first) and PyG-style ``adjs``.

    ``adjs[h] = (edge_index (2, e) int64 local ids, (n_src, n_dst))``, outermost hop first; the
    targets of a hop are the first ``n_dst`` of its sources. Features to gather: ``x[n_id]``.
    """

    n_id: np.ndarray                                   # (n,) int64
    adjs: list[tuple[np.ndarray, tuple[int, int]]]
    batch_size: int

    @property
    def seeds(self) -> np.ndarray:
        return self.n_id[:self.batch_size]

    def torch_adjs(self):
        """``adjs`` with ``edge_index`` as torch.long tensors (for ``SAGEConv``)."""
        import torch
        return [(torch.from_numpy(ei), size) for ei, size in self.adjs]


class NeighborSampler:
    """Multi-hop sampling without replacement. Holds scratch arrays: use one instance per thread."""

    def __init__(self, indptr: np.ndarray, fanouts: Sequence[int], source: NeighborSource) -> None:
        self.indptr = indptr
        self.degree = np.diff(indptr)            # (N,) int64
        self.fanouts = tuple(int(f) for f in fanouts)
        self.source = source
        self._local = np.full(self.degree.shape[0], -1, dtype=np.int64)   # global -> local id scratch
        self._first = np.full(self.degree.shape[0], np.iinfo(np.int64).max, dtype=np.int64)

    def _positions(self, deg: np.ndarray, fanout: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(row, position) of the sampled neighbours: all if deg <= fanout, else Floyd's k-subset."""
        take_all = deg <= fanout
        pos_all = _segment_gather(np.zeros(int(take_all.sum()), np.int64), deg[take_all])
        big = np.flatnonzero(~take_all)
        d = deg[big]
        chosen = np.empty((big.shape[0], fanout), dtype=np.int64)
        u = rng.random((big.shape[0], fanout))
        for s in range(fanout):            # Floyd: for j in [d-k, d): t = rand[0, j]; t if new else j
            j = d - fanout + s
            t = np.minimum((u[:, s] * (j + 1)).astype(np.int64), j)
            dup = (chosen[:, :s] == t[:, None]).any(axis=1)
            chosen[:, s] = np.where(dup, j, t)
        k = np.minimum(deg, fanout)
        optr = np.zeros(deg.shape[0], dtype=np.int64)
        np.cumsum(k[:-1], out=optr[1:])
        rows = np.repeat(np.arange(deg.shape[0], dtype=np.int64), k)
        pos = np.empty(rows.shape[0], dtype=np.int64)
        pos[_segment_gather(optr[take_all], deg[take_all])] = pos_all
        pos[_segment_gather(optr[big], np.full(big.shape[0], fanout, np.int64))] = chosen.reshape(-1)
        return rows, pos

    def sample(self, seeds: np.ndarray, rng: np.random.Generator) -> SampledBatch:
        seeds = np.asarray(seeds, dtype=np.int64)
        if np.unique(seeds).shape[0] != seeds.shape[0]:
            raise ValueError("seed nodes of a batch must be unique")
        local, first = self._local, self._first
        n_id = seeds
        local[seeds] = np.arange(seeds.shape[0])
        sizes = [seeds.shape[0]]
        hops = []
        try:
            for fanout in self.fanouts:
                targets = n_id
                rows, pos = self._positions(self.degree[targets], fanout, rng)
                if hasattr(self.source, "pick"):
                    nbr = self.source.pick(targets, rows, pos)   # (e,) global ids
                else:
                    flat, ptr = self.source.lists(targets)
                    nbr = flat[ptr[rows] + pos]
                cand = nbr[local[nbr] < 0]
                idx = np.arange(cand.shape[0], dtype=np.int64)
                np.minimum.at(first, cand, idx)                  # first occurrence of each new id
                new = cand[first[cand] == idx]
                first[cand] = np.iinfo(np.int64).max
                local[new] = n_id.shape[0] + np.arange(new.shape[0])
                n_id = np.concatenate([n_id, new])
                hops.append((np.stack([local[nbr], rows]), (n_id.shape[0], targets.shape[0])))
                sizes.append(n_id.shape[0])
        finally:
            local[n_id] = -1
        return SampledBatch(n_id=n_id, adjs=hops[::-1], batch_size=int(seeds.shape[0]))


def epoch_batches(train_idx: np.ndarray, batch_size: int, seed: int, epoch: int = 0,
                  max_batches: int | None = None) -> list[np.ndarray]:
    """Shuffled seed batches of one epoch (keyed by (seed, epoch)); the last may be smaller."""
    rng = np.random.default_rng([seed, 0xBA7C, epoch])
    perm = train_idx[rng.permutation(train_idx.shape[0])]
    out = [perm[i:i + batch_size] for i in range(0, perm.shape[0], batch_size)]
    return out[:max_batches] if max_batches is not None else out


def batch_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """RNG of batch ``index`` of ``epoch``: identical for every system, so batches are identical."""
    return np.random.default_rng([seed, 0x5A3B, epoch, index])


# --------------------------------------------------------------------------- run-time files


class TraceError(RuntimeError):
    """A run-time trace file is missing or corrupt (re-run the superbatch sample)."""


def write_superbatch(run_dir: Path, batches: Sequence[SampledBatch], counter: IOCounter | None = None) -> dict:
    """Write ``ids_i.npy`` / ``adj_i.npz`` for each batch and ``index.json`` (sizes + crc32) last."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    index = {"num_batches": len(batches), "files": {}}
    total = 0
    for i, b in enumerate(batches):
        arrays = {f"ei{h}": ei for h, (ei, _) in enumerate(b.adjs)}
        arrays["sizes"] = np.array([s for _, s in b.adjs], dtype=np.int64)
        arrays["batch_size"] = np.array(b.batch_size)
        for name, writer in ((f"ids_{i}.npy", lambda f: np.save(f, b.n_id)),
                             (f"adj_{i}.npz", lambda f: np.savez(f, **arrays))):
            with open(run_dir / name, "wb") as f:
                writer(f)
            data = (run_dir / name).read_bytes()
            index["files"][name] = {"bytes": len(data), "crc32": zlib.crc32(data)}
            total += len(data)
    (run_dir / "index.json").write_text(json.dumps(index))
    if counter is not None:
        counter.add("trace_write", 2 * len(batches), total)
    return index


def sample_superbatch(smp: NeighborSampler, seed_batches: Sequence[np.ndarray], run_dir: Path, *,
                      seed: int, epoch: int, first_index: int = 0,
                      counter: IOCounter | None = None) -> tuple[list[np.ndarray], dict]:
    """Superbatch sample (Ginex's inspector): sample every batch of the superbatch in index order
    (batch ``k`` uses ``batch_rng(seed, epoch, first_index + k)``, so the order is deterministic,
    unlike the original's worker-completion order), write the run-time files, and return the
    ``n_id`` list (the input of :func:`artifact.ginex.belady.plan`) and the file index."""
    batches = [smp.sample(s, batch_rng(seed, epoch, first_index + k)) for k, s in enumerate(seed_batches)]
    index = write_superbatch(run_dir, batches, counter)
    return [b.n_id for b in batches], index


def _read_checked(run_dir: Path, name: str, index: dict, counter: IOCounter | None) -> bytes:
    path = run_dir / name
    meta = index["files"].get(name)
    if meta is None or not path.exists():
        raise TraceError(f"run-time file {path} is missing; re-run the superbatch sample")
    data = path.read_bytes()
    if len(data) != meta["bytes"] or zlib.crc32(data) != meta["crc32"]:
        raise TraceError(f"run-time file {path} is corrupt (size/crc32 mismatch); re-run the superbatch sample")
    if counter is not None:
        counter.add("trace_read", 1, len(data))
    return data


def read_index(run_dir: Path) -> dict:
    path = Path(run_dir) / "index.json"
    if not path.exists():
        raise TraceError(f"{path} is missing: the superbatch sample did not finish; re-run it")
    return json.loads(path.read_text())


def load_ids(run_dir: Path, i: int, index: dict, counter: IOCounter | None = None) -> np.ndarray:
    import io
    return np.load(io.BytesIO(_read_checked(Path(run_dir), f"ids_{i}.npy", index, counter)))


def load_batch(run_dir: Path, i: int, index: dict, counter: IOCounter | None = None) -> SampledBatch:
    """Batch ``i`` of a superbatch written by :func:`write_superbatch` (verified against the index)."""
    import io
    n_id = load_ids(run_dir, i, index, counter)
    z = np.load(io.BytesIO(_read_checked(Path(run_dir), f"adj_{i}.npz", index, counter)))
    sizes = z["sizes"]
    adjs = [(z[f"ei{h}"], (int(sizes[h][0]), int(sizes[h][1]))) for h in range(sizes.shape[0])]
    return SampledBatch(n_id=n_id, adjs=adjs, batch_size=int(z["batch_size"]))
