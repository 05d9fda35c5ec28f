"""Synthetic power-law graphs for the Ginex reproduction (spec ``papers/ginex.md`` §3.2, §5.1).

The paper scales real graphs with Kronecker expansion; we generate R-MAT / stochastic Kronecker
graphs with the Graph500 parameters (A, B, C, D) = (0.57, 0.19, 0.19, 0.05), edge factor 16, then
relabel nodes with a random permutation so ids carry no locality (like real datasets). Self-loops
and duplicate edges are removed. Everything is vectorized numpy: scale 20 takes seconds.

CSC layout as in Ginex: for node ``v``, ``indices[indptr[v]:indptr[v+1]]`` are its in-neighbours
(sources of edges ``u -> v``), sorted ascending.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRAPH500_ABCD = (0.57, 0.19, 0.19, 0.05)


@dataclass(frozen=True)
class CSCGraph:
    """In-neighbour (CSC) adjacency: ``indices[indptr[v]:indptr[v+1]]`` are the sources of edges into v."""

    indptr: np.ndarray   # (N + 1,) int64
    indices: np.ndarray  # (E,) int64

    @property
    def num_nodes(self) -> int:
        return int(self.indptr.shape[0] - 1)

    @property
    def num_edges(self) -> int:
        return int(self.indices.shape[0])

    def in_degree(self) -> np.ndarray:
        return np.diff(self.indptr)  # (N,) int64

    def out_degree(self) -> np.ndarray:
        return np.bincount(self.indices, minlength=self.num_nodes).astype(np.int64)  # (N,)

    def neighbors(self, v: int) -> np.ndarray:
        return self.indices[self.indptr[v]:self.indptr[v + 1]]


def rmat_edges(scale: int, edge_factor: int, rng: np.random.Generator,
               abcd: tuple[float, float, float, float] = GRAPH500_ABCD,
               chunk: int = 1 << 22) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``edge_factor * 2**scale`` R-MAT edges (src, dst), int64 each, before any cleaning.

    Each of the ``scale`` bit levels picks one quadrant per edge with probabilities (A, B, C, D):
    A = (0, 0), B = (0, 1), C = (1, 0), D = (1, 1) for (src bit, dst bit).
    """
    a, b, c, d = abcd
    if not np.isclose(a + b + c + d, 1.0):
        raise ValueError(f"R-MAT probabilities must sum to 1, got {abcd}")
    n_edges = edge_factor << scale
    src = np.zeros(n_edges, dtype=np.int64)
    dst = np.zeros(n_edges, dtype=np.int64)
    for lo in range(0, n_edges, chunk):
        hi = min(lo + chunk, n_edges)
        s = np.zeros(hi - lo, dtype=np.uint32)  # scale <= 30 fits in 32 bits
        t = np.zeros(hi - lo, dtype=np.uint32)
        for level in range(scale):
            u = rng.random(hi - lo, dtype=np.float32)
            src_bit = u >= np.float32(a + b)                                        # quadrants C, D
            dst_bit = ((u >= np.float32(a)) & ~src_bit) | (u >= np.float32(a + b + c))  # B, D
            s |= src_bit.astype(np.uint32) << np.uint32(level)
            t |= dst_bit.astype(np.uint32) << np.uint32(level)
        src[lo:hi], dst[lo:hi] = s, t
    return src, dst


def build_csc(src: np.ndarray, dst: np.ndarray, num_nodes: int) -> CSCGraph:
    """CSC of the edge list after dropping self-loops and duplicate edges (neighbour lists sorted)."""
    keep = src != dst
    key = np.sort(dst[keep] * np.int64(num_nodes) + src[keep])  # sorted by (dst, src)
    # dedup by hand: np.unique (numpy >= 2.3) can be ~80x slower than sort on 16 M int64 keys
    key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    dst_sorted = key // num_nodes
    indices = key - dst_sorted * num_nodes
    counts = np.bincount(dst_sorted, minlength=num_nodes)
    indptr = np.zeros(num_nodes + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return CSCGraph(indptr=indptr, indices=indices.astype(np.int64))


def rmat_graph(scale: int, edge_factor: int = 16, seed: int = 0,
               abcd: tuple[float, float, float, float] = GRAPH500_ABCD) -> CSCGraph:
    """R-MAT graph with 2**scale nodes, random relabelling, no self-loops / duplicates, as CSC."""
    rng = np.random.default_rng([seed, 0x6E1E])
    src, dst = rmat_edges(scale, edge_factor, rng, abcd)
    perm = rng.permutation(1 << scale).astype(np.int64)  # random relabelling: ids carry no locality
    return build_csc(perm[src], perm[dst], 1 << scale)


def train_nodes(graph: CSCGraph, fraction: float, seed: int = 0) -> np.ndarray:
    """``round(fraction * N)`` training nodes drawn without replacement from nodes with in-degree > 0.

    Sorted int64. Raises ``ValueError`` when fewer nodes have in-degree > 0 than requested.
    """
    candidates = np.flatnonzero(graph.in_degree() > 0)
    n_train = int(round(fraction * graph.num_nodes))
    if n_train > candidates.size:
        raise ValueError(f"asked for {n_train} training nodes but only {candidates.size} nodes have "
                         f"in-degree > 0; lower train_fraction")
    rng = np.random.default_rng([seed, 0x7EA1])
    return np.sort(rng.choice(candidates, size=n_train, replace=False)).astype(np.int64)


def node_labels(num_nodes: int, num_classes: int, seed: int = 0) -> np.ndarray:
    """Uniform random class per node, int64 (N,)."""
    rng = np.random.default_rng([seed, 0x1AB])
    return rng.integers(0, num_classes, size=num_nodes, dtype=np.int64)


def class_centroids(num_classes: int, feat_dim: int, seed: int = 0) -> np.ndarray:
    """Unit-variance Gaussian class centroids, float32 (C, F)."""
    rng = np.random.default_rng([seed, 0xCE27])
    return rng.standard_normal((num_classes, feat_dim), dtype=np.float32)


FEATURE_BLOCK_ROWS = 256   # RNG stream granularity: features do not depend on how writing is chunked


def feature_chunk(labels: np.ndarray, centroids: np.ndarray, start: int, stop: int,
                  noise: float, seed: int = 0) -> np.ndarray:
    """Rows [start, stop) of the feature matrix: centroid[label] + noise * N(0, 1), float32 (n, F).

    Every block of :data:`FEATURE_BLOCK_ROWS` rows has its own RNG stream, so any chunking (and
    resuming a build) yields the same bytes. The class signal is learnable from the features alone
    (and more reliably with neighbours averaged).
    """
    F = centroids.shape[1]
    out = np.empty((stop - start, F), dtype=np.float32)
    for blk in range(start // FEATURE_BLOCK_ROWS, -(-stop // FEATURE_BLOCK_ROWS)):
        lo, hi = blk * FEATURE_BLOCK_ROWS, (blk + 1) * FEATURE_BLOCK_ROWS
        x = np.random.default_rng([seed, 0xFEA7, blk]).standard_normal((FEATURE_BLOCK_ROWS, F), dtype=np.float32)
        a, b = max(lo, start), min(hi, stop)
        out[a - start:b - start] = x[a - lo:b - lo]
    out *= np.float32(noise)
    out += centroids[labels[start:stop]]
    return out
