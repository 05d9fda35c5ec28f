"""End-to-end GNN training from disk: the Ginex pipeline and the PyG+ baseline (Ginex §3.1, §5.1).

Both systems train the same :class:`~artifact.ginex.model.GraphSAGE` on the same on-disk dataset
(``indices`` and ``features`` read with ``O_DIRECT``) under the same memory budget ``B`` bytes:

**Ginex** (inspector-executor, spec ``papers/ginex.md`` §1.2-1.3), per superbatch of ``S`` batches:

1. *inspect*: load the static neighbor cache from its file (it lives only during this stage),
   sample the ``S`` batches with ``sample_workers`` threads (Ginex: sampler processes) and write
   their checksummed run-time files (``ids_i``, ``adj_i``); changeset precomputation
   (:func:`artifact.ginex.belady.plan` over the ``ids_i`` read back) writes ``update_i`` =
   (insert, in_positions, evict);
2. *switch*: build the direct-addressed feature cache (``(B - 4N) / 4F`` rows) and read the
   ``init`` rows from disk;
3. *main loop*: a gather thread loads the run-time files of batch ``i+1`` and gathers its rows
   (hits: memcpy from the cache, misses: ``O_DIRECT``) while the main thread runs the model step
   of batch ``i``; the cache update of batch ``i`` (rows taken from its batch buffer, no I/O) is
   applied before the gather of ``i+1`` starts. One gather in flight, as in ``run_ginex.py``.

Memory is time-shared between the neighbor cache and the feature cache as in the paper. The
changeset precomputation runs on the CPU after the superbatch sample (the paper overlaps it, on
the GPU, with the next superbatch's sample); both are timed under *inspect*.

**PyG+** (§3.4): sampling workers (threads) produce batches in order into a bounded queue; a
gather thread overlapped with the model step copies rows through a page-granular LRU of ``B``
bytes shared by the ``indices`` and ``features`` files (the OS page cache with readahead off,
emulated so that the budget is exact); sampling also reads neighbor lists through it.

**Ginex-PG** = Ginex with the static out-degree (PaGraph) feature cache; **Ali+PG** = the PyG+
pipeline with a static neighbor cache and a PaGraph feature cache splitting ``B``.

Building blocks: :mod:`artifact.ginex.pipeline_memory` (feature cache, page cache, run-time files,
re-exported here) and :mod:`artifact.ginex.pipeline_data` (the O_DIRECT data path and sampling
over Ginex I's :mod:`~artifact.ginex.storage` / :mod:`~artifact.ginex.sampler`).

Batches and sampling are keyed by ``(seed, epoch, batch index)`` and dropout by
``model.step_seed``, so every system trains on identical batches and produces identical losses
(tested against an all-in-memory run).
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .model import ModelConfig, build_model, step_seed, to_hops, train_step
from .pipeline_memory import (  # noqa: F401  (re-exported: part of this module's API)
    PAGE, BudgetTooSmallError, FeatureCache, PagedNeighbors, PageLRU, RuntimeDir, RuntimeFileError,
    clean_stale_runtime, feature_cache_rows, gather_via_pages, minimum_budget)
from .sampler import SampledBatch, batch_rng, epoch_batches
from . import storage as _storage

STAGES = ("inspect", "switch", "data_prep", "cache_update", "compute")
"""The paper's Fig. 14 breakdown (transfer is folded into compute: there is no GPU here)."""

SYSTEMS = ("ginex", "pyg_plus", "ginex_pg", "ali_pg", "in_memory")


# ----------------------------------------------------------------------------------- timing


class StageClock:
    """Thread-safe accumulator of seconds per stage (main-thread stages and background busy time)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    def add(self, stage: str, dt: float) -> None:
        with self._lock:
            self.seconds[stage] += dt

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - t0)


def proc_read_bytes() -> int:
    """:func:`storage.proc_read_bytes`, with -1 (not None) when unavailable so deltas stay integers."""
    value = _storage.proc_read_bytes()
    return -1 if value is None else value


# ------------------------------------------------------------------------------ results


@dataclass
class EpochResult:
    """What one epoch of one system did: losses, stage seconds, cache and I/O counters."""

    system: str
    epoch: int
    losses: list[float]
    seconds: dict[str, float]  # main-thread stages (STAGES) + background busy time (*_busy)
    wall_s: float
    n_batches: int
    n_seeds: int
    accesses: int  # feature rows requested by gather
    misses: int  # feature rows read from disk by gather (PyG+: feature pages; accesses = pages touched)
    io: dict[str, tuple[int, int]]  # stage -> (requests, bytes) of O_DIRECT reads
    proc_read_bytes: int  # /proc/self/io read_bytes delta over the epoch (-1 if unavailable)
    runtime_bytes_written: int = 0
    runtime_bytes_read: int = 0
    compute: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def miss_ratio(self) -> float:
        return self.misses / self.accesses if self.accesses else float("nan")

    def row(self) -> dict:
        """Flat dict for a tidy DataFrame (one row per system x epoch)."""
        d = {"system": self.system, "epoch": self.epoch, "compute": self.compute, "wall_s": self.wall_s,
             "miss_unit": "row",
             "n_batches": self.n_batches, "n_seeds": self.n_seeds, "accesses": self.accesses,
             "misses": self.misses, "miss_ratio": self.miss_ratio,
             "mean_loss": float(np.mean(self.losses)) if self.losses else float("nan"),
             "seeds_per_s": self.n_seeds / self.wall_s if self.wall_s else float("nan"),
             "proc_read_bytes": self.proc_read_bytes, "runtime_bytes_written": self.runtime_bytes_written,
             "runtime_bytes_read": self.runtime_bytes_read}
        for s in STAGES:
            d[f"t_{s}"] = self.seconds.get(s, 0.0)
        for s, v in self.seconds.items():
            if s not in STAGES:
                d[f"t_{s}"] = v
        total_req = total_bytes = 0
        for stage, (req, nbytes) in sorted(self.io.items()):
            d[f"io_{stage}_requests"], d[f"io_{stage}_bytes"] = req, nbytes
            total_req, total_bytes = total_req + req, total_bytes + nbytes
        d["io_requests"], d["io_bytes"] = total_req, total_bytes
        d.update(self.extra)
        return d


# ---------------------------------------------------------------------------- main loop


def overlapped_loop(
    n: int,
    gather: Callable[[int], object],
    update: Callable[[int, object], None],
    compute: Callable[[int, object], None],
    clock: StageClock,
) -> None:
    """gather(i+1) runs in a background thread while compute(i) runs here (one gather in flight).

    update(i) runs after gather(i) finished and before gather(i+1) starts (Ginex's cache update
    must precede the next gather). Time the main thread waits for a gather is ``data_prep``.
    """
    if n == 0:
        return
    with ThreadPoolExecutor(1, thread_name_prefix="gather") as pool:
        fut: Future = pool.submit(gather, 0)
        for i in range(n):
            t0 = time.perf_counter()
            data = fut.result()  # re-raises a gather error here
            clock.add("data_prep", time.perf_counter() - t0)
            with clock("cache_update"):
                update(i, data)
            if i + 1 < n:
                fut = pool.submit(gather, i + 1)
            with clock("compute"):
                compute(i, data)


class Trainer:
    """Model + optimiser shared by consecutive epochs of one system (identical init for all systems)."""

    def __init__(self, in_dim: int, num_classes: int, cfg: ModelConfig, seed: int, enabled: bool = True) -> None:
        self.model, self.opt = build_model(in_dim, num_classes, cfg, seed)
        self.seed = seed
        self.enabled = enabled

    def step(self, epoch: int, index: int, x: np.ndarray, batch: SampledBatch, labels: np.ndarray) -> float:
        """Model step of one batch (``nan`` when the model step is removed: data-path-only epochs)."""
        if not self.enabled:
            return float("nan")
        y = labels[batch.n_id[: batch.batch_size]]  # (batch,) int64
        return train_step(self.model, self.opt, x, to_hops(batch.adjs), y, seed=step_seed(self.seed, epoch, index))


@dataclass(frozen=True)
class RunSpec:
    """One training run: budget, batching and model; the same for every system compared."""

    budget_bytes: int  # memory budget B (feature cache / page cache / neighbor cache, address tables included)
    fanouts: tuple[int, ...] = (10, 10, 10)
    batch_size: int = 1000
    superbatch_size: int = 35  # S (Ginex)
    max_batches: int | None = None  # per epoch
    epochs: int = 1
    seed: int = 0
    model: ModelConfig = ModelConfig()
    compute: bool = True  # False: model step removed (data-path-only epoch)
    sample_workers: int = 2  # PyG+ sampling threads
    prefetch: int = 4  # PyG+ sampled batches in flight
    neighbor_share: float = 0.5  # Ali+PG: fraction of B for the static neighbor cache
    gather_chunk: int = 8192  # rows per page-cache gather call (bounds index memory)

    def __post_init__(self) -> None:
        if self.budget_bytes <= 0:
            raise BudgetTooSmallError(f"budget_bytes must be > 0, got {self.budget_bytes}")
        if not 0.0 <= self.neighbor_share <= 1.0:
            raise ValueError(f"neighbor_share must be in [0, 1], got {self.neighbor_share}")
        if self.superbatch_size < 1:
            raise ValueError(f"superbatch_size must be >= 1, got {self.superbatch_size}")


def static_feature_ids(out_degree: np.ndarray, capacity: int) -> np.ndarray:
    """PaGraph's static policy: the ``capacity`` nodes of highest out-degree (ties by id)."""
    order = np.lexsort((np.arange(len(out_degree)), -np.asarray(out_degree)))
    return np.sort(order[:capacity]).astype(np.int64)


def _epoch_frame(ds, spec: RunSpec, epoch: int) -> tuple[list[np.ndarray], StageClock, dict, int, float]:
    return (epoch_batches(ds.train_ids, spec.batch_size, spec.seed, epoch, spec.max_batches), StageClock(),
            ds.io_counts(), proc_read_bytes(), time.perf_counter())


def _io_delta(before: dict, after: dict) -> dict[str, tuple[int, int]]:
    out = {}
    for stage, (req, nbytes) in after.items():
        r0, b0 = before.get(stage, (0, 0))
        if req - r0 or nbytes - b0:
            out[stage] = (req - r0, nbytes - b0)
    return out


def ginex_epoch(ds, spec: RunSpec, trainer: Trainer, epoch: int, runtime_root: Path, policy: str = "belady",
                fault: Callable[[str, int], None] | None = None) -> EpochResult:
    """One Ginex (``policy="belady"``) or Ginex-PG (``policy="static"``) epoch; see module docstring."""
    from .belady import plan as belady_plan

    if policy not in ("belady", "static"):
        raise ValueError(f"policy must be 'belady' or 'static', got {policy!r}")
    n_nodes, dim = ds.num_nodes, ds.dim
    if spec.budget_bytes < minimum_budget(n_nodes, dim):
        raise BudgetTooSmallError(
            f"budget {spec.budget_bytes} B is smaller than Ginex's address tables (int64 neighbor-cache table "
            f"8 B x {n_nodes} nodes; int32 feature-cache table 4 B x {n_nodes} + one row); the minimum budget is "
            f"{minimum_budget(n_nodes, dim)} B")
    capacity = feature_cache_rows(spec.budget_bytes, n_nodes, dim)
    batches, clock, io0, rb0, t0 = _epoch_frame(ds, spec, epoch)
    losses: list[float] = []
    accesses = misses = rt_w = rt_r = 0
    static_ids = static_feature_ids(ds.out_degree, capacity) if policy == "static" else None
    S = spec.superbatch_size
    for k, lo in enumerate(range(0, len(batches), S)):
        idx = list(range(lo, min(lo + S, len(batches))))
        rd = RuntimeDir(Path(runtime_root) / f"e{epoch}_sb{k}")
        # 1. inspect: superbatch sample with the neighbor cache (alive only here) + changesets
        with clock("inspect"):
            neighbors = ds.neighbor_cache(spec.budget_bytes, stage="inspect")  # time-shared: all of B
            with ThreadPoolExecutor(spec.sample_workers, thread_name_prefix="sb-sampler") as samplers:
                sampled = samplers.map(
                    lambda gi: ds.sample(batches[gi], spec.fanouts, batch_rng(spec.seed, epoch, gi), neighbors), idx)
                for j, batch in enumerate(sampled):  # in batch order, while the workers sample ahead
                    rd.write_batch(j, batch)
                    if fault:
                        fault("inspect", j)
            del neighbors
            t_cs = time.perf_counter()
            ids_list = [rd.read_ids(j) for j in range(len(idx))]  # stream ids_i back from disk
            if policy == "belady":
                plan = belady_plan(ids_list, capacity)
                initial = np.asarray(plan.initial, dtype=np.int64)
                for j, (ins, ev) in enumerate(plan.changesets):
                    rd.write_update(j, ins, plan.insert_positions[j], ev)
            else:
                initial = static_ids
            rd.write_manifest()
            clock.add("changeset", time.perf_counter() - t_cs)  # part of inspect (Belady's own cost)
        # 2. switch: the feature cache replaces the neighbor cache in memory
        with clock("switch"):
            cache = FeatureCache(n_nodes, dim, capacity)
            cache.fill(initial, ds.read_rows(initial, stage="switch"))
        counts = {"acc": 0, "miss": 0}

        def gather(j: int):
            t = time.perf_counter()
            batch = rd.read_batch(j)
            upd = rd.read_update(j) if policy == "belady" else None
            slots = cache.lookup(batch.n_id)
            hit = slots >= 0
            buf = np.empty((len(batch.n_id), dim), dtype=np.float32)  # (n, F) batch buffer
            buf[hit] = cache.rows[slots[hit]]
            miss_ids = batch.n_id[~hit]
            if len(miss_ids):
                buf[~hit] = ds.read_rows(miss_ids, stage="gather")
            counts["acc"] += len(batch.n_id)
            counts["miss"] += len(miss_ids)
            if fault:
                fault("gather", j)
            clock.add("gather_busy", time.perf_counter() - t)
            return batch, buf, upd

        def update(j: int, data) -> None:
            _, buf, upd = data
            if upd is not None:
                cache.apply(buf, *upd)

        def compute(j: int, data) -> None:
            batch, buf, _ = data
            losses.append(trainer.step(epoch, idx[j], buf, batch, ds.labels))

        overlapped_loop(len(idx), gather, update, compute, clock)
        accesses, misses = accesses + counts["acc"], misses + counts["miss"]
        rt_w, rt_r = rt_w + rd.bytes_written, rt_r + rd.bytes_read
        del cache
        rd.remove()
    return EpochResult("ginex" if policy == "belady" else "ginex_pg", epoch, losses, dict(clock.seconds),
                       time.perf_counter() - t0, len(batches), int(sum(len(b) for b in batches)), accesses, misses,
                       _io_delta(io0, ds.io_counts()), _rb_delta(rb0), rt_w, rt_r, spec.compute,
                       {"feature_cache_rows": capacity, "superbatches": -(-len(batches) // S)})


def _rb_delta(rb0: int) -> int:
    rb1 = proc_read_bytes()
    return rb1 - rb0 if rb0 >= 0 and rb1 >= 0 else -1


def _producer_consumer_epoch(ds, spec: RunSpec, trainer: Trainer, epoch: int, system: str,
                             neighbors, gather_rows: Callable[[np.ndarray], tuple[np.ndarray, int]],
                             counters: Callable[[], dict]) -> EpochResult:
    """PyG-style pipeline: sampling threads -> in-order queue -> gather thread || model step."""
    batches, clock, io0, rb0, t0 = _epoch_frame(ds, spec, epoch)
    losses: list[float] = []
    n = len(batches)
    stats = {"acc": 0, "miss": 0}
    c0 = counters()

    def sample(i: int) -> SampledBatch:
        t = time.perf_counter()
        b = ds.sample(batches[i], spec.fanouts, batch_rng(spec.seed, epoch, i), neighbors)
        clock.add("sample_busy", time.perf_counter() - t)
        return b

    with ThreadPoolExecutor(spec.sample_workers, thread_name_prefix="sampler") as samplers:
        futs = {i: samplers.submit(sample, i) for i in range(min(spec.prefetch, n))}

        def gather(i: int):
            batch = futs.pop(i).result()
            if i + spec.prefetch < n:
                futs[i + spec.prefetch] = samplers.submit(sample, i + spec.prefetch)
            t = time.perf_counter()
            buf, miss = gather_rows(batch.n_id)
            stats["acc"] += len(batch.n_id)
            stats["miss"] += miss
            clock.add("gather_busy", time.perf_counter() - t)
            return batch, buf

        def compute(i: int, data) -> None:
            batch, buf = data
            losses.append(trainer.step(epoch, i, buf, batch, ds.labels))

        overlapped_loop(n, gather, lambda i, d: None, compute, clock)
    c1 = counters()
    extra = {k: c1[k] - c0.get(k, 0) for k in c1}
    return EpochResult(system, epoch, losses, dict(clock.seconds), time.perf_counter() - t0, n,
                       int(sum(len(b) for b in batches)), stats["acc"], stats["miss"], _io_delta(io0, ds.io_counts()),
                       _rb_delta(rb0), compute=spec.compute, extra=extra)


def pyg_plus_epoch(ds, spec: RunSpec, trainer: Trainer, epoch: int, pages: PageLRU) -> EpochResult:
    """PyG+: sampling and gathering through one page-granular LRU of ``B`` bytes."""
    row_bytes = ds.dim * 4

    neighbors = PagedNeighbors(ds.indptr, pages)

    def gather_rows(n_id: np.ndarray) -> tuple[np.ndarray, int]:
        buf = np.empty((len(n_id), ds.dim), dtype=np.float32)
        m0 = pages.misses["features"]
        for lo in range(0, len(n_id), spec.gather_chunk):
            ids = n_id[lo : lo + spec.gather_chunk]
            _, flat = gather_via_pages(pages, "features", ids * row_bytes, np.full(len(ids), row_bytes), np.float32)
            buf[lo : lo + len(ids)] = flat.reshape(len(ids), ds.dim)
        return buf, pages.misses["features"] - m0  # pages missed (approx.; other threads share the counter)

    def counters() -> dict:
        return {"page_accesses_features": pages.accesses["features"], "page_misses_features": pages.misses["features"],
                "page_accesses_indices": pages.accesses["indices"], "page_misses_indices": pages.misses["indices"]}

    res = _producer_consumer_epoch(ds, spec, trainer, epoch, "pyg_plus", neighbors, gather_rows, counters)
    # the page cache's miss ratio (paper Fig. 4b): feature pages missed / feature pages touched
    res.accesses, res.misses = res.extra["page_accesses_features"], res.extra["page_misses_features"]
    res.extra["miss_unit"] = "page"
    return res


def ali_pg_epoch(ds, spec: RunSpec, trainer: Trainer, epoch: int) -> EpochResult:
    """Ali+PG-style: PyG+ pipeline, static neighbor cache (share of B) + PaGraph feature cache (rest)."""
    nc_budget = int(spec.budget_bytes * spec.neighbor_share)
    fc_budget = spec.budget_bytes - nc_budget
    # loading both static caches is part of the epoch (time and I/O labelled "switch")
    t_load, io_before, rb_before = time.perf_counter(), ds.io_counts(), proc_read_bytes()
    if nc_budget >= 8 * ds.num_nodes:
        neighbors = ds.neighbor_cache(nc_budget, stage="sample")
    else:  # too small for the address table: no neighbor cache at all (the 0:100 split)
        from .sampler import DiskNeighbors

        neighbors = DiskNeighbors(ds.ds, None, stage="sample")
    capacity = max(0, (fc_budget - 4 * ds.num_nodes) // (4 * ds.dim))
    cache = FeatureCache(ds.num_nodes, ds.dim, max(capacity, 1))
    if capacity > 0:
        ids = static_feature_ids(ds.out_degree, capacity)
        cache.fill(ids, ds.read_rows(ids, stage="switch"))

    def gather_rows(n_id: np.ndarray) -> tuple[np.ndarray, int]:
        slots = cache.lookup(n_id)
        hit = slots >= 0
        buf = np.empty((len(n_id), ds.dim), dtype=np.float32)
        buf[hit] = cache.rows[slots[hit]]
        if (~hit).any():
            buf[~hit] = ds.read_rows(n_id[~hit], stage="gather")
        return buf, int((~hit).sum())

    load_s, io_load, rb_load = time.perf_counter() - t_load, _io_delta(io_before, ds.io_counts()), _rb_delta(rb_before)
    res = _producer_consumer_epoch(ds, spec, trainer, epoch, "ali_pg", neighbors, gather_rows, lambda: {})
    res.seconds["switch"] = res.seconds.get("switch", 0.0) + load_s
    res.wall_s += load_s
    res.io["switch"] = tuple(map(sum, zip(*io_load.values()))) if io_load else (0, 0)
    res.proc_read_bytes = res.proc_read_bytes + rb_load if min(res.proc_read_bytes, rb_load) >= 0 else -1
    res.extra.update({"neighbor_share": spec.neighbor_share, "feature_cache_rows": capacity})
    return res


def in_memory_epoch(ds, spec: RunSpec, trainer: Trainer, epoch: int, features: np.ndarray, indices: np.ndarray) -> EpochResult:
    """Reference: graph and features fully in RAM, no overlap, no I/O (the semantics to match)."""
    batches, clock, io0, rb0, t0 = _epoch_frame(ds, spec, epoch)

    neighbors = ds.in_memory_neighbors(indices)

    losses = []
    acc = 0
    for i, seeds in enumerate(batches):
        with clock("data_prep"):
            batch = ds.sample(seeds, spec.fanouts, batch_rng(spec.seed, epoch, i), neighbors)
            x = features[batch.n_id]  # (n, F)
            acc += len(batch.n_id)
        with clock("compute"):
            losses.append(trainer.step(epoch, i, x, batch, ds.labels))
    return EpochResult("in_memory", epoch, losses, dict(clock.seconds), time.perf_counter() - t0, len(batches),
                       int(sum(len(b) for b in batches)), acc, 0, _io_delta(io0, ds.io_counts()), _rb_delta(rb0),
                       compute=spec.compute)


def run_system(ds, system: str, spec: RunSpec, runtime_root: Path | None = None, progress: bool = False,
               fault: Callable[[str, int], None] | None = None) -> list[EpochResult]:
    """Train ``spec.epochs`` epochs of ``system`` (one of :data:`SYSTEMS`) from a fresh model.

    Stale run-time files of an interrupted earlier run under ``runtime_root`` are removed first.
    """
    from tqdm.auto import tqdm

    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r}; choose one of {SYSTEMS}")
    trainer = Trainer(ds.dim, ds.num_classes, spec.model, spec.seed, enabled=spec.compute)
    results = []
    pages = None
    if system == "pyg_plus":  # same accounting as the cache study: 4 B/file page + (4096 + 16) B/resident page
        from .caches import page_cache_capacity

        try:
            cap = page_cache_capacity(spec.budget_bytes, ds.ds.num_feature_pages + ds.ds.num_index_pages)
        except ValueError as e:
            raise BudgetTooSmallError(str(e)) from e
        pages = PageLRU(cap, ds.read_pages)
    mem = (ds.load_features(), ds.load_indices()) if system == "in_memory" else None
    nc_budget = spec.budget_bytes if system != "ali_pg" else int(spec.budget_bytes * spec.neighbor_share)
    if system in ("ginex", "ginex_pg", "ali_pg") and nc_budget >= 8 * ds.num_nodes:
        ds.prepare_neighbor_cache(nc_budget)  # offline preprocessing: dump the neighbor cache
    if system in ("ginex", "ginex_pg"):
        if runtime_root is None:
            raise ValueError("Ginex needs a runtime_root folder for its run-time files")
        clean_stale_runtime(runtime_root)
    for epoch in tqdm(range(spec.epochs), desc=system, disable=not progress):
        if system == "ginex":
            r = ginex_epoch(ds, spec, trainer, epoch, runtime_root, "belady", fault)
        elif system == "ginex_pg":
            r = ginex_epoch(ds, spec, trainer, epoch, runtime_root, "static", fault)
        elif system == "pyg_plus":
            r = pyg_plus_epoch(ds, spec, trainer, epoch, pages)
        elif system == "ali_pg":
            r = ali_pg_epoch(ds, spec, trainer, epoch)
        else:
            r = in_memory_epoch(ds, spec, trainer, epoch, *mem)
        results.append(r)
    return results
