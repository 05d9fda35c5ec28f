"""Ginex's on-disk dataset and its O_DIRECT I/O path (spec ``papers/ginex.md`` §1.8, §5.1 item 3).

Layout of a dataset folder (``data/generated/ginex/<name>/``), as in Ginex's ``prepare_dataset.py``:

=================  =====================================  =====================================
file               content                                at run time
=================  =====================================  =====================================
``indptr.dat``     CSC column pointer, int64 (N + 1)      kept in RAM
``indices.dat``    CSC in-neighbour ids, int64 (E)        read with O_DIRECT
``features.dat``   float32 (N, F), row-major              read with O_DIRECT
``labels.dat``     int64 (N)                              RAM
``train_idx.dat``  int64 (n_train)                        RAM
``out_degree.dat`` int64 (N)                              RAM (PaGraph / neighbour-cache score)
``manifest.json``  shapes, dtypes, generator parameters, checksums; written last = "complete"
=================  =====================================  =====================================

Every file is zero-padded to a multiple of 4 KiB so every aligned read lies inside the file.
Reads use ``O_DIRECT`` + ``os.preadv`` into page-aligned anonymous-mmap buffers at 4 KiB-aligned
offsets, issued from a thread pool (preadv releases the GIL): a feature row costs one 4 KiB read,
or 8 KiB when it straddles a page (F = 768); a neighbour list costs one read covering its pages.
:class:`IOCounter` records requests and bytes per stage; with O_DIRECT these equal the growth of
``/proc/self/io`` ``read_bytes`` (page-cache hits would not show there, O_DIRECT reads always do).
Building (:func:`build_dataset`) is idempotent and resumable: each file is written under a
temporary name and renamed, features are written in chunks whose progress is recorded, and the
manifest is written last. Checksums: ``crc32`` of the whole file (zlib, 16 MiB chunks; checked with
``verify="full"``) and ``sampled_crc32`` over 64 evenly spaced 64 KiB blocks plus the size (cheap;
checked on every open) -- a sampled checksum catches truncation and most corruption, not all.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
import threading
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from artifact import paths
from artifact.io import atomic_write_json

PAGE = 4096
MAX_CHUNK_BYTES = 32 << 20   # one aligned staging buffer per chunk of requests


class DatasetError(RuntimeError):
    """A dataset folder is missing a file, is corrupt, or was built with other parameters."""


class DiskSpaceError(RuntimeError):
    """Not enough free disk for the requested dataset (checked before writing anything)."""


class ODirectUnavailableError(RuntimeError):
    """The data folder's filesystem does not support O_DIRECT (e.g. tmpfs, some overlay/FUSE mounts)."""


# --------------------------------------------------------------------------- I/O accounting


@dataclass(frozen=True)
class IOStats:
    requests: int = 0
    bytes: int = 0

    def __add__(self, other: "IOStats") -> "IOStats":
        return IOStats(self.requests + other.requests, self.bytes + other.bytes)

    def __sub__(self, other: "IOStats") -> "IOStats":
        return IOStats(self.requests - other.requests, self.bytes - other.bytes)


class IOCounter:
    """Thread-safe read requests / bytes per stage ("sample", "gather", "switch", ...)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: dict[str, IOStats] = {}

    def add(self, stage: str, requests: int, nbytes: int) -> None:
        with self._lock:
            self._stats[stage] = self._stats.get(stage, IOStats()) + IOStats(int(requests), int(nbytes))

    def get(self, stage: str) -> IOStats:
        with self._lock:
            return self._stats.get(stage, IOStats())

    def total(self) -> IOStats:
        with self._lock:
            return sum(self._stats.values(), IOStats())

    def snapshot(self) -> dict[str, IOStats]:
        with self._lock:
            return dict(self._stats)

    def reset(self) -> None:
        with self._lock:
            self._stats.clear()

    def frame(self):
        import pandas as pd
        snap = self.snapshot()
        return pd.DataFrame([{"stage": k, "requests": v.requests, "bytes": v.bytes} for k, v in snap.items()])


def proc_read_bytes() -> int | None:
    """``read_bytes`` of ``/proc/self/io`` (bytes this process caused to be read from storage), or None."""
    try:
        with open("/proc/self/io") as f:
            for line in f:
                if line.startswith("read_bytes:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# --------------------------------------------------------------------------- O_DIRECT probe


def filesystem_of(path: str | os.PathLike) -> tuple[str, str]:
    """(mount point, filesystem type) holding ``path``, from /proc/mounts (("?", "?") if unknown)."""
    path = os.path.realpath(path)
    best = ("?", "?")
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and (path == parts[1] or path.startswith(parts[1].rstrip("/") + "/")):
                    if len(parts[1]) >= len(best[0]) or best[0] == "?":
                        best = (parts[1], parts[2])
    except OSError:
        pass
    return best


def probe_o_direct(directory: str | os.PathLike) -> tuple[bool, str]:
    """Write a 4 KiB file in ``directory`` and read it back with O_DIRECT. Returns (ok, reason)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    probe = directory / f".odirect_probe_{os.getpid()}_{threading.get_ident()}"
    buf = mmap.mmap(-1, PAGE)
    try:
        probe.write_bytes(b"\x5a" * PAGE)
        if not hasattr(os, "O_DIRECT"):
            return False, "this OS has no O_DIRECT"
        fd = os.open(probe, os.O_RDONLY | os.O_DIRECT)
        try:
            n = os.preadv(fd, [buf], 0)
        finally:
            os.close(fd)
        if n != PAGE or buf[:4] != b"\x5a" * 4:
            return False, f"O_DIRECT read returned {n} bytes"
        return True, "ok"
    except OSError as exc:
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        buf.close()
        probe.unlink(missing_ok=True)


def require_o_direct(directory: str | os.PathLike, allow_buffered: bool) -> str:
    """Return the I/O mode ("o_direct" or "buffered") for ``directory``, or raise with the way out."""
    ok, reason = probe_o_direct(directory)
    if ok:
        return "o_direct"
    mount, fstype = filesystem_of(directory)
    msg = (f"O_DIRECT does not work in {directory} (filesystem {fstype} mounted at {mount}: {reason}). "
           f"Put the data on a disk filesystem such as ext4/xfs: set ARTIFACT_GENERATED_DIR (or pass "
           f"root=...) to a folder there, or pass allow_buffered=True to run with buffered reads; "
           f"results are then labelled io_mode='buffered' and page-cache hits hide I/O.")
    if not allow_buffered:
        raise ODirectUnavailableError(msg)
    warnings.warn(msg, RuntimeWarning, stacklevel=2)
    return "buffered"


# --------------------------------------------------------------------------- aligned reads


def page_spans(byte_offsets: np.ndarray, byte_lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """4 KiB-aligned (offset, length) covering each [offset, offset + length), int64 each."""
    start = (byte_offsets // PAGE) * PAGE
    end = -(-(byte_offsets + byte_lengths) // PAGE) * PAGE
    return start.astype(np.int64), (end - start).astype(np.int64)


def row_read_bytes(ids: np.ndarray, row_bytes: int) -> np.ndarray:
    """Bytes read for each feature row miss: 4096, or 8192 when the row straddles a page, int64 (n,)."""
    off = np.asarray(ids, dtype=np.int64) * row_bytes
    return page_spans(off, np.full_like(off, row_bytes))[1]


class AlignedReader:
    """Parallel aligned ``preadv`` of one file (O_DIRECT unless buffered), counted in an IOCounter."""

    def __init__(self, path: Path, pool: ThreadPoolExecutor, n_threads: int, counter: IOCounter,
                 io_mode: str) -> None:
        flags = os.O_RDONLY | (os.O_DIRECT if io_mode == "o_direct" else 0)
        self.path, self.pool, self.n_threads, self.counter = path, pool, n_threads, counter
        self.fd = os.open(path, flags)
        self.size = os.fstat(self.fd).st_size

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _read_slice(self, buf: mmap.mmap, offsets: np.ndarray, lengths: np.ndarray, dst: np.ndarray) -> None:
        view = memoryview(buf)
        fd = self.fd
        for off, ln, d in zip(offsets.tolist(), lengths.tolist(), dst.tolist()):
            n = os.preadv(fd, [view[d:d + ln]], off)
            if n != ln:
                raise DatasetError(f"short read of {self.path} at {off}: {n} of {ln} bytes; the file is "
                                   f"truncated -- rebuild the dataset (delete its folder)")
        view.release()

    def read(self, offsets: np.ndarray, lengths: np.ndarray, stage: str, consume) -> None:
        """Read aligned spans in chunks; call ``consume(chunk_slice, buffer_uint8, dst_offsets)`` per chunk.

        ``offsets``/``lengths`` are multiples of 4096 (int64). Requests run on the thread pool.
        """
        n = offsets.shape[0]
        if n == 0:
            return
        if np.any(offsets % PAGE) or np.any(lengths % PAGE) or np.any(offsets + lengths > self.size):
            raise ValueError(f"unaligned or out-of-file read requested on {self.path}")
        ends = np.cumsum(lengths)
        lo = 0
        while lo < n:
            base = ends[lo] - lengths[lo]
            hi = max(lo + 1, int(np.searchsorted(ends, base + MAX_CHUNK_BYTES, side="right")))
            dst = (ends[lo:hi] - lengths[lo:hi]) - base
            total = int(ends[hi - 1] - base)
            buf = mmap.mmap(-1, total)  # page-aligned, as O_DIRECT needs
            parts = np.array_split(np.arange(lo, hi), min(self.n_threads, hi - lo))
            futures = [self.pool.submit(self._read_slice, buf, offsets[p], lengths[p], dst[p - lo])
                       for p in parts if p.size]
            for f in futures:
                f.result()
            self.counter.add(stage, hi - lo, total)
            arr = np.frombuffer(buf, dtype=np.uint8)
            consume(slice(lo, hi), arr, dst)
            del arr
            buf.close()
            lo = hi


# --------------------------------------------------------------------------- the dataset


def _verify_file(path: Path, meta: dict, full: bool) -> None:
    if not path.exists():
        raise DatasetError(f"{path} is missing; rebuild the dataset: delete {path.parent} and call "
                           f"artifact.ginex.storage.build_dataset(cfg)")
    size = path.stat().st_size
    if size != meta["file_bytes"]:
        raise DatasetError(f"{path} has {size} bytes, manifest says {meta['file_bytes']}; rebuild the "
                           f"dataset: delete {path.parent} and call build_dataset(cfg)")
    got = file_checksums(path, full=full)
    keys = ["sampled_crc32"] + (["crc32"] if full else [])
    for k in keys:
        if got[k] != meta[k]:
            raise DatasetError(f"checksum mismatch in {path} ({k}: {got[k]} != manifest {meta[k]}); the "
                               f"file is corrupt -- delete {path.parent} and call build_dataset(cfg)")


class DiskDataset:
    """An opened Ginex dataset: small arrays in RAM, ``indices`` and ``features`` behind O_DIRECT.

    >>> ds = DiskDataset(build_dataset(cfg), io_threads=16)
    >>> x = ds.read_rows(np.array([3, 17]))            # (2, F) float32, 2 requests under "gather"
    >>> flat, ptr = ds.read_neighbors(np.array([3]))   # in-neighbours of node 3, under "sample"
    """

    def __init__(self, path: str | os.PathLike, *, io_threads: int = 16, allow_buffered: bool = False,
                 verify: str = "sampled", counter: IOCounter | None = None) -> None:
        self.path = Path(path)
        mpath = self.path / "manifest.json"
        if not mpath.exists():
            raise DatasetError(f"{mpath} is missing (dataset not built or build interrupted); call "
                               f"artifact.ginex.storage.build_dataset(cfg) to build or resume it")
        self.manifest = json.loads(mpath.read_text())
        if verify not in ("none", "sampled", "full"):
            raise ValueError(f"verify must be none|sampled|full, got {verify!r}")
        for name, meta in self.manifest["files"].items():
            if verify != "none":
                _verify_file(self.path / name, meta, full=(verify == "full"))
        self.num_nodes = int(self.manifest["num_nodes"])
        self.num_edges = int(self.manifest["num_edges"])
        self.feat_dim = int(self.manifest["feat_dim"])
        self.num_classes = int(self.manifest["params"]["num_classes"])
        self.row_bytes = 4 * self.feat_dim
        self.indptr = self._load_small("indptr.dat")      # (N + 1,) int64
        self.labels = self._load_small("labels.dat")      # (N,) int64
        self.train_idx = self._load_small("train_idx.dat")  # (n_train,) int64
        self.out_degree = self._load_small("out_degree.dat")  # (N,) int64
        self.in_degree = np.diff(self.indptr)             # (N,) int64
        self.io_mode = require_o_direct(self.path, allow_buffered)
        self.counter = counter if counter is not None else IOCounter()
        self.io_threads = int(io_threads)
        self._pool = ThreadPoolExecutor(max_workers=self.io_threads, thread_name_prefix="ginex-io")
        self._features = AlignedReader(self.path / "features.dat", self._pool, self.io_threads,
                                       self.counter, self.io_mode)
        self._indices = AlignedReader(self.path / "indices.dat", self._pool, self.io_threads,
                                      self.counter, self.io_mode)

    # -- small helpers
    def _load_small(self, name: str) -> np.ndarray:
        meta = self.manifest["files"][name]
        count = int(np.prod(meta["shape"]))
        return np.fromfile(self.path / name, dtype=meta["dtype"], count=count).reshape(meta["shape"])

    def close(self) -> None:
        self._features.close()
        self._indices.close()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> "DiskDataset":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def feature_bytes(self) -> int:
        return self.num_nodes * self.row_bytes

    @property
    def num_feature_pages(self) -> int:
        return -(-self.feature_bytes // PAGE)

    @property
    def num_index_pages(self) -> int:
        return -(-self.num_edges * 8 // PAGE)

    def features_memmap(self) -> np.memmap:
        """Buffered read-only view of the features (reference in tests; NOT the measured path)."""
        return np.memmap(self.path / "features.dat", dtype=np.float32, mode="r",
                         shape=(self.num_nodes, self.feat_dim))

    def indices_memmap(self) -> np.memmap:
        return np.memmap(self.path / "indices.dat", dtype=np.int64, mode="r", shape=(self.num_edges,))

    def load_indices(self, stage: str = "load_indices") -> np.ndarray:
        """The whole ``indices`` array in RAM via large sequential O_DIRECT reads (int64 (E,))."""
        pages = self.num_index_pages
        out = np.empty(pages * PAGE // 8, dtype=np.int64)
        step = MAX_CHUNK_BYTES // PAGE
        offs = np.arange(0, pages, step, dtype=np.int64) * PAGE
        lens = np.minimum(step * PAGE, pages * PAGE - offs)

        def consume(sl, buf, dst):
            start = offs[sl.start] // 8
            out[start:start + buf.size // 8] = buf.view(np.int64)
        self._indices.read(offs, lens, stage, consume)
        return out[:self.num_edges]

    # -- the measured read paths
    def read_rows(self, ids: np.ndarray, out: np.ndarray | None = None, stage: str = "gather") -> np.ndarray:
        """Feature rows of ``ids`` via one aligned read each (4 KiB, 8 KiB if straddling): (n, F) float32."""
        ids = np.asarray(ids, dtype=np.int64)
        if out is None:
            out = np.empty((ids.shape[0], self.feat_dim), dtype=np.float32)
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_nodes):
            raise IndexError(f"node ids must be in [0, {self.num_nodes})")
        byte_off = ids * self.row_bytes
        offs, lens = page_spans(byte_off, np.full_like(byte_off, self.row_bytes))
        inner = byte_off - offs
        F = self.feat_dim

        def consume(sl, buf, dst):
            f32 = buf.view(np.float32)
            start = (dst + inner[sl]) // 4
            windows = np.lib.stride_tricks.as_strided(f32, shape=(f32.size - F + 1, F), strides=(4, 4))
            out[sl] = windows[start]
        self._features.read(offs, lens, stage, consume)
        return out

    def read_pages(self, pages: np.ndarray, stage: str = "gather", which: str = "features") -> np.ndarray:
        """Whole 4 KiB pages of ``features.dat`` (or ``indices.dat``): (n, 4096) uint8, one read each."""
        pages = np.asarray(pages, dtype=np.int64)
        out = np.empty((pages.shape[0], PAGE), dtype=np.uint8)
        reader = self._features if which == "features" else self._indices

        def consume(sl, buf, dst):
            out[sl] = buf.reshape(-1, PAGE)
        reader.read(pages * PAGE, np.full_like(pages, PAGE), stage, consume)
        return out

    def read_neighbors(self, nodes: np.ndarray, stage: str = "sample") -> tuple[np.ndarray, np.ndarray]:
        """In-neighbour lists of ``nodes``, one aligned read per non-empty list.

        Returns ``(flat, ptr)``: list k is ``flat[ptr[k]:ptr[k+1]]`` (int64), in the order of ``nodes``.
        """
        nodes = np.asarray(nodes, dtype=np.int64)
        start, stop = self.indptr[nodes], self.indptr[nodes + 1]
        deg = stop - start
        ptr = np.zeros(nodes.shape[0] + 1, dtype=np.int64)
        np.cumsum(deg, out=ptr[1:])
        flat = np.empty(int(ptr[-1]), dtype=np.int64)
        nz = np.flatnonzero(deg > 0)
        offs, lens = page_spans(start[nz] * 8, deg[nz] * 8)
        inner = (start[nz] * 8 - offs) // 8

        def consume(sl, buf, dst):
            i64 = buf.view(np.int64)
            d = deg[nz[sl]]
            first = dst // 8 + inner[sl]
            src = np.repeat(first - np.concatenate(([0], np.cumsum(d)[:-1])), d) + np.arange(d.sum())
            k = nz[sl]
            out_pos = np.repeat(ptr[k] - np.concatenate(([0], np.cumsum(d)[:-1])), d) + np.arange(d.sum())
            flat[out_pos] = i64[src]
        self._indices.read(offs, lens, stage, consume)
        return flat, ptr


# --------------------------------------------------------------------------- building

MANIFEST_VERSION = 1
FEATURE_CHUNK_BYTES = 64 << 20   # features are generated / written / resumed in chunks of this size
_SAMPLE_BLOCKS, _SAMPLE_BLOCK_BYTES = 64, 64 << 10


def file_checksums(path: Path, full: bool = True) -> dict:
    """``sampled_crc32`` (64 evenly spaced 64 KiB blocks + size) and, if ``full``, whole-file ``crc32``."""
    size = path.stat().st_size
    out: dict = {}
    with open(path, "rb") as f:
        crc = zlib.crc32(size.to_bytes(8, "little"))
        last = max(0, size - _SAMPLE_BLOCK_BYTES)
        for off in sorted(set(np.linspace(0, last, _SAMPLE_BLOCKS).astype(np.int64).tolist())):
            f.seek(off)
            crc = zlib.crc32(f.read(_SAMPLE_BLOCK_BYTES), crc)
        out["sampled_crc32"] = crc
        if full:
            f.seek(0)
            crc = 0
            while chunk := f.read(16 << 20):
                crc = zlib.crc32(chunk, crc)
            out["crc32"] = crc
    return out


def dataset_dir(cfg, root: str | os.PathLike | None = None) -> Path:
    return Path(root) / cfg.name if root is not None else paths.generated_dir("ginex", cfg.name)


def _params(cfg) -> dict:
    from . import graph as G
    return dict(graph_scale=cfg.graph_scale, edge_factor=cfg.edge_factor, rmat_abcd=list(cfg.rmat_abcd),
                feat_dim=cfg.feat_dim, num_classes=cfg.num_classes, train_fraction=cfg.train_fraction,
                feature_noise=cfg.feature_noise, seed=cfg.seed, generator="rmat+relabel, no self-loops/dups",
                feature_generator=f"centroid+noise, rng per {G.FEATURE_BLOCK_ROWS}-row block")


def _write_padded(path: Path, arr: np.ndarray) -> None:
    """Write ``arr`` raw, zero-padded to a 4 KiB multiple, atomically (temp name + rename)."""
    tmp = path.with_name(path.name + ".tmp")
    data = np.ascontiguousarray(arr).tobytes()
    with open(tmp, "wb") as f:
        f.write(data)
        f.write(b"\0" * (-len(data) % PAGE))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def build_dataset(cfg, root: str | os.PathLike | None = None, *, progress: bool = True) -> Path:
    """Build the dataset of ``cfg`` under ``data/generated/ginex/<cfg.name>/`` (or ``root/<name>``).

    Idempotent (a complete folder with the same parameters is reused as is) and resumable (graph
    files and feature chunks already written are kept). Free disk space is checked first.
    """
    from tqdm.auto import tqdm

    from . import graph as G

    out = dataset_dir(cfg, root)
    out.mkdir(parents=True, exist_ok=True)
    mpath = out / "manifest.json"
    params = _params(cfg)
    if mpath.exists():
        manifest = json.loads(mpath.read_text())
        if manifest.get("params") != params:
            raise DatasetError(f"{out} holds a dataset built with other parameters "
                               f"({manifest.get('params')}); delete the folder or set dataset_name")
        return out
    n, F = cfg.num_nodes, cfg.feat_dim
    need = n * F * 4 + cfg.edge_factor * n * 8 + 4 * n * 8 + 8 * PAGE
    have = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    free = shutil.disk_usage(out).free
    if need - have > free:
        raise DiskSpaceError(f"building {cfg.name} needs about {(need - have) / 2**30:.2f} GiB more disk in "
                             f"{out}, only {free / 2**30:.2f} GiB free; free space or set ARTIFACT_GENERATED_DIR")
    require_o_direct(out, cfg.allow_buffered)

    state_path = out / "build_state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    if not state.get("graph_done"):
        g = G.rmat_graph(cfg.graph_scale, cfg.edge_factor, cfg.seed, tuple(cfg.rmat_abcd))
        labels = G.node_labels(n, cfg.num_classes, cfg.seed)
        _write_padded(out / "indptr.dat", g.indptr)
        _write_padded(out / "indices.dat", g.indices)
        _write_padded(out / "labels.dat", labels)
        _write_padded(out / "train_idx.dat", G.train_nodes(g, cfg.train_fraction, cfg.seed))
        _write_padded(out / "out_degree.dat", g.out_degree())
        state = {"graph_done": True, "num_edges": g.num_edges, "feature_rows_done": 0,
                 "n_train": int(round(cfg.train_fraction * n))}
        atomic_write_json(state_path, state)
        del g
    labels = np.fromfile(out / "labels.dat", dtype=np.int64, count=n)
    centroids = G.class_centroids(cfg.num_classes, F, cfg.seed)
    partial = out / "features.dat.partial"
    total_bytes = -(-(n * F * 4) // PAGE) * PAGE
    if not (out / "features.dat").exists():
        with open(partial, "ab") as f:
            f.truncate(total_bytes)
        rows_per_chunk = max(1, FEATURE_CHUNK_BYTES // (4 * F))
        done = int(state["feature_rows_done"])
        fd = os.open(partial, os.O_WRONLY)
        try:
            with tqdm(total=n, initial=done, desc=f"features {cfg.name}", unit="row", disable=not progress) as bar:
                for lo in range(done, n, rows_per_chunk):
                    hi = min(n, lo + rows_per_chunk)
                    x = G.feature_chunk(labels, centroids, lo, hi, cfg.feature_noise, cfg.seed)  # (rows, F)
                    os.pwrite(fd, x.tobytes(), lo * F * 4)
                    os.fsync(fd)
                    state["feature_rows_done"] = hi
                    atomic_write_json(state_path, state)
                    bar.update(hi - lo)
        finally:
            os.close(fd)
        os.replace(partial, out / "features.dat")

    E, n_train = int(state["num_edges"]), int(state["n_train"])
    shapes = {"indptr.dat": ("int64", [n + 1]), "indices.dat": ("int64", [E]), "labels.dat": ("int64", [n]),
              "train_idx.dat": ("int64", [n_train]), "out_degree.dat": ("int64", [n]),
              "features.dat": ("float32", [n, F])}
    files = {}
    for name, (dtype, shape) in shapes.items():
        p = out / name
        files[name] = dict(dtype=dtype, shape=shape, file_bytes=p.stat().st_size, **file_checksums(p))
    indeg = np.diff(np.fromfile(out / "indptr.dat", dtype=np.int64, count=n + 1))
    outdeg = np.fromfile(out / "out_degree.dat", dtype=np.int64, count=n)
    manifest = dict(version=MANIFEST_VERSION, name=cfg.name, params=params, num_nodes=n, num_edges=E,
                    feat_dim=F, files=files, layout="raw little-endian, zero-padded to 4 KiB",
                    checksum_method="crc32 (zlib) of the whole file; sampled_crc32 over 64 x 64 KiB blocks + size",
                    stats=dict(isolated_fraction=float(np.mean((indeg == 0) & (outdeg == 0))),
                               zero_in_degree_fraction=float(np.mean(indeg == 0)),
                               max_in_degree=int(indeg.max()), max_out_degree=int(outdeg.max())))
    atomic_write_json(mpath, manifest)
    state_path.unlink(missing_ok=True)
    return out


def open_dataset(cfg, root: str | os.PathLike | None = None, *, build: bool = True,
                 verify: str = "sampled", counter: IOCounter | None = None) -> DiskDataset:
    """Build-if-needed and open the dataset of ``cfg`` with its ``io_threads`` / ``allow_buffered``."""
    path = build_dataset(cfg, root=root) if build else dataset_dir(cfg, root)
    return DiskDataset(path, io_threads=cfg.io_threads, allow_buffered=cfg.allow_buffered,
                       verify=verify, counter=counter)
