"""NestedFP II experiments: GEMM table, kernel checks, and the modelled serving study.

``papers/nestedfp.md`` §1.6-§1.7 (kernels), §2.1 claims 2, 3 and 5, §3.4 (throughput mode),
§3.5 (Azure-trace SLO runs). Functions take the paper ``Config`` (only ``scale`` and ``seed`` are
used) or a :class:`ServingConfig`, and return tidy DataFrames for ``serving_plots``.

Every serving number is **modelled** (discrete-event simulator + H100 roofline, or measured GEMM
times when ``data/measured/<device>/nestedfp_gemm.csv`` covers the model's shapes); the
``latency_source`` column says which. GEMM speed itself is only ever read from a measured CSV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from artifact import scales
from artifact.nestedfp import serving
from artifact.nestedfp import serving_latency as sl
from artifact.nestedfp import serving_policy as sp
from artifact.nestedfp import serving_trace as st

__all__ = [
    "ServingConfig",
    "SERVING_PRESETS",
    "serving_config",
    "gemm_benchmark",
    "kernel_interpreter_check",
    "serving_load_sweep",
    "serving_fp8_timeline",
    "serving_throughput_mode",
    "serving_memory",
    "surge_comparison",
    "claim_values",
]

SERVING_PRESETS: dict[str, dict] = {
    # smoke: 60 s replay windows, 4 load points, 2 throughput-mode batches (< 10 s)
    "smoke": dict(replay_s=60.0, factors=(20.0, 10.0, 8.0, 6.0), throughput_batches=(64, 256),
                  throughput_lens=((128, 32), (1024, 512))),
    # quick: 5-minute replay windows, 9 load points (about 30 s)
    "quick": dict(replay_s=300.0),
    # full: the authors' 20-minute client replay at every load point
    "full": dict(replay_s=1200.0, factors=(40.0, 20.0, 17.5, 15.0, 12.5, 10.0, 9.0, 8.0, 7.5, 7.0, 6.0, 5.0)),
}


@dataclass(frozen=True)
class ServingConfig:
    """Serving-study sizes; build with :meth:`for_scale`."""

    scale: str = "quick"
    seed: int = 0
    model: str = "mistral-small-24b"  # saturates an H100 inside the paper's 5-80x range (8B does not)
    replay_s: float = 300.0  # replay window in (stretched) trace time per load point
    factors: tuple[float, ...] = (20.0, 15.0, 12.5, 10.0, 9.0, 8.0, 7.0, 6.0, 5.0)  # time compression
    light_factor: float = 80.0  # light load: reference for the SLOs (k x its mean TTFT / TPOT)
    token_scale: float = 1.0  # the repository's _{f}x_token transformation (1 = off)
    slo_k: tuple[int, ...] = (5, 10, 15, 20, 25)
    policy_slo_k: float = 10.0  # SLO the SLO-feedback policy steers to
    claim_slo_k: int = 10  # SLO used for the attainment claims
    max_num_batched_tokens: int = 8192  # the paper README's server setting
    max_num_seqs: int = 256
    surge_factor: float = 8.0  # load point of the FP8-fraction timeline
    timeline_bin_s: float = 10.0
    throughput_batches: tuple[int, ...] = (32, 64, 128, 256, 512)
    throughput_lens: tuple[tuple[int, int], ...] = ((128, 32), (128, 512), (1024, 32), (1024, 512))

    def __post_init__(self) -> None:
        scales.check_scale(self.scale)
        if self.model not in sl.MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose one of {sorted(sl.MODELS)}")
        if self.replay_s <= 0 or not self.factors or min(self.factors) <= 0:
            raise ValueError("replay_s and every time-compression factor must be > 0")
        if self.claim_slo_k not in self.slo_k:
            raise ValueError(f"claim_slo_k={self.claim_slo_k} must be one of slo_k={self.slo_k}")

    @classmethod
    def for_scale(cls, scale: str, **overrides) -> "ServingConfig":
        return scales.for_scale(cls, SERVING_PRESETS, scale, **overrides)

    @property
    def sched(self) -> serving.SchedulerConfig:
        return serving.SchedulerConfig(max_num_batched_tokens=self.max_num_batched_tokens,
                                       max_num_seqs=self.max_num_seqs)


def serving_config(cfg) -> ServingConfig:
    """A :class:`ServingConfig` from the paper ``Config`` (its scale and seed) or itself."""
    if isinstance(cfg, ServingConfig):
        return cfg
    return ServingConfig.for_scale(cfg.scale, seed=cfg.seed)


# ----------------------------------------------------------------------------- kernels
def gemm_benchmark(cfg=None) -> pd.DataFrame:
    """Rows of the measured GEMM CSV (``scripts/gpu/nestedfp_gemm.py``) or an empty frame (needs GPU)."""
    path = sl.find_measured_gemm_csv()
    if path is None:
        return pd.DataFrame(columns=["device", "date_utc", "N", "K", "M", "arm", "ms_median", "tflops",
                                     "speedup_vs_cublas_fp16", "speedup_vs_scaled_mm_fp8", "source"])
    df = pd.read_csv(path)
    df["source"] = str(path.relative_to(path.parents[2])) if len(path.parents) > 2 else str(path)
    return df


def kernel_interpreter_check(cfg=None) -> pd.DataFrame:
    """Both Triton kernels vs their references at small shapes on this machine (correctness only)."""
    import torch

    from artifact.nestedfp import kernels
    from artifact.nestedfp.format import split

    rows = []
    for m, n, k in ((5, 32, 48), (33, 48, 64), (17, 20, 30)):
        g = torch.Generator().manual_seed(m * 1000 + n * 10 + k)
        w = (torch.randn(n, k, generator=g) * 0.3).clamp(-1.75, 1.75).half()  # (N, K)
        x = torch.randn(m, k, generator=g).half()  # (M, K)
        hi, lo = split(w)
        x8, xs = kernels.quantize_per_token_e4m3(x)
        for swap in (False, True):
            c = kernels.KernelConfig(16, 32, 32, group_m=2, swap_ab=swap, num_warps=1, num_stages=1)
            exact = x.float() @ w.float().T
            y16 = kernels.nested_fp16_matmul(x, hi, lo, config=c).float()
            r8 = kernels.nested_fp8_matmul_reference(x8, xs, hi).float()
            y8 = kernels.nested_fp8_matmul(x8, xs, hi, config=c).float()
            for kernel, y, ref in (("nested_fp16", y16, exact), ("nested_fp8", y8, r8)):
                rows.append({"M": m, "N": n, "K": k, "kernel": kernel, "swap_ab": swap,
                             "max_abs_err": float((y - ref).abs().max()),
                             "rel_err": float((y - ref).norm() / ref.norm()),
                             "device": "cuda" if y.is_cuda else "cpu (Triton interpreter)"})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- serving
def _latency(scfg: ServingConfig) -> sl.LatencyModel:
    return sl.LatencyModel.default(sl.MODELS[scfg.model], max_tokens=max(scfg.max_num_batched_tokens, 1024))


def _trace(base: st.Trace, scfg: ServingConfig, factor: float) -> st.Trace:
    tr = st.scale_by_time_compression(base, factor)
    if scfg.token_scale != 1.0:
        tr = st.scale_by_token_length(tr, scfg.token_scale)
    return tr.head(scfg.replay_s)


def _policies(ttft_slo: float, tpot_slo: float) -> list[sp.Policy]:
    return [sp.fp16_only(), sp.fp8_only(), sp.nested_fp8_only(), sp.nestedfp_dynamic(),
            sp.SloFeedbackPolicy(ttft_slo, tpot_slo), sp.codeploy_dynamic()]


def _light_reference(base: st.Trace, scfg: ServingConfig, lat: sl.LatencyModel) -> tuple[float, float]:
    res = serving.simulate(_trace(base, scfg, scfg.light_factor), sp.fp16_only(), lat, scfg.sched)
    s = serving.summarize(res)
    return s["ttft_mean_s"], s["tpot_mean_s"]


def serving_load_sweep(cfg) -> pd.DataFrame:
    """One row per (policy, time-compression factor): latency percentiles, throughput, FP8
    fraction and SLO attainment at k x the FP16 light-load mean TTFT/TPOT (columns ``slo_k<k>``)."""
    from tqdm.auto import tqdm

    scfg = serving_config(cfg)
    base = st.load_azure_trace()
    lat = _latency(scfg)
    ttft0, tpot0 = _light_reference(base, scfg, lat)
    rows = []
    for f in tqdm(scfg.factors, desc="serving load sweep", leave=False):
        tr = _trace(base, scfg, f)
        for pol in _policies(scfg.policy_slo_k * ttft0, scfg.policy_slo_k * tpot0):
            res = serving.simulate(tr, pol, lat, scfg.sched)
            row = {"factor": f, "rate_req_s": len(tr) / scfg.replay_s, **serving.summarize(res),
                   "light_ttft_mean_s": ttft0, "light_tpot_mean_s": tpot0, "model": lat.model.name}
            for k in scfg.slo_k:
                row[f"slo_k{k}"] = serving.slo_attainment(res, k * ttft0, k * tpot0)
            rows.append(row)
    return pd.DataFrame(rows)


def serving_fp8_timeline(cfg) -> pd.DataFrame:
    """FP8 fraction of iterations per time bin at the surge load, next to the arrival rate."""
    scfg = serving_config(cfg)
    base = st.load_azure_trace()
    lat = _latency(scfg)
    ttft0, tpot0 = _light_reference(base, scfg, lat)
    tr = _trace(base, scfg, scfg.surge_factor)
    pols = (sp.nestedfp_dynamic(), sp.SloFeedbackPolicy(scfg.policy_slo_k * ttft0, scfg.policy_slo_k * tpot0))
    runs = [serving.simulate(tr, pol, lat, scfg.sched) for pol in pols]
    end = max(scfg.replay_s, max(float(r.iter_start_s.max()) for r in runs))  # replay + drain
    edges = np.arange(0.0, end + scfg.timeline_bin_s, scfg.timeline_bin_s)
    arrivals = np.histogram(tr.arrival_s, edges)[0] / scfg.timeline_bin_s
    rows = []
    for pol, res in zip(pols, runs):
        idx = np.digitize(res.iter_start_s, edges) - 1
        for b in range(len(edges) - 1):
            sel = idx == b
            rows.append({"policy": pol.name, "t_s": edges[b], "arrival_rate_req_s": arrivals[b],
                         "fp8_fraction": float(res.iter_fp8[sel].mean()) if sel.any() else np.nan,
                         "mean_tokens_per_iter": float(res.iter_tokens[sel].mean()) if sel.any() else np.nan,
                         "factor": scfg.surge_factor, "latency_source": res.latency_source})
    return pd.DataFrame(rows)


def serving_throughput_mode(cfg) -> pd.DataFrame:
    """The paper's throughput mode (§3.4): ``batch`` identical requests sent at once; output
    tokens/s per mode and speedup over FP16-only, for each model preset."""
    scfg = serving_config(cfg)
    policies = [sp.fp16_only(), sp.StaticPolicy("nested_fp16_only", "nestedfp", "nested_fp16"),
                sp.nested_fp8_only(), sp.fp8_only()]
    rows = []
    for key, model in sl.MODELS.items():
        lat = sl.LatencyModel.default(model, max_tokens=max(scfg.max_num_batched_tokens, 1024))
        for p_len, o_len in scfg.throughput_lens:
            for b in scfg.throughput_batches:
                tr = st.burst_trace(b, p_len, o_len)
                base = None
                for pol in policies:
                    res = serving.simulate(tr, pol, lat, scfg.sched)
                    thr = float(res.output_tokens.sum() / np.nanmax(res.finish_s))
                    base = thr if base is None else base
                    rows.append({"model": model.name, "prompt": p_len, "output": o_len, "batch": b,
                                 "policy": pol.name, "output_tok_per_s": thr, "speedup_vs_fp16": thr / base,
                                 "latency_source": lat.source})
    return pd.DataFrame(rows)


def serving_memory(cfg=None) -> pd.DataFrame:
    """Weights and KV-cache capacity per deployment on one 80 GB H100 (analytic, exact arithmetic)."""
    rows = []
    sched = serving.SchedulerConfig()
    for key, model in sl.MODELS.items():
        for dep, bpp in sl.DEPLOYMENT_LINEAR_BYTES.items():
            cap = sl.kv_capacity_tokens(model, sl.H100_SXM, dep, gpu_memory_utilization=sched.gpu_memory_utilization,
                                        activation_reserve_gib=sched.activation_reserve_gib)
            rows.append({"model": model.name, "deployment": dep, "linear_bytes_per_param": bpp,
                         "serves": {"fp16": "FP16", "fp8": "FP8", "nestedfp": "FP16+FP8", "codeploy": "FP16+FP8"}[dep],
                         "weight_gib": sl.weight_bytes(model, dep) / 2**30, "kv_capacity_tokens": max(cap, 0)})
    return pd.DataFrame(rows)


def surge_comparison(sweep: pd.DataFrame, k: int = 10, threshold: float = 0.9) -> pd.DataFrame:
    """Attainment at SLO k per policy on the *surge* load points: FP16-only attains < ``threshold``
    while FP8-only attains >= it (a surge that FP8 could absorb). Falls back to the points where
    FP16-only misses, then to the two heaviest points. Used by the claims."""
    wide = sweep.pivot_table(index="factor", columns="policy", values=f"slo_k{k}")
    surge = wide[(wide["fp16_only"] < threshold) & (wide["fp8_only"] >= threshold)]
    if surge.empty:
        surge = wide[wide["fp16_only"] < threshold]
    if surge.empty:
        surge = wide.sort_index().iloc[:2]
    return surge.reset_index()


def claim_values(sweep: pd.DataFrame, throughput: pd.DataFrame, memory: pd.DataFrame, k: int = 10) -> dict:
    """Measured values for the modelled claims in ``data/paper/nestedfp.yaml`` (NestedFP II block)."""
    surge = surge_comparison(sweep, k)
    mem = memory.set_index(["model", "deployment"])["linear_bytes_per_param"]
    model = memory["model"].iloc[0]
    nested8 = throughput[throughput["policy"] == "nested_fp8_only"]
    best = nested8.loc[nested8["speedup_vs_fp16"].idxmax()]
    return {
        "fp8_mode_speedup_modelled": float(best["speedup_vs_fp16"]),
        "fp8_mode_speedup_modelled_at": f"{best['model']}, in={best['prompt']}, out={best['output']}, batch={best['batch']}",
        "dynamic_slo_vs_fp16": float((surge["nestedfp_dynamic"] - surge["fp16_only"]).min()),
        "dynamic_slo_close_to_fp8": float((surge["fp8_only"] - surge["nestedfp_dynamic"]).mean()),
        "slo_feedback_close_to_fp8": float((surge["fp8_only"] - surge["slo_feedback"]).mean()),
        "codeploy_weight_ratio": float(mem[(model, "codeploy")] / mem[(model, "nestedfp")]),
        "surge_factors": [float(f) for f in surge["factor"]],
        "surge_detail": "; ".join(
            f"{p} {[round(float(v), 3) for v in surge[p]]}"
            for p in ("fp16_only", "nestedfp_dynamic", "slo_feedback", "nested_fp8_only", "fp8_only") if p in surge),
    }
