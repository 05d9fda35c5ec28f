"""Batched torch A3 against the heap reference: identical candidate and kept sets, outputs to 1e-12."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from artifact.a3 import algorithm as A
from artifact.a3 import batched as B


def _inputs(rng, n, d, L, kind):
    K, V, q = rng.normal(size=(n, d)), rng.normal(size=(n, 3)), rng.normal(size=(L, d))
    if kind == "ties":  # many equal values: exercises the (column, depth) tie order
        K, q = np.round(K * 2) / 2, np.round(q * 2) / 2
    elif kind == "integer":
        K = rng.integers(-1, 2, size=(n, d)).astype(float)
        q = rng.integers(-1, 2, size=(L, d)).astype(float)
    elif kind == "fixed":
        K, q = A.quantize_fixed(K, 4, 4), A.quantize_fixed(q, 4, 4)
    elif kind == "shifted":  # mostly negative scores: empty candidate sets and min-skip
        q = q - 2.0
    return K, V, q


def _compare(K, V, q, M, T, min_skip):
    res = B.a3_attention_batched(torch.tensor(K)[None], torch.tensor(V)[None], torch.tensor(q)[None], M, T, min_skip)
    pre = A.preprocess(K)
    for l in range(q.shape[0]):
        r = A.a3_attention(K, V, q[l], M, T, min_skip, pre)
        assert np.flatnonzero(res.candidates[0, l].numpy()).tolist() == r.candidates.tolist()
        assert np.flatnonzero(res.kept[0, l].numpy()).tolist() == r.kept.tolist()
        assert bool(res.empty[0, l]) == r.empty
        assert int(res.C[0, l]) == r.C and int(res.K[0, l]) == r.K
        np.testing.assert_allclose(res.output[0, l].numpy(), r.output, rtol=1e-12, atol=1e-12)
        tr = A.greedy_search(pre, q[l], M, min_skip)
        assert int(res.min_pops[0, l]) == tr.min_pops


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 24), d=st.integers(1, 8), L=st.integers(1, 4),
       kind=st.sampled_from(["normal", "ties", "integer", "fixed", "shifted"]),
       m_extra=st.integers(0, 200), T=st.sampled_from([1.0, 5.0, 10.0, 100.0]), min_skip=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_batched_matches_reference(n, d, L, kind, m_extra, T, min_skip, seed):
    rng = np.random.default_rng(seed)
    K, V, q = _inputs(rng, n, d, L, kind)
    M = m_extra % (n * d + 3)  # 0 .. n*d+2, past exhaustion included
    _compare(K, V, q, M, T, min_skip)


@pytest.mark.parametrize("M", [160, 40])
def test_batched_matches_reference_at_bert_size(M):
    rng = np.random.default_rng(7)
    K, V, q = _inputs(rng, 320, 64, 6, "normal")
    _compare(K, V, q / 8, M, 5.0, True)


def test_groups_and_per_query_M():
    rng = np.random.default_rng(1)
    G, n, d, L = 3, 10, 4, 5
    K, V, q = rng.normal(size=(G, n, d)), rng.normal(size=(G, n, 2)), rng.normal(size=(G, L, d))
    M = torch.tensor(rng.integers(0, 20, size=(G, L)))
    res = B.a3_attention_batched(torch.tensor(K), torch.tensor(V), torch.tensor(q), M, 10.0)
    for g in range(G):
        for l in range(L):
            r = A.a3_attention(K[g], V[g], q[g, l], int(M[g, l]), 10.0)
            assert np.flatnonzero(res.kept[g, l].numpy()).tolist() == r.kept.tolist()
            np.testing.assert_allclose(res.output[g, l].numpy(), r.output, rtol=1e-12, atol=1e-12)


def test_disabled_stages():
    rng = np.random.default_rng(2)
    K, V, q = rng.normal(size=(1, 12, 4)), rng.normal(size=(1, 12, 3)), rng.normal(size=(1, 3, 4))
    Kt, Vt, qt = torch.tensor(K), torch.tensor(V), torch.tensor(q)
    both_off = B.a3_attention_batched(Kt, Vt, qt, None, None)
    torch.testing.assert_close(both_off.output, B.exact_attention_t(Kt, Vt, qt), rtol=1e-12, atol=1e-12)
    assert bool(both_off.kept.all())
    post_only = B.a3_attention_batched(Kt, Vt, qt, None, 5.0)
    s = both_off.scores
    want = (s.max(-1, keepdim=True).values - s) <= np.log(20)
    assert torch.equal(post_only.kept, want)
    cand_only = B.a3_attention_batched(Kt, Vt, qt, 6, None)
    assert torch.equal(cand_only.kept, cand_only.candidates)


@pytest.mark.parametrize("args, match", [
    (dict(K=torch.ones(1, 3, 2), q=torch.ones(1, 1, 3), M=1, T=5.0), "q must be"),
    (dict(K=torch.ones(1, 3, 2), q=torch.ones(1, 1, 2), M=-1, T=5.0), "M"),
    (dict(K=torch.ones(1, 3, 2), q=torch.ones(1, 1, 2), M=1, T=0.0), r"\(0, 100\]"),
    (dict(K=torch.full((1, 3, 2), float("nan")), q=torch.ones(1, 1, 2), M=1, T=5.0), "NaN"),
    (dict(K=torch.ones(1, 3, 2), q=torch.ones(1, 1, 2), M=torch.ones(2, 2, dtype=torch.long), T=5.0), "shape"),
])
def test_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        B.a3_attention_batched(args["K"], torch.ones(1, 3, 2), args["q"], args["M"], args["T"])


def test_M_from_fraction():
    assert [B.M_from_fraction(f, 20) for f in (1, 0.75, 0.5, 0.25, 0.125)] == [20, 15, 10, 5, 3]
    assert B.M_from_fraction(0.5, 320) == 160
    with pytest.raises(ValueError):
        B.M_from_fraction(0.0, 10)
