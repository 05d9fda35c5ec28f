"""Caches at equal budget: live counters == trace simulator == /proc/self/io; LRU reference; rows exact."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact.ginex import caches as C
from artifact.ginex import sampler as S
from artifact.ginex import storage
from artifact.ginex.belady import plan
from artifact.ginex.storage import PAGE


@pytest.fixture(scope="module")
def trace(smoke_ds):
    indptr, indices = smoke_ds.indptr, np.asarray(smoke_ds.indices_memmap())
    smp = S.NeighborSampler(indptr, (4, 4, 4), S.InMemoryNeighbors(indptr, indices))
    return [smp.sample(s, S.batch_rng(0, 0, i)).n_id
            for i, s in enumerate(S.epoch_batches(smoke_ds.train_idx, 40, 0, max_batches=8))]


def test_capacity_formulas():
    assert C.feature_cache_capacity(4 * 100 + 4 * 8 * 10, 100, 8) == 10
    with pytest.raises(ValueError, match="at least"):
        C.feature_cache_capacity(4 * 100, 100, 8)
    assert C.page_cache_capacity(4 * 50 + 3 * (PAGE + C.LRU_LINK_BYTES), 50) == 3
    with pytest.raises(ValueError, match="at least"):
        C.page_cache_capacity(100, 50)


@pytest.mark.parametrize("policy", ["belady", "static", "batch_lru"])
def test_live_node_cache_equals_simulator_and_proc_io(policy, smoke_ds, trace):
    cap = C.feature_cache_capacity(int(0.2 * smoke_ds.feature_bytes), smoke_ds.num_nodes, smoke_ds.feat_dim)
    if policy == "batch_lru":
        plans = [C.batch_lru_plan(trace, cap, smoke_ds.num_nodes)]
    else:
        plans = C.superbatch_plans(policy, trace, cap, 3, smoke_ds.out_degree)
    sim = C.simulate_plans(plans, trace, smoke_ds.row_bytes)
    smoke_ds.counter.reset()
    r0 = storage.proc_read_bytes()
    live = C.run_plans_live(smoke_ds, plans, trace, cap, check_rows=True)
    r1 = storage.proc_read_bytes()
    assert live == sim
    assert sum(p.total_misses for p in plans) == sim["misses"] > 0
    if smoke_ds.io_mode == "o_direct" and r0 is not None:
        assert r1 - r0 == live["bytes"] + live["init_bytes"] == smoke_ds.counter.total().bytes


def test_belady_never_worse_than_other_schedules(smoke_ds, trace):
    for frac in (0.05, 0.2, 0.5):
        cap = int(frac * smoke_ds.num_nodes)
        b = plan(trace, cap).total_misses
        assert b <= C.static_plan(smoke_ds.out_degree, cap, trace).total_misses
        assert b <= C.batch_lru_plan(trace, cap, smoke_ds.num_nodes).total_misses


@pytest.mark.parametrize("include_indices", [False, True])
def test_live_page_lru_equals_simulator(include_indices, smoke_ds, trace):
    budget = int(0.3 * smoke_ds.feature_bytes)
    pages = smoke_ds.num_feature_pages + (smoke_ds.num_index_pages if include_indices else 0)
    sim = C.simulate_page_lru(trace, smoke_ds.row_bytes, budget, pages)
    cache = C.PageLRUCache(smoke_ds, budget, include_indices=include_indices)
    assert cache.nbytes <= budget
    smoke_ds.counter.reset()
    tot, mm = C.GatherCounts(), smoke_ds.features_memmap()
    for b in trace:
        x, c = cache.gather(b)
        assert np.array_equal(x, mm[b])
        tot += c
    assert (tot.accesses, tot.misses, tot.requests, tot.bytes) == \
        (sim["accesses"], sim["misses"], sim["requests"], sim["bytes"])
    assert smoke_ds.counter.get("gather").bytes == sim["bytes"]


def test_page_lru_rows_straddling_pages(straddle_ds):
    cache = C.PageLRUCache(straddle_ds, int(0.1 * straddle_ds.feature_bytes))
    rng = np.random.default_rng(0)
    mm = straddle_ds.features_memmap()
    for _ in range(4):
        ids = rng.choice(straddle_ds.num_nodes, 60, replace=False)
        x, _ = cache.gather(ids)
        assert np.array_equal(x, mm[ids])
    fc = C.FeatureCache(straddle_ds, 20)
    fc.fill(ids[:20])
    x, c = fc.gather(ids)
    assert np.array_equal(x, mm[ids]) and c.hits == 20
    assert c.bytes == int(storage.row_read_bytes(ids[20:], straddle_ds.row_bytes).sum())


def test_page_lru_neighbor_lists(smoke_ds):
    cache = C.PageLRUCache(smoke_ds, int(0.2 * smoke_ds.feature_bytes))
    ind = np.asarray(smoke_ds.indices_memmap())
    ref = S.InMemoryNeighbors(smoke_ds.indptr, ind)
    nodes = np.random.default_rng(2).choice(smoke_ds.num_nodes, 300, replace=False)
    for _ in range(2):
        flat, ptr = cache.lists(nodes)
        f2, p2 = ref.lists(nodes)
        assert np.array_equal(flat, f2) and np.array_equal(ptr, p2)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 12), max_size=80), st.integers(1, 6))
def test_page_lru_matches_ordered_dict_reference(keys, cap):
    lru = C.PageLRU(cap)
    _, buf_src, _, reads = lru.touch(keys)
    ref, ref_reads = OrderedDict(), []
    for k in keys:
        if k in ref:
            ref.move_to_end(k)
        else:
            ref_reads.append(k)
            ref[k] = True
            if len(ref) > cap:
                ref.popitem(last=False)
    assert reads == ref_reads
    assert int(C._miss_flags(np.array(buf_src, dtype=np.int64)).sum()) == len(ref_reads)
    assert list(lru.map) == list(ref)


def test_feature_cache_update_from_batch_buffer_and_errors(smoke_ds):
    fc = C.FeatureCache(smoke_ds, 3)
    fc.fill(np.array([0, 6, 3]))
    batch = np.array([9, 5, 0, 7, 2])                  # Fig. 11: in = [2, 5], out = [0, 6], in_pos = [4, 1]
    x, c = fc.gather(batch)
    assert c.hits == 1 and c.misses == 4
    fc.update(np.array([2, 5]), np.array([0, 6]), np.array([4, 1]), x)
    assert sorted(np.flatnonzero(fc.table >= 0).tolist()) == [2, 3, 5]
    before = smoke_ds.counter.get("gather")
    y, c2 = fc.gather(np.array([2, 3, 5]))
    assert c2.hits == 3 and smoke_ds.counter.get("gather") == before, "no I/O on hits"
    assert np.array_equal(y, smoke_ds.features_memmap()[[2, 3, 5]])
    with pytest.raises(ValueError, match="not cached"):
        fc.update(np.array([9]), np.array([0]), np.array([0]), x)
    with pytest.raises(ValueError, match="slots are free"):
        fc.update(np.array([9, 7]), np.zeros(0, np.int64), np.array([0, 3]), x)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 400), st.sampled_from(["belady", "static", "batch_lru"]),
       st.integers(1, 4))
def test_any_plan_replays_live_exactly(smoke_ds, seed, capacity, policy, superbatch):
    """Random traces, capacities and superbatch sizes: live rows are the file's rows and the live
    counters equal the simulator's."""
    rng = np.random.default_rng(seed)
    trace = [rng.choice(smoke_ds.num_nodes, int(rng.integers(1, 300)), replace=False) for _ in range(5)]
    if policy == "batch_lru":
        plans = [C.batch_lru_plan(trace, capacity, smoke_ds.num_nodes)]
    else:
        plans = C.superbatch_plans(policy, trace, capacity, superbatch, smoke_ds.out_degree)
    live = C.run_plans_live(smoke_ds, plans, trace, capacity, check_rows=True)
    assert live == C.simulate_plans(plans, trace, smoke_ds.row_bytes)
