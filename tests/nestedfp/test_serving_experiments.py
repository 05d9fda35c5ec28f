"""Smoke-scale checks of the NestedFP II experiment functions (shapes, invariants, claims inputs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from artifact.nestedfp import serving_experiments as se


@pytest.fixture(scope="module")
def smoke():
    return se.ServingConfig.for_scale("smoke", factors=(20.0, 8.0))


def test_config_presets_and_validation():
    assert se.ServingConfig.for_scale("full").replay_s == 1200.0  # the authors' 20-minute replay
    with pytest.raises(TypeError, match="valid fields"):
        se.ServingConfig.for_scale("quick", n_gpus=2)
    with pytest.raises(ValueError, match="model"):
        se.ServingConfig.for_scale("quick", model="gpt-5")

    class Paper:  # the paper Config only contributes scale and seed
        scale, seed = "smoke", 3

    assert se.serving_config(Paper()).seed == 3 and se.serving_config(Paper()).replay_s == 60.0


def test_load_sweep_rows_and_invariants(smoke):
    df = se.serving_load_sweep(smoke)
    assert len(df) == 2 * 6 and set(df["policy"]) >= {"fp16_only", "nestedfp_dynamic", "codeploy_dynamic"}
    assert df.loc[df["policy"] == "fp16_only", "fp8_fraction"].eq(0).all()
    assert df.loc[df["policy"] == "fp8_only", "fp8_fraction"].eq(1).all()
    for k in smoke.slo_k[:-1]:  # a looser SLO never lowers attainment
        assert (df[f"slo_k{k}"] <= df[f"slo_k{k + 5}"] + 1e-12).all()
    heavy = df[df["factor"] == 8.0].set_index("policy")
    assert heavy.loc["fp8_only", "ttft_p90_s"] < heavy.loc["fp16_only", "ttft_p90_s"]
    assert (df["latency_source"].str.contains("modelled") | df["latency_source"].str.contains("measured")).all()
    surge = se.surge_comparison(df)
    assert len(surge) >= 1 and "nestedfp_dynamic" in surge.columns


def test_fp8_timeline_and_throughput_mode(smoke):
    tl = se.serving_fp8_timeline(smoke)
    assert set(tl["policy"]) == {"nestedfp_dynamic", "slo_feedback"}
    assert tl["fp8_fraction"].dropna().between(0, 1).all()
    from artifact.nestedfp import serving_trace as st

    n_req = len(st.scale_by_time_compression(st.load_azure_trace(), smoke.surge_factor).head(smoke.replay_s))
    one = tl[tl["policy"] == "slo_feedback"]
    assert one["arrival_rate_req_s"].sum() * smoke.timeline_bin_s == pytest.approx(n_req)
    thr = se.serving_throughput_mode(smoke)
    piv = thr.pivot_table(index=["model", "prompt", "output", "batch"], columns="policy", values="speedup_vs_fp16")
    assert (piv["fp16_only"] == 1).all()
    assert (piv["nested_fp8_only"] > 1).all() and (piv["nested_fp16_only"] < 1).all()


def test_memory_table_codeploy_costs_kv():
    mem = se.serving_memory()
    for model, g in mem.groupby("model"):
        g = g.set_index("deployment")
        assert g.loc["codeploy", "linear_bytes_per_param"] / g.loc["nestedfp", "linear_bytes_per_param"] == 1.5
        assert g.loc["codeploy", "kv_capacity_tokens"] < g.loc["nestedfp", "kv_capacity_tokens"]
        assert g.loc["nestedfp", "weight_gib"] == g.loc["fp16", "weight_gib"]


def test_kernel_interpreter_check_and_gemm_table():
    chk = se.kernel_interpreter_check()
    assert len(chk) == 12 and (chk["rel_err"] < 1e-3).all()
    gemm = se.gemm_benchmark()
    assert isinstance(gemm, pd.DataFrame) and {"arm", "M", "tflops"} <= set(gemm.columns)
    assert np.isfinite(gemm["tflops"].astype(float)).all()


def test_claim_values_from_synthetic_frames():
    rows = []
    for f, att in ((10.0, {"fp16_only": 0.5, "fp8_only": 0.95, "nestedfp_dynamic": 0.7, "slo_feedback": 0.9}),
                   (20.0, {"fp16_only": 0.99, "fp8_only": 1.0, "nestedfp_dynamic": 1.0, "slo_feedback": 1.0}),
                   (5.0, {"fp16_only": 0.0, "fp8_only": 0.1, "nestedfp_dynamic": 0.0, "slo_feedback": 0.05})):
        rows += [{"factor": f, "policy": p, "slo_k10": a} for p, a in att.items()]
    thr = pd.DataFrame([{"model": "m", "prompt": 1, "output": 2, "batch": b, "policy": "nested_fp8_only",
                         "speedup_vs_fp16": s} for b, s in ((32, 1.2), (64, 1.6))])
    v = se.claim_values(pd.DataFrame(rows), thr, se.serving_memory())
    assert v["surge_factors"] == [10.0]  # FP16 misses, FP8 absorbs; 5x is beyond both
    assert v["dynamic_slo_vs_fp16"] == pytest.approx(0.2)
    assert v["dynamic_slo_close_to_fp8"] == pytest.approx(0.25)
    assert v["slo_feedback_close_to_fp8"] == pytest.approx(0.05)
    assert v["fp8_mode_speedup_modelled"] == 1.6 and v["codeploy_weight_ratio"] == 1.5


def test_plots_draw_from_the_frames(smoke):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from artifact.nestedfp import serving_plots as spl

    sweep = se.serving_load_sweep(smoke)
    figs = [spl.plot_ttft_vs_load(sweep), spl.plot_slo_attainment(sweep),
            spl.plot_fp8_timeline(se.serving_fp8_timeline(smoke)),
            spl.plot_throughput_mode(se.serving_throughput_mode(smoke))]
    gemm = pd.DataFrame([{"N": 64, "K": 32, "M": m, "arm": a, "tflops": float(m)} for m in (16, 64)
                         for a in spl.ARM_LABELS])
    figs.append(spl.plot_gemm_tflops(gemm))
    for fig in figs:
        assert fig.axes and all(ax.has_data() for ax in fig.axes if ax.get_visible())
        plt.close(fig)
