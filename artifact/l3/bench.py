"""Timing primitives and a CPU benchmark of the L3 encoder/decoders vs the peer codecs.

Throughput is MB/s of decoded RGB (H*W*3 bytes), "one core" pinned to one thread, "all cores"
with one worker thread per core (imagecodecs and numpy release the GIL) or, for the batched torch
decoder, torch's intra-op threads. Run ``python -m artifact.l3.bench --scale quick``: it prints a
table and writes ``results/l3/bench_cpu.csv`` with env metadata. Performance goals of issue 7
(benchmark, not test): encoder >= 50 MB/s on one core; torch decoder on CPU >= single-core libpng.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Minimum wall time of ``fn()`` over ``repeats`` runs (after one untimed warm-up)."""
    fn()
    best = float("inf")
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def all_core_count(threads: int | None = None) -> int:
    return threads or os.cpu_count() or 1


def one_core_seconds(decode: Callable[[bytes], object], blobs: Sequence[bytes], repeats: int) -> list[float]:
    """Best single-thread decode time of every stream."""
    with torch_threads(1):
        return [best_time(lambda b=b: decode(b), repeats) for b in blobs]


def all_core_seconds(decode: Callable[[bytes], object], blobs: Sequence[bytes], repeats: int,
                     threads: int | None = None) -> float:
    """Best wall time to decode every stream once with ``threads`` workers (each stream once)."""
    workers = all_core_count(threads)
    with torch_threads(1), ThreadPoolExecutor(workers) as pool:
        return best_time(lambda: list(pool.map(decode, blobs)), repeats)


def l3_torch_seconds(blobs: Sequence[bytes], repeats: int, threads: int, compile: bool = False) -> tuple[float, dict]:
    """Best wall time to decode all streams on the CPU with the batched torch decoder.

    One thread: one batch of everything. Several threads: the streams are split into ``threads``
    batches decoded concurrently by single-threaded torch (ops release the GIL); this scales better
    than torch's intra-op threads, whose per-row barriers stall on a shared machine.
    """
    from artifact.l3.decode_torch import decode_batch_torch as _decode

    def decode_batch_torch(b, timings=None):
        return _decode(b, timings=timings, compile=compile)

    chunks = [list(blobs[i::threads]) for i in range(threads) if blobs[i::threads]]
    with torch_threads(1), ThreadPoolExecutor(len(chunks)) as pool:
        run = (lambda: decode_batch_torch(blobs)) if len(chunks) == 1 else \
            (lambda: list(pool.map(decode_batch_torch, chunks)))
        run()
        if compile:
            run()  # dynamic-shape recompilation happens on the second call
        best, best_t = float("inf"), {}
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - t0)
        if len(chunks) == 1:  # split of one batch's time into host / copy / device parts
            decode_batch_torch(blobs, timings=best_t)
    return best, best_t


def host_side_seconds(blob: bytes, repeats: int) -> dict[str, float]:
    """CPU work the L3 design leaves on the host, per stream: header parse + patch prefix sums,
    and (separately) the row-record walk that our GPU decoders run on the device."""
    from artifact.l3.header import parse_header, patch_offsets, row_table

    buf = np.frombuffer(blob, np.uint8)
    repeats = max(repeats, 20)  # microsecond-scale: many repeats against scheduler noise
    parse = best_time(lambda: patch_offsets(parse_header(blob)), repeats)
    header = parse_header(blob)
    starts = patch_offsets(header)
    walk = best_time(lambda: row_table(buf, header, starts), repeats)
    return {"host_parse_prefix_s": parse, "row_walk_s": walk}


def run_cpu_bench(cfg) -> pd.DataFrame:
    """Encode and decode throughput of every codec on the configured images (one core / all cores)."""
    from artifact.l3.experiments import decode_throughput

    return decode_throughput(cfg)


def main(argv: Sequence[str] | None = None) -> int:
    from artifact.io import save_csv
    from artifact.l3.config import Config

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", default="smoke", help="smoke | quick | full")
    ap.add_argument("--repeats", type=int, default=None, help="timing repeats (default from the scale)")
    ap.add_argument("--sources", default=None, help="comma-separated image sets: skimage,sporco,wallpapers")
    ap.add_argument("--max-images", type=int, default=None, help="keep the first N images")
    ap.add_argument("--lossless-only", action="store_true", help="skip the lossy JPEG/WebP references")
    ap.add_argument("--compile", action="store_true", help="also time the torch.compile'd torch decoder")
    args = ap.parse_args(argv)
    sources = tuple(s for s in args.sources.split(",") if s) if args.sources else None
    cfg = Config.for_scale(args.scale, repeats=args.repeats, sources=sources, max_images=args.max_images,
                           include_lossy=False if args.lossless_only else None,
                           torch_compile=True if args.compile else None)
    df = run_cpu_bench(cfg)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(df.pivot_table(index=["codec", "decoder"], columns="mode", values="mb_per_s").round(1))
    print("wrote", save_csv(df, "l3", "bench_cpu", scale=cfg.scale, seed=cfg.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
