"""Kick-the-tires check for Ginex (< 5 s on CPU): the core operations on tiny inputs.

Belady plan vs brute force and vs the heap reference; a tiny on-disk dataset read with O_DIRECT
(rows equal the file, counted bytes equal ``/proc/self/io``); live cache counters equal the
trace simulator.
"""

from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd

from . import belady, caches, sampler, storage
from .config import Config


def sanity_check() -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(0)
    traces = [[rng.choice(6, rng.integers(1, 5), replace=False) for _ in range(5)] for _ in range(20)]
    gap = max(belady.plan(t, 2).total_misses - belady.brute_force_min_misses(t, 2) for t in traces)
    rows.append(("belady misses - brute-force optimum (20 tiny traces, K=2)", gap, 0, gap == 0))
    big = [rng.choice(300, 80, replace=False) for _ in range(25)]
    p = belady.plan(big, 60)
    same = bool(np.array_equal(p.misses, belady.heap_reference(big, 60)))
    rows.append(("belady per-iteration misses == heap reference (25 x 80 ids)", same, True, same))

    cfg = Config.for_scale("smoke", graph_scale=10, feat_dim=32, allow_buffered=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = storage.build_dataset(cfg, root=tmp, progress=False)
        with storage.DiskDataset(path, io_threads=4, allow_buffered=True) as ds:
            ids = rng.choice(ds.num_nodes, 200, replace=False)
            r0 = storage.proc_read_bytes()
            x = ds.read_rows(ids)
            r1 = storage.proc_read_bytes()
            ok = bool(np.array_equal(x, ds.features_memmap()[ids]))
            rows.append((f"{ds.io_mode} rows == file rows (200 ids)", ok, True, ok))
            counted = ds.counter.get("gather").bytes
            if ds.io_mode == "o_direct" and r0 is not None:
                rows.append(("counted bytes == /proc/self/io read_bytes delta", counted, r1 - r0, counted == r1 - r0))
            smp = sampler.NeighborSampler(ds.indptr, (5, 5), sampler.DiskNeighbors(ds))
            batches = [smp.sample(s, sampler.batch_rng(0, 0, i)).n_id
                       for i, s in enumerate(sampler.epoch_batches(ds.train_idx, 20, 0, max_batches=4))]
            cap = caches.feature_cache_capacity(int(0.2 * ds.feature_bytes), ds.num_nodes, ds.feat_dim)
            plans = caches.superbatch_plans("belady", batches, cap, 2)
            ds.counter.reset()
            live = caches.run_plans_live(ds, plans, batches, cap, check_rows=True)
            sim = caches.simulate_plans(plans, batches, ds.row_bytes)
            rows.append(("live Belady cache bytes == trace simulator", live["bytes"], sim["bytes"],
                         live == sim))
    return pd.DataFrame(rows, columns=["check", "value", "expected", "ok"])
