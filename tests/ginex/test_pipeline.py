"""Units of artifact.ginex.pipeline: feature cache + changesets, page LRU, run-time files, budgets."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact.ginex.belady import plan
from artifact.ginex.pipeline import (
    PAGE, BudgetTooSmallError, FeatureCache, PageLRU, RunSpec, RuntimeDir, RuntimeFileError, StageClock,
    clean_stale_runtime, feature_cache_rows, gather_via_pages, minimum_budget, overlapped_loop,
    static_feature_ids)
from artifact.ginex.sampler import SampledBatch


def test_cache_update_paper_fig11_example():
    # Fig. 11: ids = [9, 5, 0, 7, 2], in = [2, 5], out = [0, 6], in_positions = [4, 1]
    cache = FeatureCache(num_nodes=10, dim=2, capacity=3)
    cache.fill(np.array([0, 6, 3]), np.array([[0, 0], [6, 6], [3, 3]], dtype=np.float32))
    buf = np.array([[9, 9], [5, 5], [0, 0], [7, 7], [2, 2]], dtype=np.float32)  # batch buffer
    cache.apply(buf, insert=np.array([2, 5]), in_positions=np.array([4, 1]), evict=np.array([0, 6]))
    assert sorted(np.flatnonzero(cache.table >= 0).tolist()) == [2, 3, 5]
    for v in (2, 3, 5):
        assert cache.rows[cache.table[v]].tolist() == [v, v]
    with pytest.raises(ValueError, match="not cached"):
        cache.apply(buf, np.array([9]), np.array([0]), np.array([0]))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(1, 8), st.integers(0, 10_000))
def test_feature_cache_replays_belady_plan_exactly(capacity, n_iter, seed):
    """Driving FeatureCache with plan()'s changesets yields plan's misses and always-correct rows."""
    rng = np.random.default_rng(seed)
    n, dim = 30, 3
    feats = rng.standard_normal((n, dim)).astype(np.float32)
    batches = [rng.choice(n, rng.integers(1, 10), replace=False) for _ in range(n_iter)]
    p = plan(batches, capacity)
    cache = FeatureCache(n, dim, capacity)
    cache.fill(p.initial, feats[p.initial])
    misses = []
    for i, b in enumerate(batches):
        slots = cache.lookup(b)
        hit = slots >= 0
        np.testing.assert_array_equal(cache.rows[slots[hit]], feats[b[hit]])  # hits return the right rows
        misses.append(int((~hit).sum()))
        ins, ev = p.changesets[i]
        cache.apply(feats[b], ins, p.insert_positions[i], ev)
        assert (cache.table >= 0).sum() <= capacity
    assert misses == p.misses.tolist()


def _reference_lru(capacity: int, calls: list[list[int]]) -> tuple[int, int]:
    od: OrderedDict = OrderedDict()
    acc = miss = 0
    for pages in calls:
        for p in sorted(set(pages)):
            acc += 1
            if p in od:
                od.move_to_end(p)
            else:
                miss += 1
                od[p] = True
                if len(od) > capacity:
                    od.popitem(last=False)
    return acc, miss


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.lists(st.lists(st.integers(0, 12), min_size=1, max_size=8), min_size=1, max_size=10))
def test_page_lru_matches_reference_lru_and_returns_file_bytes(capacity, calls):
    data = np.random.default_rng(0).integers(0, 256, (13, PAGE), dtype=np.uint8)  # a 13-page "file"
    reads = []

    def read_pages(file, pages):
        reads.append(len(pages))
        return data[pages]

    lru = PageLRU(capacity, read_pages)
    for c in calls:
        pages = np.unique(np.array(c))
        np.testing.assert_array_equal(lru.get("f", pages), data[pages])
    assert (lru.accesses["f"], lru.misses["f"]) == _reference_lru(capacity, calls)
    assert sum(reads) == lru.misses["f"]  # every miss is exactly one page read


@pytest.mark.parametrize("row_bytes", [512, 1024, 3072])  # 3072 B rows (F=768) straddle pages
def test_gather_via_pages_equals_direct_slicing(row_bytes):
    rng = np.random.default_rng(1)
    n_rows = 40
    raw = rng.standard_normal(n_rows * row_bytes // 4).astype(np.float32)
    n_pages = -(-raw.nbytes // PAGE)
    padded = np.zeros(n_pages * PAGE, dtype=np.uint8)
    padded[: raw.nbytes] = raw.view(np.uint8)
    lru = PageLRU(4, lambda f, p: padded.reshape(-1, PAGE)[p])
    ids = rng.choice(n_rows, 25, replace=False)
    ptr, flat = gather_via_pages(lru, "features", ids * row_bytes, np.full(25, row_bytes), np.float32)
    np.testing.assert_array_equal(flat.reshape(25, -1), raw.reshape(n_rows, -1)[ids])
    np.testing.assert_array_equal(np.diff(ptr), row_bytes // 4)
    straddling = ((ids * row_bytes) // PAGE != (ids * row_bytes + row_bytes - 1) // PAGE).sum()
    assert (straddling > 0) == (row_bytes == 3072)


def test_budget_errors_name_the_minimum():
    n, f = 1000, 64
    assert minimum_budget(n, f) == 8 * n
    with pytest.raises(BudgetTooSmallError, match=str(minimum_budget(n, 4096))):
        feature_cache_rows(4 * n + 100, n, 4096)
    assert feature_cache_rows(4 * n + 4 * f * 10, n, f) == 10
    with pytest.raises(BudgetTooSmallError):
        RunSpec(budget_bytes=0)
    with pytest.raises(BudgetTooSmallError):
        PageLRU(0, lambda f, p: None)


def _batch(rng, n=20):
    n_id = rng.choice(1000, n, replace=False).astype(np.int64)
    ei = np.stack([rng.integers(0, n, 30), rng.integers(0, 5, 30)])
    return SampledBatch(n_id, [(ei, (n, 5))], 5)


def test_runtime_files_round_trip_and_detect_corruption(tmp_path):
    rng = np.random.default_rng(0)
    rd = RuntimeDir(tmp_path / "sb0")
    batches = [_batch(rng) for _ in range(3)]
    for i, b in enumerate(batches):
        rd.write_batch(i, b)
        rd.write_update(i, b.n_id[:2], np.array([0, 1]), np.array([], dtype=np.int64))
    rd.write_manifest()
    again = RuntimeDir.open(tmp_path / "sb0")
    for i, b in enumerate(batches):
        got = again.read_batch(i)
        np.testing.assert_array_equal(got.n_id, b.n_id)
        np.testing.assert_array_equal(got.adjs[0][0], b.adjs[0][0])
        assert got.adjs[0][1] == b.adjs[0][1] and got.batch_size == 5
        np.testing.assert_array_equal(again.read_update(i)[0], b.n_id[:2])
    assert again.bytes_read > 0 and rd.bytes_written > 0
    # corrupt one byte, truncate one file, delete one file
    p = tmp_path / "sb0" / "ids_1.npy"
    data = bytearray(p.read_bytes())
    data[-1] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(RuntimeFileError, match="corrupt"):
        again.read_ids(1)
    (tmp_path / "sb0" / "adj_2.npz").write_bytes(b"")
    with pytest.raises(RuntimeFileError, match="corrupt"):
        again.read_batch(2)
    (tmp_path / "sb0" / "update_0.npz").unlink()
    with pytest.raises(RuntimeFileError, match="missing"):
        again.read_update(0)
    (tmp_path / "sb0" / "manifest.json").unlink()
    with pytest.raises(RuntimeFileError, match="manifest"):
        RuntimeDir.open(tmp_path / "sb0")
    assert clean_stale_runtime(tmp_path) == 1 and not (tmp_path / "sb0").exists()


def test_overlapped_loop_orders_update_before_next_gather_and_overlaps():
    import threading
    import time

    events = []
    lock = threading.Lock()

    def log(e):
        with lock:
            events.append(e)

    def gather(i):
        log(("g0", i))
        time.sleep(0.02)
        log(("g1", i))
        return i

    def compute(i, d):
        log(("c0", i))
        time.sleep(0.02)
        log(("c1", i))

    clock = StageClock()
    overlapped_loop(4, gather, lambda i, d: log(("u", i)), compute, clock)
    for i in range(3):
        assert events.index(("u", i)) < events.index(("g0", i + 1))  # update(i) before gather(i+1)
        assert events.index(("g1", i)) < events.index(("c0", i))  # compute(i) sees gather(i)
    # gather(i+1) starts before compute(i) ends: they overlap
    assert any(events.index(("g0", i + 1)) < events.index(("c1", i)) for i in range(3))
    assert set(clock.seconds) >= {"data_prep", "cache_update", "compute"}


def test_static_feature_ids_take_top_out_degree():
    deg = np.array([5, 1, 9, 9, 0, 3])
    assert static_feature_ids(deg, 3).tolist() == [0, 2, 3]


def test_page_lru_is_thread_safe_and_never_returns_wrong_bytes():
    import threading

    data = np.random.default_rng(2).integers(0, 256, (64, PAGE), dtype=np.uint8)
    lru = PageLRU(8, lambda f, p: data[p])
    errors = []

    def worker(seed):
        rng = np.random.default_rng(seed)
        try:
            for _ in range(200):
                pages = np.unique(rng.integers(0, 64, rng.integers(1, 12)))
                if not np.array_equal(lru.get("f", pages), data[pages]):
                    errors.append("wrong bytes")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and not any(t.is_alive() for t in threads)
    assert len(lru._pages) <= 8 and lru.misses["f"] <= lru.accesses["f"]
