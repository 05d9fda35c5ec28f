"""R-MAT generator, CSC build, training nodes and features (artifact.ginex.graph)."""
from __future__ import annotations

import numpy as np
import pytest

from artifact.ginex import graph as G


def test_rmat_quadrant_probabilities_match_graph500():
    src, dst = G.rmat_edges(1, 100_000, np.random.default_rng(0))  # scale 1: one quadrant draw per edge
    freq = np.bincount(src * 2 + dst, minlength=4) / src.size
    np.testing.assert_allclose(freq, G.GRAPH500_ABCD, atol=0.006)


def test_rmat_graph_is_clean_csc_and_deterministic():
    g = G.rmat_graph(10, 16, seed=3)
    h = G.rmat_graph(10, 16, seed=3)
    assert np.array_equal(g.indptr, h.indptr) and np.array_equal(g.indices, h.indices)
    assert g.num_nodes == 1024 and 0 < g.num_edges <= 16 * 1024
    dst = np.repeat(np.arange(g.num_nodes), g.in_degree())
    key = dst * g.num_nodes + g.indices
    assert np.all(np.diff(key) > 0), "lists sorted, no duplicate edges"
    assert not np.any(dst == g.indices), "no self-loops"
    assert g.out_degree().sum() == g.num_edges
    # power law: the maximum in-degree is far above the mean
    assert g.in_degree().max() > 10 * g.in_degree().mean()
    assert not np.array_equal(G.rmat_graph(10, 16, seed=4).indices[:50], g.indices[:50])


def test_build_csc_against_python_reference():
    rng = np.random.default_rng(1)
    src, dst = rng.integers(0, 20, 200), rng.integers(0, 20, 200)
    g = G.build_csc(src, dst, 20)
    for v in range(20):
        want = sorted({int(s) for s, d in zip(src, dst) if d == v and s != v})
        assert g.neighbors(v).tolist() == want


def test_train_nodes_have_in_edges_and_right_count():
    g = G.rmat_graph(10, 16, seed=0)
    t = G.train_nodes(g, 0.1, seed=0)
    assert t.size == round(0.1 * 1024) and np.unique(t).size == t.size
    assert np.all(g.in_degree()[t] > 0)
    with pytest.raises(ValueError, match="in-degree > 0"):
        G.train_nodes(g, 1.0)


def test_features_carry_a_learnable_class_signal():
    labels = G.node_labels(4000, 8, seed=0)
    cents = G.class_centroids(8, 64, seed=0)
    x = G.feature_chunk(labels, cents, 0, 4000, noise=2.0, seed=0)
    assert x.dtype == np.float32 and x.shape == (4000, 64)
    pred = np.argmin(((x[:, None, :] - cents[None]) ** 2).sum(-1), axis=1)
    acc = float(np.mean(pred == labels))
    assert 0.5 < acc < 1.0, f"nearest-centroid accuracy {acc} should be well above chance (0.125)"
    again = G.feature_chunk(labels, cents, 100, 200, noise=2.0, seed=0)
    assert np.array_equal(again, G.feature_chunk(labels, cents, 100, 200, noise=2.0, seed=0))


def test_feature_bytes_do_not_depend_on_chunking():
    labels = G.node_labels(1000, 4, seed=1)
    cents = G.class_centroids(4, 8, seed=1)
    whole = G.feature_chunk(labels, cents, 0, 1000, 1.0, seed=1)
    parts = np.concatenate([G.feature_chunk(labels, cents, a, b, 1.0, seed=1)
                            for a, b in ((0, 3), (3, 300), (300, 1000))])
    assert np.array_equal(whole, parts)
