"""Ginex experiments, one function per paper figure/table (cache part; spec ``papers/ginex.md`` §2, §5).

Each function takes a :class:`~artifact.ginex.config.Config` (plus an optional opened dataset and
sampled trace, so a notebook samples an epoch once) and returns a tidy ``pandas.DataFrame``:

* :func:`fig5_miss_ratio` -- Fig. 5: feature-cache miss ratio vs cached fraction, PaGraph
  (static top out-degree) vs Belady (whole epoch known), plus Belady per superbatch and a
  batch-granular LRU; trace simulation (hardware independent).
* :func:`fig15_ginex_pg_vs_ginex` -- Fig. 15: Ginex-PG vs Ginex miss ratio at the configured byte
  budget and superbatch size (cache rebuilt every superbatch, as in Ginex).
* :func:`bytes_per_policy` -- live replay with real O_DIRECT reads at one byte budget: requests,
  bytes, ``/proc/self/io`` delta, simulator prediction, achieved IOPS, per policy (incl. PyG+).
* :func:`changeset_throughput` -- changeset precomputation speed (node accesses / s, one core).
* :func:`io_requests_by_stage` -- §2.3: I/O requests of gather vs sample in the PyG+ pipeline.

The training pipelines (issue Ginex II) append their functions at the end of this module.
"""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from artifact.io import atomic_write_bytes

from . import belady, caches, sampler, storage
from .config import Config


def open_data(cfg: Config) -> storage.DiskDataset:
    """Build-if-needed and open the dataset of ``cfg`` (O_DIRECT probed)."""
    return storage.open_dataset(cfg)


def budget_bytes(cfg: Config, ds: storage.DiskDataset, fraction: float | None = None) -> int:
    """Feature-cache byte budget: ``fraction`` (default ``cfg.feature_cache_fraction``) of the feature file."""
    return int((cfg.feature_cache_fraction if fraction is None else fraction) * ds.feature_bytes)


def epoch_trace(cfg: Config, ds: storage.DiskDataset | None = None, epoch: int = 0) -> list[np.ndarray]:
    """Unique node ids gathered by each batch of one epoch (``n_id`` of the sampler), cached on disk.

    Sampling reads ``indices`` once into RAM (sequential O_DIRECT) -- the batches are identical to
    sampling from disk (same RNG per batch), see ``tests/ginex/test_sampler.py``.
    """
    ds = ds or open_data(cfg)
    key = json.dumps([cfg.batch_size, list(cfg.fanouts), cfg.seed, epoch, cfg.max_batches, "v1"])
    path = ds.path / "traces" / f"epoch_{hashlib.sha1(key.encode()).hexdigest()[:12]}.npz"
    if path.exists():
        z = np.load(path)
        return [z[f"b{i}"] for i in range(int(z["n"]))]
    smp = sampler.NeighborSampler(ds.indptr, cfg.fanouts,
                                  sampler.InMemoryNeighbors(ds.indptr, ds.load_indices(stage="trace_indices")))
    seeds = sampler.epoch_batches(ds.train_idx, cfg.batch_size, cfg.seed, epoch, cfg.max_batches)
    trace = [smp.sample(s, sampler.batch_rng(cfg.seed, epoch, i)).n_id
             for i, s in enumerate(tqdm(seeds, desc="sample epoch", unit="batch"))]
    import io
    buf = io.BytesIO()
    np.savez(buf, n=len(trace), **{f"b{i}": t for i, t in enumerate(trace)})
    atomic_write_bytes(path, buf.getvalue())
    return trace


def dataset_summary(cfg: Config, ds: storage.DiskDataset | None = None) -> pd.DataFrame:
    ds = ds or open_data(cfg)
    st = ds.manifest["stats"]
    return pd.DataFrame([dict(dataset=cfg.name, nodes=ds.num_nodes, edges=ds.num_edges, feat_dim=ds.feat_dim,
                              feature_bytes=ds.feature_bytes, index_bytes=8 * ds.num_edges,
                              train_nodes=ds.train_idx.size, isolated_fraction=st["isolated_fraction"],
                              max_in_degree=st["max_in_degree"], io_mode=ds.io_mode)])


def _row(policy: str, res: dict, **extra) -> dict:
    acc = max(1, res["accesses"])
    return dict(policy=policy, accesses=res["accesses"], misses=res["misses"], miss_ratio=res["misses"] / acc,
                requests=res["requests"], bytes=res["bytes"],
                init_requests=res.get("init_requests", 0), init_bytes=res.get("init_bytes", 0),
                miss_ratio_incl_init=(res["misses"] + res.get("init_requests", 0)) / acc, **extra)


def fig5_miss_ratio(cfg: Config, *, ds: storage.DiskDataset | None = None,
                    trace: list[np.ndarray] | None = None) -> pd.DataFrame:
    """Miss ratio vs cached fraction of nodes (Fig. 5): PaGraph vs Belady (+ Belady/superbatch, batch LRU)."""
    ds = ds or open_data(cfg)
    trace = trace if trace is not None else epoch_trace(cfg, ds)
    rows = []
    for frac in tqdm(cfg.cache_fractions, desc="Fig. 5 fractions"):
        cap = max(1, int(frac * ds.num_nodes))
        plans = {
            "PaGraph (static out-degree)": [caches.static_plan(ds.out_degree, cap, trace)],
            "Belady (whole epoch)": [belady.plan(trace, cap)],
            f"Belady (superbatch S={cfg.superbatch_size})":
                caches.superbatch_plans("belady", trace, cap, cfg.superbatch_size),
            "LRU (batch-granular)": [caches.batch_lru_plan(trace, cap, ds.num_nodes)],
        }
        for name, p in plans.items():
            rows.append(_row(name, caches.simulate_plans(p, trace, ds.row_bytes), cached_fraction=frac,
                             capacity_rows=cap))
    return pd.DataFrame(rows)


def fig15_ginex_pg_vs_ginex(cfg: Config, *, ds: storage.DiskDataset | None = None,
                            trace: list[np.ndarray] | None = None,
                            superbatch_sizes: tuple[int, ...] | None = None) -> pd.DataFrame:
    """Ginex-PG (static policy in the Ginex pipeline) vs Ginex (Belady), cache rebuilt per superbatch."""
    ds = ds or open_data(cfg)
    trace = trace if trace is not None else epoch_trace(cfg, ds)
    cap = caches.feature_cache_capacity(budget_bytes(cfg, ds), ds.num_nodes, ds.feat_dim)
    sizes = superbatch_sizes or tuple(sorted({max(1, cfg.superbatch_size // 4), cfg.superbatch_size, len(trace)}))
    rows = []
    for S in sizes:
        for name, pol in (("Ginex-PG", "static"), ("Ginex", "belady")):
            plans = caches.superbatch_plans(pol, trace, cap, S, ds.out_degree)
            rows.append(_row(name, caches.simulate_plans(plans, trace, ds.row_bytes), superbatch_size=S,
                             capacity_rows=cap, budget_bytes=budget_bytes(cfg, ds),
                             cached_fraction=cap / ds.num_nodes))
    return pd.DataFrame(rows)


def bytes_per_policy(cfg: Config, *, ds: storage.DiskDataset | None = None,
                     trace: list[np.ndarray] | None = None) -> pd.DataFrame:
    """Live gather of the first ``cfg.live_batches`` batches through each policy at one byte budget,
    with real O_DIRECT reads: counters vs simulator vs ``/proc/self/io``, time and IOPS."""
    ds = ds or open_data(cfg)
    trace = (trace if trace is not None else epoch_trace(cfg, ds))[:cfg.live_batches]
    B = budget_bytes(cfg, ds)
    cap = caches.feature_cache_capacity(B, ds.num_nodes, ds.feat_dim)
    S = cfg.superbatch_size
    node_policies = {
        "Ginex (Belady per superbatch)": caches.superbatch_plans("belady", trace, cap, S),
        "Ginex-PG (static per superbatch)": caches.superbatch_plans("static", trace, cap, S, ds.out_degree),
        "PaGraph (static, filled once)": [caches.static_plan(ds.out_degree, cap, trace)],
        "LRU (batch-granular)": [caches.batch_lru_plan(trace, cap, ds.num_nodes)],
    }
    rows = []
    for name, plans in tqdm(node_policies.items(), desc="live policies"):
        sim = caches.simulate_plans(plans, trace, ds.row_bytes)
        ds.counter.reset()
        r0, t0 = storage.proc_read_bytes(), time.perf_counter()
        live = caches.run_plans_live(ds, plans, trace, cap)
        dt, r1 = time.perf_counter() - t0, storage.proc_read_bytes()
        rows.append(_row(name, live, seconds=dt, proc_read_bytes=(r1 - r0) if r0 is not None else np.nan,
                         sim_bytes=sim["bytes"] + sim["init_bytes"], agrees_with_simulator=(live == sim),
                         cache_bytes=4 * ds.num_nodes + cap * ds.row_bytes))
    sim = caches.simulate_page_lru(trace, ds.row_bytes, B, ds.num_feature_pages)
    lru = caches.PageLRUCache(ds, B, include_indices=False)
    ds.counter.reset()
    r0, t0 = storage.proc_read_bytes(), time.perf_counter()
    tot = caches.GatherCounts()
    for b in tqdm(trace, desc="PyG+ page LRU", leave=False):
        tot += lru.gather(b)[1]
    dt, r1 = time.perf_counter() - t0, storage.proc_read_bytes()
    live = dict(accesses=tot.accesses, misses=tot.misses, requests=tot.requests, bytes=tot.bytes)
    rows.append(_row("PyG+ (4 KiB page LRU)", live, seconds=dt,
                     proc_read_bytes=(r1 - r0) if r0 is not None else np.nan, sim_bytes=sim["bytes"],
                     agrees_with_simulator=all(live[k] == sim[k] for k in live), cache_bytes=lru.nbytes))
    df = pd.DataFrame(rows)
    df["total_bytes"] = df["bytes"] + df["init_bytes"]
    df["iops"] = (df["requests"] + df["init_requests"]) / df["seconds"]
    df["budget_bytes"], df["batches"], df["io_mode"] = B, len(trace), ds.io_mode
    return df


def changeset_throughput(cfg: Config, *, ds: storage.DiskDataset | None = None,
                         trace: list[np.ndarray] | None = None, repeats: int = 3,
                         backend: str = "numpy", device: str | None = None) -> pd.DataFrame:
    """Changeset precomputation (``belady.plan``) speed per superbatch: node accesses / s on one core.

    Reports wall time and the calling thread's CPU time (best of ``repeats``); on a shared machine
    the CPU-time rate is the fair "one core" number, the wall-time rate what a run actually saw.
    ``backend="torch", device="cuda"`` times :func:`belady.plan_torch` on a GPU (needs GPU).
    """
    ds = ds or open_data(cfg)
    trace = trace if trace is not None else epoch_trace(cfg, ds)
    if backend == "numpy":
        run = belady.plan
    elif backend == "torch":   # the GPU path of the paper (needs a CUDA device to be meaningful)
        import torch

        def run(chunk, cap):
            belady.plan_torch(chunk, cap, device=device)
            if device and str(device).startswith("cuda"):
                torch.cuda.synchronize()
    else:
        raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
    rows = []
    for frac in sorted({cfg.feature_cache_fraction, 0.05, 0.3}):
        cap = caches.feature_cache_capacity(budget_bytes(cfg, ds, frac), ds.num_nodes, ds.feat_dim)
        for lo in range(0, len(trace), cfg.superbatch_size):
            chunk = trace[lo:lo + cfg.superbatch_size]
            best, best_cpu = np.inf, np.inf
            for _ in range(repeats):
                t0, c0 = time.perf_counter(), time.thread_time()
                run(chunk, cap)
                best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.thread_time() - c0)
            acc = int(sum(len(b) for b in chunk))
            rows.append(dict(budget_fraction=frac, capacity_rows=cap, superbatch_start=lo, batches=len(chunk),
                             accesses=acc, seconds=best, cpu_seconds=best_cpu, accesses_per_s=acc / best,
                             accesses_per_cpu_s=acc / best_cpu))
    return pd.DataFrame(rows).assign(backend=backend, device=str(device or "cpu"))


def io_requests_by_stage(cfg: Config, *, ds: storage.DiskDataset | None = None) -> pd.DataFrame:
    """§2.3: PyG+ reads far more in gather than in sample. Sampling and gathering of the first
    ``max(2, cfg.live_batches // 2)`` batches both go through one 4 KiB-page LRU over ``indices`` +
    ``features`` (the budget is shared, as in the OS page cache)."""
    ds = ds or open_data(cfg)
    lru = caches.PageLRUCache(ds, budget_bytes(cfg, ds), include_indices=True)
    smp = sampler.NeighborSampler(ds.indptr, cfg.fanouts, lru)
    seeds = sampler.epoch_batches(ds.train_idx, cfg.batch_size, cfg.seed, 0, max(2, cfg.live_batches // 2))
    ds.counter.reset()
    for i, s in enumerate(tqdm(seeds, desc="PyG+ sample+gather", leave=False)):
        b = smp.sample(s, sampler.batch_rng(cfg.seed, 0, i))
        lru.gather(b.n_id)
    g, sa = ds.counter.get("gather"), ds.counter.get("sample")
    return pd.DataFrame([dict(stage="sample", requests=sa.requests, bytes=sa.bytes),
                         dict(stage="gather", requests=g.requests, bytes=g.bytes)]).assign(
        batches=len(seeds), budget_bytes=budget_bytes(cfg, ds), io_mode=ds.io_mode)


def belady_optimality(cfg: Config, trials: int = 200) -> pd.DataFrame:
    """§3.3: Belady-with-bypass misses minus the exhaustive optimum on random tiny traces, and
    per-iteration agreement with the heap reference on larger ones."""
    rng = np.random.default_rng([cfg.seed, 0x0B7])
    rows = []
    for t in range(trials):
        n_ids, S, K = int(rng.integers(2, 7)), int(rng.integers(1, 8)), int(rng.integers(1, 4))
        tr = [rng.choice(n_ids, int(rng.integers(0, n_ids + 1)), replace=False) for _ in range(S)]
        p = belady.plan(tr, K)
        rows.append(dict(kind="brute force", trial=t, ids=n_ids, iterations=S, capacity=K,
                         misses=p.total_misses, reference=belady.brute_force_min_misses(tr, K)))
    for t in range(trials // 10):
        tr = [rng.choice(400, int(rng.integers(1, 150)), replace=False) for _ in range(30)]
        K = int(rng.integers(1, 200))
        p = belady.plan(tr, K)
        ref = belady.heap_reference(tr, K)
        rows.append(dict(kind="heap reference", trial=t, ids=400, iterations=30, capacity=K,
                         misses=p.total_misses, reference=int(ref.sum()),
                         per_iteration_equal=bool(np.array_equal(ref, p.misses))))
    df = pd.DataFrame(rows)
    df["gap"] = df["misses"] - df["reference"]
    return df


def main(argv: list[str] | None = None) -> None:
    """Benchmark: ``python -m artifact.ginex.experiments --scale quick`` prints the changeset
    precomputation throughput and writes ``results/ginex/bench_changeset_throughput.csv`` (+ env.json)."""
    import argparse

    from artifact.io import save_csv
    ap = argparse.ArgumentParser(description="Ginex changeset-precomputation benchmark (target >= 5 M accesses/s)")
    ap.add_argument("--scale", default="quick", choices=("smoke", "quick", "full"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    cfg = Config.for_scale(args.scale, seed=args.seed)
    df = changeset_throughput(cfg, repeats=args.repeats)
    summary = df.groupby("budget_fraction")[["accesses_per_s", "accesses_per_cpu_s"]].median() / 1e6
    print(summary.rename(columns=lambda c: c.replace("accesses_per", "M_accesses_per")).to_string(float_format="%.2f"))
    print(f"target 5 M accesses/s: {'met' if summary['accesses_per_cpu_s'].min() >= 5 else 'NOT met'} "
          f"(per CPU-second of the thread)")
    print("wrote", save_csv(df, "ginex", "bench_changeset_throughput", scale=args.scale, seed=args.seed))



# ---------------------------------------------------------------- training (issue Ginex II)
# Ginex vs PyG+ / Ginex-PG / Ali+PG end to end at one byte budget, breakdown, sweeps: see training.py.
from .training import (  # noqa: E402,F401
    breakdown, io_by_stage, loss_equivalence, speedups, sweep_ali_split, sweep_batch_size, sweep_budget,
    sweep_feature_dim, sweep_superbatch, training_comparison)


if __name__ == "__main__":
    main()
