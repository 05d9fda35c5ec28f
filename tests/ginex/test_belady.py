"""Belady changeset precomputation: optimality vs brute force, heap reference, invariants, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact.ginex import belady as B


def _traces(max_ids, max_iters, max_batch):
    batch = st.lists(st.integers(0, max_ids - 1), max_size=max_batch, unique=True).map(
        lambda xs: np.array(xs, dtype=np.int64))
    return st.lists(batch, min_size=1, max_size=max_iters)


@settings(max_examples=150, deadline=None)
@given(_traces(6, 8, 5), st.integers(1, 3))
def test_optimal_against_brute_force(batches, capacity):
    p = B.plan(batches, capacity)
    assert p.total_misses == B.brute_force_min_misses(batches, capacity)
    assert np.array_equal(p.replay(batches), p.misses)


@settings(max_examples=60, deadline=None)
@given(_traces(60, 25, 30), st.integers(1, 40))
def test_equals_heap_reference_and_invariants(batches, capacity):
    p = B.plan(batches, capacity)
    assert np.array_equal(p.misses, B.heap_reference(batches, capacity))
    assert np.array_equal(p.replay(batches), p.misses)       # checks insert/evict/positions/capacity
    size, full = p.initial.size, False
    for ins, ev in p.changesets:
        full = full or size == capacity
        if full:
            assert ins.size == ev.size, "|in| == |out| once the cache is full"
        size += ins.size - ev.size


def test_initial_is_first_distinct_ids_in_access_order():
    p = B.plan([np.array([5, 3]), np.array([3, 9, 1]), np.array([7])], 3)
    assert p.initial.tolist() == [5, 3, 9]


def test_small_worked_example():
    # K = 2. it0 [1, 2]: both preloaded, hits. it1 [3, 1]: 3 misses; next uses after it1:
    # 1 -> never, 2 -> it2, 3 -> it2, so 3 replaces 1. it2 [2, 3]: all hits.
    p = B.plan([np.array([1, 2]), np.array([3, 1]), np.array([2, 3])], 2)
    assert p.misses.tolist() == [0, 1, 0]
    ins, ev = p.changesets[1]
    assert ins.tolist() == [3] and ev.tolist() == [1] and p.insert_positions[1].tolist() == [0]
    assert [c[0].size + c[1].size for c in (p.changesets[0], p.changesets[2])] == [0, 0]


def test_never_used_again_ids_are_bypassed():
    p = B.plan([np.array([1]), np.array([2]), np.array([1])], 1)
    assert p.changesets[1][0].size == 0, "2 is never used again: not inserted"
    assert p.misses.tolist() == [0, 1, 0]


def test_no_16_bit_iteration_cap():
    S = 33_000                              # > 32767, the original's int16 limit
    rng = np.random.default_rng(0)
    batches = [rng.choice(8, 2, replace=False) for _ in range(S)]
    p = B.plan(batches, 3)
    assert p.num_iterations == S
    assert np.array_equal(p.misses, B.heap_reference(batches, 3))


def test_bad_input():
    with pytest.raises(ValueError, match="appears twice in batch 1"):
        B.plan([np.array([1, 2]), np.array([4, 3, 4])], 2)
    for cap in (0, -1, 1.5):
        with pytest.raises(ValueError, match="capacity"):
            B.plan([np.array([1])], cap)
    with pytest.raises(ValueError, match="negative"):
        B.plan([np.array([-1])], 1)


def test_everything_fits_means_no_evictions():
    batches = [np.array([1, 2, 3]), np.array([2, 4]), np.array([1, 4])]
    p = B.plan(batches, 10)
    assert all(ev.size == 0 for _, ev in p.changesets)
    assert p.total_misses == 0 and sorted(p.initial.tolist()) == [1, 2, 3, 4]


@settings(max_examples=40, deadline=None)
@given(_traces(80, 12, 40), st.integers(1, 50))
def test_torch_variant_gives_the_identical_plan(batches, capacity):
    pytest.importorskip("torch")
    a, b = B.plan(batches, capacity), B.plan_torch(batches, capacity)
    assert np.array_equal(a.initial, b.initial) and np.array_equal(a.misses, b.misses)
    for (i1, e1), (i2, e2), p1, p2 in zip(a.changesets, b.changesets, a.insert_positions, b.insert_positions):
        assert np.array_equal(i1, i2) and np.array_equal(e1, e2) and np.array_equal(p1, p2)


def test_torch_variant_rejects_duplicates():
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="appears twice in batch 0"):
        B.plan_torch([np.array([3, 3])], 1)
