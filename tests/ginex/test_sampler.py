"""Neighbour sampling, static neighbour cache and superbatch run-time files (artifact.ginex.sampler)."""
from __future__ import annotations

import numpy as np
import pytest

from artifact.ginex import sampler as S


@pytest.fixture(scope="module")
def csc(smoke_ds):
    return smoke_ds.indptr, np.asarray(smoke_ds.indices_memmap())


def _check_batch(b, indptr, indices, fanouts, seeds):
    assert np.array_equal(b.seeds, seeds)
    assert np.unique(b.n_id).size == b.n_id.size
    n_dst_prev = None
    for h, (ei, (n_src, n_dst)) in enumerate(reversed(b.adjs)):   # innermost hop first
        fan = fanouts[h]
        assert ei.shape[0] == 2 and ei[0].max(initial=-1) < n_src and ei[1].max(initial=-1) < n_dst
        if n_dst_prev is not None:
            assert n_dst == n_dst_prev, "targets of a hop are all nodes reached before it"
        n_dst_prev = n_src
        tgt, src = b.n_id[ei[1]], b.n_id[ei[0]]
        deg = indptr[tgt + 1] - indptr[tgt]
        counts = np.bincount(ei[1], minlength=n_dst)
        assert np.array_equal(counts, np.minimum(indptr[b.n_id[:n_dst] + 1] - indptr[b.n_id[:n_dst]], fan))
        pairs = tgt * len(indptr) + src
        assert np.unique(pairs).size == pairs.size, "without replacement"
        for t, s_ in zip(tgt[:400], src[:400]):
            assert s_ in indices[indptr[t]:indptr[t + 1]]
        assert np.all(deg > 0)


def test_batches_are_valid_and_pyg_shaped(smoke_ds, csc):
    indptr, indices = csc
    smp = S.NeighborSampler(indptr, (4, 3, 2), S.InMemoryNeighbors(indptr, indices))
    for i, seeds in enumerate(S.epoch_batches(smoke_ds.train_idx, 50, seed=0, max_batches=3)):
        _check_batch(smp.sample(seeds, S.batch_rng(0, 0, i)), indptr, indices, (4, 3, 2), seeds)


def test_disk_and_cached_sources_give_identical_batches(smoke_ds, csc):
    indptr, indices = csc
    nc = S.NeighborCache.build(smoke_ds, 8 * smoke_ds.num_nodes + 2 * smoke_ds.num_edges)
    mem = S.NeighborSampler(indptr, (5, 5), S.InMemoryNeighbors(indptr, indices))
    src = S.DiskNeighbors(smoke_ds, nc)
    disk = S.NeighborSampler(indptr, (5, 5), src)
    smoke_ds.counter.reset()
    for i, seeds in enumerate(S.epoch_batches(smoke_ds.train_idx, 40, seed=1, max_batches=3)):
        a, b = mem.sample(seeds, S.batch_rng(1, 0, i)), disk.sample(seeds, S.batch_rng(1, 0, i))
        assert np.array_equal(a.n_id, b.n_id)
        assert all(np.array_equal(x[0], y[0]) and x[1] == y[1] for x, y in zip(a.adjs, b.adjs))
    assert src.lists_hit > 0 and src.lists_read > 0
    assert smoke_ds.counter.get("sample").requests == src.lists_read


def test_floyd_sampling_is_uniform():
    indptr = np.r_[0, np.full(120, 20)].astype(np.int64)     # node 0 has in-neighbours 100..119
    smp = S.NeighborSampler(indptr, (5,), S.InMemoryNeighbors(indptr, np.arange(100, 120, dtype=np.int64)))
    rng = np.random.default_rng(0)
    counts = np.zeros(20)
    for _ in range(1000):
        b = smp.sample(np.array([0]), rng)
        assert b.n_id.size == 6
        counts[b.n_id[1:] - 100] += 1
    # each neighbour is picked with probability 5/20: expected 250 per slot, sd ~14
    assert np.all(np.abs(counts - 250) < 70), counts


def test_neighbor_cache_longest_prefix_and_budget(smoke_ds):
    n = smoke_ds.num_nodes
    with pytest.raises(ValueError, match="address table"):
        S.NeighborCache.select(smoke_ds.in_degree, smoke_ds.out_degree, 8 * n - 1)
    budget = 8 * n + 4 * smoke_ds.num_edges
    chosen = S.NeighborCache.select(smoke_ds.in_degree, smoke_ds.out_degree, budget)
    order = S.NeighborCache.ranking(smoke_ds.in_degree, smoke_ds.out_degree)
    assert np.array_equal(chosen, order[:chosen.size]), "a prefix of the ranking"
    used = 8 * n + 8 * int((smoke_ds.in_degree[chosen] + 1).sum())
    nxt = 8 * int(smoke_ds.in_degree[order[chosen.size]] + 1)
    assert used <= budget < used + nxt, "longest prefix that fits"
    score = (smoke_ds.out_degree + 1e-8) / (smoke_ds.in_degree + 1e-8)
    assert score[chosen].min() >= score[order[chosen.size:]].max() - 1e-6
    nc = S.NeighborCache.build(smoke_ds, budget)
    assert nc.nbytes <= budget and nc.nbytes == used
    ind = smoke_ds.indices_memmap()
    for v in chosen[:: max(1, chosen.size // 200)]:
        off = nc.table[v]
        d = nc.array[off]
        assert np.array_equal(nc.array[off + 1:off + 1 + d], ind[smoke_ds.indptr[v]:smoke_ds.indptr[v + 1]])


def test_superbatch_files_roundtrip_and_detect_damage(tmp_path, smoke_ds, csc):
    indptr, indices = csc
    smp = S.NeighborSampler(indptr, (3, 3), S.InMemoryNeighbors(indptr, indices))
    bs = [smp.sample(s, S.batch_rng(0, 0, i))
          for i, s in enumerate(S.epoch_batches(smoke_ds.train_idx, 30, 0, max_batches=3))]
    smoke_ds.counter.reset()
    index = S.write_superbatch(tmp_path, bs, smoke_ds.counter)
    assert smoke_ds.counter.get("trace_write").requests == 6
    for i, b in enumerate(bs):
        got = S.load_batch(tmp_path, i, index, smoke_ds.counter)
        assert np.array_equal(got.n_id, b.n_id) and got.batch_size == b.batch_size
        assert all(np.array_equal(x[0], y[0]) and x[1] == y[1] for x, y in zip(got.adjs, b.adjs))
    assert smoke_ds.counter.get("trace_read").bytes == smoke_ds.counter.get("trace_write").bytes
    with open(tmp_path / "adj_1.npz", "r+b") as f:
        f.seek(40)
        f.write(b"\0\1\2")
    with pytest.raises(S.TraceError, match="corrupt"):
        S.load_batch(tmp_path, 1, index)
    (tmp_path / "ids_2.npy").unlink()
    with pytest.raises(S.TraceError, match="missing"):
        S.load_batch(tmp_path, 2, index)
    (tmp_path / "index.json").unlink()
    with pytest.raises(S.TraceError, match="did not finish"):
        S.read_index(tmp_path)


def test_output_plugs_into_pyg_sageconv(smoke_ds, csc):
    torch = pytest.importorskip("torch")
    SAGEConv = pytest.importorskip("torch_geometric.nn").SAGEConv
    indptr, indices = csc
    smp = S.NeighborSampler(indptr, (4, 4), S.InMemoryNeighbors(indptr, indices))
    b = smp.sample(smoke_ds.train_idx[:16], S.batch_rng(0, 0, 0))
    x = torch.from_numpy(np.asarray(smoke_ds.features_memmap()[b.n_id]))
    convs = [SAGEConv(smoke_ds.feat_dim, 8), SAGEConv(8, 3)]
    for conv, (ei, (n_src, n_dst)) in zip(convs, b.torch_adjs()):
        assert x.shape[0] == n_src
        x = conv((x, x[:n_dst]), ei)
    assert tuple(x.shape) == (16, 3)


def test_duplicate_seeds_rejected(csc):
    indptr, indices = csc
    with pytest.raises(ValueError, match="unique"):
        S.NeighborSampler(indptr, (2,), S.InMemoryNeighbors(indptr, indices)).sample(np.array([1, 1]), np.random.default_rng(0))


def test_sample_superbatch_writes_what_it_sampled(tmp_path, smoke_ds, csc):
    indptr, indices = csc
    nc = S.NeighborCache.build(smoke_ds, 8 * smoke_ds.num_nodes + 4 * smoke_ds.num_edges)
    smp = S.NeighborSampler(indptr, (3, 3), S.DiskNeighbors(smoke_ds, nc))
    seeds = S.epoch_batches(smoke_ds.train_idx, 25, seed=2, max_batches=4)
    ids, index = S.sample_superbatch(smp, seeds[2:], tmp_path, seed=2, epoch=0, first_index=2)
    ref = S.NeighborSampler(indptr, (3, 3), S.InMemoryNeighbors(indptr, indices))
    for k, n_id in enumerate(ids):
        assert np.array_equal(n_id, ref.sample(seeds[2 + k], S.batch_rng(2, 0, 2 + k)).n_id)
        assert np.array_equal(S.load_ids(tmp_path, k, index), n_id)
