"""Heap reference of A3 (papers/a3.md §1.3-1.6): worked examples, properties, bad input."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from artifact.a3 import algorithm as A

SLIDES_Q = np.array([0.8, -0.5, 0.6])
SLIDES_K = np.array([[-0.6, 0.1, 0.4], [0.1, 0.4, -0.9], [0.9, -0.6, 0.3]])
FIG6_K = np.array([[-0.6, 0.1, 0.8], [0.1, -0.2, -0.9], [0.8, 0.6, 0.7], [0.5, 0.7, 0.5]])
FIG6_Q = np.array([0.8, -0.3, 0.4])


@pytest.mark.parametrize("min_skip", [False, True])
def test_slides_example_every_iteration(min_skip):
    tr = A.greedy_search(A.preprocess(SLIDES_K), SLIDES_Q, 3, min_skip=min_skip, record_history=True)
    expected = [[0, -0.54, 0.72], [-0.48, -0.54, 1.02], [-0.24, -0.74, 1.02]]
    for got, want in zip(tr.history, expected):
        np.testing.assert_allclose(got, want, atol=1e-12)
    assert A.candidate_selection(SLIDES_K, SLIDES_Q, 3, min_skip=min_skip).tolist() == [2]
    np.testing.assert_allclose(SLIDES_K @ SLIDES_Q, [-0.29, -0.66, 1.20], atol=1e-12)


def test_fig6_example_with_its_typos():
    tr = A.greedy_search(A.preprocess(FIG6_K), FIG6_Q, 3, min_skip=False, record_history=True)
    np.testing.assert_allclose(tr.history[0][[0, 2]], [-0.48, 0.64], atol=1e-12)  # '-' cells: untouched rows
    np.testing.assert_allclose(tr.history[1], [-0.48, -0.36, 0.64, 0.40], atol=1e-12)
    np.testing.assert_allclose(tr.history[2], [-0.16, -0.36, 0.64, 0.19], atol=1e-12)
    assert A.candidate_selection(FIG6_K, FIG6_Q, 3, min_skip=False).tolist() == [2, 3]
    # the figure's typos: row 1's true score is -0.22 (not -0.38), row 3's is 0.39 (not 0.19)
    np.testing.assert_allclose((FIG6_K @ FIG6_Q)[[1, 3]], [-0.22, 0.39], atol=1e-12)


def test_fig8_sorted_columns_and_initial_max_queue():
    pre = A.preprocess(FIG6_K)
    assert pre.values[:, 0].tolist() == [-0.6, 0.1, 0.5, 0.8] and pre.rows[:, 0].tolist() == [0, 1, 3, 2]
    # initial maxQ heads per column: (0.64, r2, c0), (0.06, r1, c1), (0.32, r0, c2)
    heads = []
    for j in range(3):
        i = 3 if FIG6_Q[j] > 0 else 0
        heads.append((round(pre.values[i, j] * FIG6_Q[j], 10), int(pre.rows[i, j])))
    assert heads == [(0.64, 2), (0.06, 1), (0.32, 0)]


def test_ties_go_to_the_lower_column():
    K = np.array([[1.0, 0.0], [0.0, 1.0]])
    tr = A.greedy_search(A.preprocess(K), np.array([1.0, 1.0]), 1, min_skip=False)
    assert tr.scores.tolist() == [1.0, 0.0] and tr.first_row == 0


def test_exhausted_columns_stop_being_pushed():
    K = np.array([[0.5, -2.0]])
    q = np.array([1.0, 1.0])
    tr = A.greedy_search(A.preprocess(K), q, 10, min_skip=False)
    assert tr.max_pops == 2 and tr.min_pops == 2  # n * d = 2 products per side, then the queues are empty
    np.testing.assert_allclose(tr.scores, K @ q)


def test_min_skip_skips_min_pops_while_running_sum_negative():
    K = np.array([[0.1, -1.0], [0.2, -0.9], [0.0, -0.8]])
    q = np.array([1.0, 1.0])
    off = A.greedy_search(A.preprocess(K), q, 3, min_skip=False)
    on = A.greedy_search(A.preprocess(K), q, 3, min_skip=True)
    assert off.min_pops == 3 and on.min_pops < 3


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 7), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_all_products_consumed_gives_exact_scores(n, d, seed):
    rng = np.random.default_rng(seed)
    K, q = rng.normal(size=(n, d)), rng.normal(size=d)
    tr = A.greedy_search(A.preprocess(K), q, n * d, min_skip=False)
    np.testing.assert_allclose(tr.scores, K @ q, atol=1e-9)
    s = K @ q
    cand = A.candidate_selection(K, q, n * d, min_skip=False)
    assert set(cand.tolist()) >= set(np.flatnonzero(s > 1e-9).tolist())
    assert set(cand.tolist()) <= set(np.flatnonzero(s > -1e-9).tolist())


def test_post_scoring_threshold_keeps_rows_within_ln_100_over_T():
    assert math.isclose(A.post_scoring_threshold(5.0), 2.995732273553991)
    assert math.isclose(A.post_scoring_threshold(100.0), 0.0)
    s = np.array([3.0, 0.5, 0.003, 2.0])
    K = np.diag(s)
    q = np.ones(4)
    V = np.eye(4)
    r = A.a3_attention(K, V, q, M=16, T_percent=5.0, min_skip=False)
    assert r.candidates.tolist() == [0, 1, 2, 3]
    assert r.kept.tolist() == [0, 1, 3]  # 3.0 - 0.003 = 2.997 > ln(20)
    w = np.exp(s[[0, 1, 3]] - 3.0)
    np.testing.assert_allclose(r.output[[0, 1, 3]], w / w.sum(), rtol=1e-12)
    assert r.output[2] == 0.0


def test_no_approximation_limit_equals_exact_attention_on_positive_rows():
    rng = np.random.default_rng(3)
    K, V, q = rng.normal(size=(12, 4)), rng.normal(size=(12, 3)), rng.normal(size=4)
    r = A.a3_attention(K, V, q, M=48, T_percent=1e-9, min_skip=False)
    pos = np.flatnonzero(K @ q > 0)
    np.testing.assert_allclose(r.output, A.exact_attention(K[pos], V[pos], q), rtol=1e-10)


def test_empty_candidate_rule_uses_the_largest_component_product():
    K = np.array([[1.0, 2.0], [3.0, 0.5], [0.2, 0.1]])
    q = np.array([-1.0, -1.0])  # every product is negative: no positive greedy score
    r = A.a3_attention(K, np.eye(3), q, M=4, T_percent=5.0)
    assert r.empty and r.candidates.tolist() == [2] and r.kept.tolist() == [2]  # -0.1 is the largest product
    np.testing.assert_allclose(r.output, [0, 0, 1])
    r0 = A.a3_attention(K, np.eye(3), -q, M=0, T_percent=5.0)  # M = 0: nothing popped
    assert r0.empty and r0.candidates.tolist() == [1]  # 3.0 (row 1, column 0) is the largest product


@pytest.mark.parametrize("kwargs, match", [
    (dict(K=np.ones((3, 2)), q=np.ones(3), M=1, T_percent=5), "q must have shape"),
    (dict(K=np.ones((3, 2)), q=np.ones(2), M=-1, T_percent=5), "M"),
    (dict(K=np.ones((3, 2)), q=np.ones(2), M=1, T_percent=0), r"\(0, 100\]"),
    (dict(K=np.ones((3, 2)), q=np.ones(2), M=1, T_percent=101), r"\(0, 100\]"),
    (dict(K=np.array([[np.nan, 1.0]]), q=np.ones(2), M=1, T_percent=5), "NaN"),
    (dict(K=np.ones((3, 2)), q=np.array([np.nan, 1.0]), M=1, T_percent=5), "NaN"),
    (dict(K=np.ones((0, 2)), q=np.ones(2), M=1, T_percent=5), "non-empty"),
])
def test_bad_input_raises_value_error(kwargs, match):
    V = np.ones((max(kwargs["K"].shape[0], 1), 2)) if kwargs["K"].shape[0] else np.ones((0, 2))
    with pytest.raises(ValueError, match=match):
        A.a3_attention(kwargs["K"], V, kwargs["q"], kwargs["M"], kwargs["T_percent"])


def test_value_shape_mismatch():
    with pytest.raises(ValueError, match="V must have shape"):
        A.a3_attention(np.ones((3, 2)), np.ones((4, 2)), np.ones(2), 1, 5.0)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.integers(1, 20), elements=st.floats(-20, 20)))
def test_quantize_fixed_grid_and_saturation(x):
    y = A.quantize_fixed(x, 4, 4)
    assert np.all(np.abs(y) <= 16 - 1 / 16)
    np.testing.assert_allclose(y * 16, np.round(y * 16))
    inside = np.abs(x) <= 15.9
    assert np.all(np.abs(y[inside] - x[inside]) <= 1 / 32 + 1e-12)
