"""Benchmark: batched candidate selection vs the heap reference (Ham et al., HPCA 2020, §IV-C).

One key matrix (n = 320, d = 64: the paper's BERT size) and a batch of queries (self-attention:
the key matrix is sorted once for both versions, so only the per-query search is timed). Both
versions run on one thread; the candidate sets are compared before timing. Target from the issue:
batched >= 20x faster than the heap reference on 1,000 queries.

    PYTHONPATH=. python -m artifact.a3.bench --queries 1000 --n 320 --d 64
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

from . import algorithm as ref
from .batched import M_from_fraction, preprocess_t, select_candidates

__all__ = ["run", "main"]


def _best(fn, rounds: int) -> float:
    best = np.inf
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(queries: int = 1000, n: int = 320, d: int = 64, m_fracs=(0.5, 0.125), rounds: int = 3,
        ref_queries: int | None = None, seed: int = 0, threads: int = 1) -> pd.DataFrame:
    """Time both versions; ``ref_queries`` (default: all) limits how many the heap version runs
    (its time is scaled to ``queries``; the ``ref_queries`` column records this)."""
    if queries < 1 or n < 1 or d < 1:
        raise ValueError(f"queries, n and d must be >= 1, got {queries}, {n}, {d}")
    rng = np.random.default_rng(seed)
    K = rng.normal(size=(n, d))
    q = rng.normal(size=(queries, d)) / np.sqrt(d)
    pre = ref.preprocess(K)
    Kt = torch.from_numpy(K)[None]  # (1, n, d): one key group
    qt = torch.from_numpy(q)[None]  # (1, queries, d)
    rq = queries if ref_queries is None else min(ref_queries, queries)
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    rows = []
    try:
        pt = preprocess_t(Kt)
        for frac in m_fracs:
            M = M_from_fraction(frac, n)
            g, _, _ = select_candidates(pt, qt, M)
            same = all(np.array_equal(np.flatnonzero(g[0, i].numpy() > 0), np.flatnonzero(ref.greedy_search(pre, q[i], M).scores > 0))
                       for i in range(min(queries, 50)))
            t_ref = _best(lambda: [ref.greedy_search(pre, q[i], M) for i in range(rq)], rounds) * queries / rq
            t_bat = _best(lambda: select_candidates(pt, qt, M), rounds)
            rows.append(dict(queries=queries, n=n, d=d, M=M, m_frac=frac, ref_queries=rq, threads=threads,
                             heap_reference_s=t_ref, batched_s=t_bat, speedup=t_ref / t_bat,
                             us_per_query_batched=1e6 * t_bat / queries, identical_first_50=same,
                             target_speedup=20.0))
    finally:
        torch.set_num_threads(old)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--n", type=int, default=320)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--m-fracs", type=float, nargs="+", default=[0.5, 0.125])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ref-queries", type=int, default=None, help="run the heap version on fewer queries and scale")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--scale", default="quick", help="label stored with the CSV")
    ap.add_argument("--no-save", action="store_true", help="print only, write no CSV")
    args = ap.parse_args(argv)
    df = run(args.queries, args.n, args.d, tuple(args.m_fracs), args.rounds, args.ref_queries, threads=args.threads)
    print(df[["n", "d", "M", "queries", "heap_reference_s", "batched_s", "speedup", "identical_first_50"]].to_string(index=False))
    if not args.no_save:
        from artifact.io import save_csv
        print("wrote", save_csv(df, "a3", "bench_selection", scale=args.scale))
    return df


if __name__ == "__main__":
    main()
