"""Serving simulator vs a per-request reference scheduler, plus trace, latency and policy checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact.nestedfp import serving
from artifact.nestedfp import serving_latency as sl
from artifact.nestedfp import serving_policy as sp
from artifact.nestedfp import serving_trace as trace_mod
from artifact.nestedfp.serving_trace import Trace

LLAMA = sl.MODELS["llama-3.1-8b"]


def _reference(trace: Trace, policy, lat: sl.LatencyModel, sched: serving.SchedulerConfig, cap: int):
    """Straightforward per-request scheduler with the same rules (O(running) work per iteration)."""
    n = len(trace)
    arr, prompt, out = trace.arrival_s.tolist(), trace.prompt_tokens.tolist(), trace.output_tokens.tolist()
    first, fin = [math.nan] * n, [math.nan] * n
    st_ = {}  # r -> dict(ctx, target, done, produced, decoding)
    waiting, running = [], []
    now, nxt, iters = 0.0, 0, []
    limit = min(cap, sched.max_model_len)

    def kv():
        return sum(s["ctx"] for s in st_.values())

    def preempt():
        r = running.pop()
        s = st_.pop(r)
        waiting.insert(0, r)
        st_[("w", r)] = {"target": prompt[r] + s["produced"] if s["decoding"] else s["target"],
                         "produced": s["produced"], "ctx": 0}

    while True:
        if not running and not waiting:
            if nxt >= n:
                break
            now = max(now, arr[nxt])
        while nxt < n and arr[nxt] <= now:
            if prompt[nxt] + out[nxt] <= limit:
                waiting.append(nxt)
                st_[("w", nxt)] = {"target": prompt[nxt], "produced": 0, "ctx": 0}
            nxt += 1
        if not running and not waiting:
            continue
        decoders = [r for r in running if st_[r]["decoding"]]
        while decoders and kv() + len(decoders) > cap:
            preempt()
            decoders = [r for r in running if st_[r]["decoding"]]
        for r in decoders:
            st_[r]["ctx"] += 1
        left = sched.max_num_batched_tokens - len(decoders)
        n_tok = len(decoders)
        kv_read = sum(st_[r]["ctx"] for r in decoders)
        attn, completing = 0.0, []
        for r in [r for r in running if not st_[r]["decoding"]]:
            if left <= 0:
                break
            s = st_[r]
            chunk = min(s["target"] - s["done"], left, cap - kv())
            if chunk <= 0:
                continue
            attn += chunk * (s["done"] + (chunk + 1) / 2)
            kv_read += s["done"]
            s["done"] += chunk
            s["ctx"] += chunk
            left -= chunk
            n_tok += chunk
            if s["done"] == s["target"]:
                completing.append(r)
        while waiting and left > 0 and len(running) < sched.max_num_seqs:
            r = waiting[0]
            w = st_[("w", r)]
            chunk = min(w["target"], left)
            if kv() + chunk > (cap - int(sched.kv_watermark * cap) if running else cap):
                break
            waiting.pop(0)
            del st_[("w", r)]
            st_[r] = {"ctx": chunk, "target": w["target"], "done": chunk, "produced": w["produced"], "decoding": False}
            running.append(r)
            attn += chunk * (chunk + 1) / 2
            left -= chunk
            n_tok += chunk
            if chunk == w["target"]:
                completing.append(r)
        if n_tok == 0:
            preempt()
            continue
        n_logits = len(decoders) + len(completing)
        n_seqs = len(decoders) + sum(1 for r in running if not st_[r]["decoding"])
        info = sp.IterationInfo()
        info.n_tokens, info.budget = n_tok, sched.max_num_batched_tokens
        mode = policy.choose(info)
        now += lat.iteration_time(mode, n_tok, n_logits, n_seqs, kv_read, attn)
        iters.append(n_tok)
        for r in decoders:
            st_[r]["produced"] += 1
        for r in completing:
            if math.isnan(first[r]):
                first[r] = now
            st_[r]["produced"] += 1
            st_[r]["decoding"] = True
        for r in list(running):
            if st_[r]["produced"] >= out[r]:
                fin[r] = now
                running.remove(r)
                del st_[r]
    return np.array(first), np.array(fin), np.array(iters)


def _small_trace(seed: int, n: int, max_prompt: int, max_out: int, rate: float) -> Trace:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, n / rate, n))
    return Trace(t, rng.integers(1, max_prompt, n), rng.integers(1, max_out, n))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), cap=st.integers(200, 3000), budget=st.sampled_from([16, 64, 256]),
       seqs=st.sampled_from([2, 4, 32]), dynamic=st.booleans())
def test_simulator_matches_reference_scheduler(seed, cap, budget, seqs, dynamic):
    tr = _small_trace(seed, n=25, max_prompt=300, max_out=40, rate=50.0)
    lat = sl.LatencyModel.roofline(LLAMA, max_tokens=512)
    sched = serving.SchedulerConfig(max_num_batched_tokens=budget, max_num_seqs=seqs, max_model_len=4096)
    pol = sp.nestedfp_dynamic() if dynamic else sp.fp16_only()
    res = serving.simulate(tr, pol, lat, sched, kv_capacity=cap)
    first, fin, iters = _reference(tr, pol, lat, sched, cap)
    np.testing.assert_allclose(res.first_token_s, first, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(res.finish_s, fin, rtol=1e-9, equal_nan=True)
    np.testing.assert_array_equal(res.iter_tokens, iters)


def test_single_request_timeline_is_exact():
    tokens = np.arange(0, 513, dtype=np.float64)
    hw = sl.Hardware(fixed_overhead_s=0.0, per_seq_overhead_s=0.0, hbm_tb_s=1e12, fp16_tflops=1e12)
    lat = sl.LatencyModel(LLAMA, hw, {m: np.full_like(tokens, 0.01) for m in sl.MODES}, "const")
    tr = Trace(np.array([1.0]), np.array([100]), np.array([5]))
    res = serving.simulate(tr, sp.fp16_only(), lat, serving.SchedulerConfig(max_num_batched_tokens=64),
                           kv_capacity=10_000)
    # prefill 64 + 36 tokens (2 iterations), then 4 decode iterations; lm-head/attention ~ 0
    assert res.iter_tokens.tolist() == [64, 36, 1, 1, 1, 1]
    assert res.ttft_s[0] == pytest.approx(0.02, rel=1e-6)
    assert res.finish_s[0] == pytest.approx(1.06, rel=1e-6)
    assert res.tpot_s[0] == pytest.approx(0.01, rel=1e-6)


def test_full_azure_trace_at_1x_replays_every_request():
    tr = trace_mod.load_azure_trace()
    res = serving.simulate(tr, sp.nestedfp_dynamic(), sl.LatencyModel.roofline(LLAMA))
    summary = serving.summarize(res)
    assert summary["n_finished"] == len(tr) == 89_617
    assert 0 < summary["fp8_fraction"] < 1
    assert np.all(res.first_token_s >= res.arrival_s) and np.all(res.finish_s >= res.first_token_s)


def test_fp8_serves_overload_faster_than_fp16():
    tr = trace_mod.scale_by_time_compression(trace_mod.load_azure_trace(), 8).head(120)
    lat = sl.LatencyModel.roofline(sl.MODELS["mistral-small-24b"])
    s16 = serving.summarize(serving.simulate(tr, sp.fp16_only(), lat))
    s8 = serving.summarize(serving.simulate(tr, sp.fp8_only(), lat))
    assert s8["ttft_p90_s"] < s16["ttft_p90_s"]
    assert s8["fp8_fraction"] == 1.0 and s16["fp8_fraction"] == 0.0


def test_too_long_requests_are_rejected_not_deadlocked():
    tr = Trace(np.array([0.0, 0.1]), np.array([5000, 10]), np.array([10, 3]))
    res = serving.simulate(tr, sp.fp16_only(), sl.LatencyModel.roofline(LLAMA, max_tokens=64), kv_capacity=1000)
    assert res.rejected.tolist() == [True, False]
    assert np.isnan(res.finish_s[0]) and not np.isnan(res.finish_s[1])
    assert serving.slo_attainment(res, 10.0, 10.0, middle=1.0) == 0.5


def test_metrics_middle_70_percent_and_attainment():
    mask = serving.middle_mask(100)
    assert mask.sum() == 70 and not mask[:15].any() and mask[15:85].all()
    n = 20
    res = serving.SimResult("p", "fp16", "x", 100, 1.0, np.zeros(n), np.ones(n, dtype=np.int64),
                            np.full(n, 3, dtype=np.int64), np.arange(n, dtype=float), np.arange(n) + 2.0,
                            np.zeros(n, bool), np.zeros(n, int), np.zeros(1), np.ones(1), np.ones(1, np.int64),
                            np.zeros(1, bool))
    s = serving.summarize(res, middle=1.0)
    assert s["ttft_p50_s"] == pytest.approx(np.percentile(np.arange(n), 50))
    assert s["tpot_mean_s"] == pytest.approx(1.0)
    assert serving.slo_attainment(res, 9.0, 1.0, middle=1.0) == pytest.approx(0.5)
    assert serving.slo_attainment(res, 100.0, 0.5, middle=1.0) == 0.0


def test_policies_follow_their_rules():
    info = sp.IterationInfo()
    info.budget = 8192
    dyn = sp.nestedfp_dynamic()
    info.n_tokens = 4096
    assert dyn.choose(info) == "nested_fp16"
    info.n_tokens = 4097
    assert dyn.choose(info) == "nested_fp8"
    assert sp.codeploy_dynamic().choose(info) == "fp8" and sp.fp16_only().choose(info) == "fp16"
    slo = sp.SloFeedbackPolicy(ttft_slo_s=1.0, tpot_slo_s=0.1, margin=0.5)
    info.t_fp16_s, info.oldest_wait_s, info.backlog_tokens, info.t_full_fp16_s = 0.04, 0.1, 0, 0.3
    assert slo.choose(info) == "nested_fp16"
    info.t_fp16_s = 0.06  # TPOT slack short
    assert slo.choose(info) == "nested_fp8"
    info.t_fp16_s, info.backlog_tokens = 0.04, 8192 * 2  # two full iterations ahead: 0.1 + 0.6 > 0.5
    assert slo.choose(info) == "nested_fp8"
    with pytest.raises(ValueError):
        sp.SloFeedbackPolicy(ttft_slo_s=0.0, tpot_slo_s=0.1)


def test_memory_accounting_and_kv_capacity():
    lin = LLAMA.linear_params
    assert sl.weight_bytes(LLAMA, "codeploy") - sl.weight_bytes(LLAMA, "nestedfp") == pytest.approx(
        lin * 1.0 + LLAMA.embed_params * 2.0)
    assert sl.weight_bytes(LLAMA, "nestedfp") == sl.weight_bytes(LLAMA, "fp16")
    caps = {d: sl.kv_capacity_tokens(LLAMA, sl.H100_SXM, d) for d in sl.DEPLOYMENT_LINEAR_BYTES}
    assert caps["fp8"] > caps["nestedfp"] == caps["fp16"] > caps["codeploy"] > 0
    assert LLAMA.kv_bytes_per_token == 131072  # 2 * 32 layers * 8 kv heads * 128 * 2 bytes
    with pytest.raises(ValueError, match="deployment"):
        sl.weight_bytes(LLAMA, "int4")


def _gemm_csv(path, arms=tuple(sl.MODE_TO_ARM.values()), shapes=LLAMA.linear_shapes):
    rows = [{"device": "FAKE", "arm": a, "N": n, "K": k, "M": m, "ms_median": 0.01 + m * 1e-5 * (2 if "fp16" in a else 1)}
            for a in arms for n, k in shapes for m in (16, 256, 2048)]
    pd.DataFrame(rows).to_csv(path, index=False)


def test_measured_latency_table_interpolates_and_names_missing_mode(tmp_path):
    p = tmp_path / "nestedfp_gemm.csv"
    _gemm_csv(p)
    lat = sl.LatencyModel.from_measured_csv(p, LLAMA)
    expect = 32 * 4 * (0.01 + 256 * 2e-5) * 1e-3
    assert lat.linear_time("fp16", 256) == pytest.approx(expect)
    assert lat.linear_time("fp8", 4096) > lat.linear_time("fp8", 2048)  # extrapolated past the table
    assert "FAKE" in lat.source
    _gemm_csv(p, arms=[a for m, a in sl.MODE_TO_ARM.items() if m != "nested_fp8"])
    with pytest.raises(sl.LatencyTableError, match="nested_fp8"):
        sl.LatencyModel.from_measured_csv(p, LLAMA)
    _gemm_csv(p, shapes=((1, 2), (3, 4)))
    with pytest.raises(sl.ShapeNotCoveredError):
        sl.LatencyModel.from_measured_csv(p, LLAMA)
    (tmp_path / "dev").mkdir()
    _gemm_csv(tmp_path / "dev" / "nestedfp_gemm.csv")
    assert sl.find_measured_gemm_csv(tmp_path) == tmp_path / "dev" / "nestedfp_gemm.csv"


def test_roofline_fp8_faster_and_nested_fp16_overhead():
    lat = sl.LatencyModel.roofline(LLAMA)
    for t in (1, 256, 8192):
        assert lat.linear_time("fp8", t) < lat.linear_time("fp16", t)
        assert lat.linear_time("nested_fp16", t) == pytest.approx(lat.linear_time("fp16", t) * 1.039)
        assert lat.linear_time("nested_fp8", t) == lat.linear_time("fp8", t)


def test_azure_trace_statistics_and_transformations():
    tr = trace_mod.load_azure_trace()
    assert len(tr) == 89_617 and tr.rate == pytest.approx(74.7, abs=0.05)
    assert np.median(tr.prompt_tokens) == 1030 and np.median(tr.output_tokens) == 38
    slow = trace_mod.scale_by_time_compression(tr, 10)
    assert slow.rate == pytest.approx(7.47, abs=0.01)
    assert len(slow.head(120.0)) == len(tr.head(12.0))
    big = trace_mod.scale_by_token_length(tr, 4)
    assert big.prompt_tokens[0] == 4 * tr.prompt_tokens[0]
    pois = trace_mod.poisson_arrivals(tr.head(60.0), seed=1)
    assert pois.rate == pytest.approx(tr.head(60.0).rate, rel=0.1)
    with pytest.raises(ValueError):
        trace_mod.scale_by_time_compression(tr, 0)


def test_trace_with_missing_columns_raises_clear_error(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("TIMESTAMP,ContextTokens\n2024-05-14 14:00:00+00:00,5\n")
    with pytest.raises(trace_mod.TraceFormatError, match="GeneratedTokens"):
        trace_mod.load_azure_trace(p)
    with pytest.raises(trace_mod.TraceFormatError, match="sorted"):
        Trace(np.array([1.0, 0.0]), np.array([1, 1]), np.array([1, 1]))
