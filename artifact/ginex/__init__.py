"""Ginex: SSD-enabled billion-scale GNN training on a single machine via provably optimal in-memory
caching -- Y. Park, S. Min, J. W. Lee, PVLDB 15(11):2626-2639, 2022 (doi:10.14778/3551793.3551819).
Spec: ``papers/ginex.md``. Re-implemented from the paper; no original code is used.

API summary (what to call for what)
-----------------------------------
Config and dataset::

    cfg = Config.for_scale("smoke" | "quick" | "full", **overrides)
    ds = storage.open_dataset(cfg)          # build-or-reuse under data/generated/ginex/<cfg.name>/,
                                            # probe O_DIRECT (allow_buffered=True labels results "buffered")
    ds.indptr, ds.in_degree, ds.out_degree, ds.labels, ds.train_idx   # in RAM (numpy int64)
    ds.read_rows(ids, stage="gather")       # (n, F) float32, one O_DIRECT read per row (4/8 KiB), thread pool
    ds.read_neighbors(nodes, stage="sample")# (flat, ptr) in-neighbour lists, one O_DIRECT read per list
    ds.read_pages(pages, which="features"|"indices")   # raw 4 KiB pages (for page-granular caches)
    ds.counter                              # storage.IOCounter: requests/bytes per stage (.snapshot(), .frame())
    storage.proc_read_bytes()               # /proc/self/io read_bytes (ground truth for O_DIRECT)

Sampling (``sampler``)::

    batches = sampler.epoch_batches(ds.train_idx, cfg.batch_size, cfg.seed, epoch)   # seed arrays
    nc = sampler.NeighborCache.build(ds, budget_bytes)        # static, score out/in-degree, 8 B x N table
    s = sampler.NeighborSampler(ds.indptr, cfg.fanouts, sampler.DiskNeighbors(ds, nc))  # or InMemoryNeighbors
    b = s.sample(seeds, sampler.batch_rng(cfg.seed, epoch, i))  # SampledBatch: n_id (seeds first), adjs (PyG)
    ids, index = sampler.sample_superbatch(s, seed_batches, run_dir, seed=cfg.seed, epoch=e, first_index=k)
    index = sampler.write_superbatch(run_dir, [b0, b1, ...], ds.counter)   # ids_i.npy / adj_i.npz + index.json
    b = sampler.load_batch(run_dir, i, index, ds.counter)     # verified (TraceError if missing/corrupt)

Feature caches (``belady``, ``caches``)::

    p = belady.plan([b.n_id for b in sb], capacity)    # BeladyPlan: initial, changesets[i]=(insert, evict),
                                                       # insert_positions[i], misses per iteration
    cap = caches.feature_cache_capacity(budget_bytes, N, F)    # rows after the 4 B x N int32 table
    fc = caches.FeatureCache(ds, cap); fc.fill(p.initial)      # "switch" (O_DIRECT reads, stage "switch")
    x, cnt = fc.gather(b.n_id)                                 # (n, F) float32 + GatherCounts (counter deltas)
    fc.apply(p, i, x)                                          # changeset i from the batch buffer, no I/O
    lru = caches.PageLRUCache(ds, budget_bytes)                # PyG+ page cache (4 KiB LRU, exact budget,
    x, cnt = lru.gather(ids); flat, ptr = lru.lists(nodes)     #  indices + features); lru is a NeighborSource
    caches.static_plan / caches.batch_lru_plan / caches.superbatch_plans   # PaGraph, batch-LRU, per-superbatch
    caches.simulate_plans / caches.simulate_page_lru           # trace simulators (== live counters, tested)
    caches.run_plans_live(ds, plans, batches, cap)             # live replay of per-superbatch plans

Experiments (``experiments``, one DataFrame per figure; ``plots`` draws them): ``fig5_miss_ratio``,
``fig15_ginex_pg_vs_ginex``, ``bytes_per_policy``, ``io_requests_by_stage``, ``changeset_throughput``,
``belady_optimality``; benchmark: ``python -m artifact.ginex.experiments --scale quick``.
Kick the tires: ``sanity_check()``.

Thread safety: a ``NeighborSampler`` holds scratch arrays (one per thread); ``DiskDataset`` reads are
thread-safe; a ``FeatureCache`` / ``PageLRUCache`` must be used by one thread at a time.
"""

from .config import Config
from .sanity import sanity_check

__all__ = ["Config", "sanity_check"]
