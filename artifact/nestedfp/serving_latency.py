"""Per-mode iteration-latency model and KV-cache capacity for the serving simulator.

``papers/nestedfp.md`` §2.4 (memory), §3.4-§3.5 (serving setup), §5.1 item 4. One serving
iteration (one forward pass over all scheduled tokens) costs

    t = t_linear(mode, T) + t_lm_head(n_logits) + t_attention + t_fixed + n_seqs * t_per_seq

* ``t_linear`` — all converted Linear layers for ``T`` scheduled tokens. Either **measured**: the
  H100 GEMM CSV written by ``scripts/gpu/nestedfp_gemm.py`` (interpolated over M, per layer shape),
  or a **roofline** on the documented :class:`Hardware` constants: per GEMM
  ``max(2*T*N*K / (peak_mode * eff), bytes_mode*N*K / (HBM * eff_bw))``.
* ``t_lm_head`` stays FP16 in every mode (NestedFP excludes ``lm_head``, §1.4).
* ``t_attention`` — prefill attention FLOPs at FP16 peak and the KV bytes read (FP16 KV cache in
  every mode); FP8 never speeds this part up, which is why end-to-end gains stay below GEMM gains.

Modes: ``fp16`` (cuBLAS FP16 weights), ``fp8`` (standard FP8 ``torch._scaled_mm``),
``nested_fp16`` (NestedFP FP16 mode: FP16 roofline times ``1 + nested_fp16_overhead``),
``nested_fp8`` (NestedFP FP8 mode: the FP8 roofline). Everything here is *modelled* unless the
measured CSV is used; results must be labelled accordingly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from artifact import paths

__all__ = [
    "MODES",
    "MODE_TO_ARM",
    "DEPLOYMENT_LINEAR_BYTES",
    "ModelSpec",
    "MODELS",
    "Hardware",
    "H100_SXM",
    "LatencyTableError",
    "ShapeNotCoveredError",
    "LatencyModel",
    "find_measured_gemm_csv",
    "weight_bytes",
    "kv_capacity_tokens",
]

MODES = ("fp16", "fp8", "nested_fp16", "nested_fp8")
FP8_MODES = frozenset({"fp8", "nested_fp8"})
MODE_TO_ARM = {  # columns 'arm' of the GEMM benchmark CSV
    "fp16": "cublas_fp16",
    "fp8": "scaled_mm_fp8",
    "nested_fp16": "triton_nested_fp16",
    "nested_fp8": "triton_nested_fp8",
}
# bytes per parameter of the converted Linear layers held in GPU memory, per deployment
DEPLOYMENT_LINEAR_BYTES = {"fp16": 2.0, "fp8": 1.0, "nestedfp": 2.0, "codeploy": 3.0}
MEASURED_CSV_NAME = "nestedfp_gemm.csv"


@dataclass(frozen=True)
class ModelSpec:
    """Transformer shapes; ``linear_shapes`` are the fused (N_out, K_in) GEMMs of one layer."""

    name: str
    n_layers: int
    hidden: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    vocab: int
    linear_shapes: tuple[tuple[int, int], ...]

    @property
    def linear_params(self) -> int:
        return self.n_layers * sum(n * k for n, k in self.linear_shapes)

    @property
    def embed_params(self) -> int:  # input embedding + lm_head, both kept FP16 (untied)
        return 2 * self.vocab * self.hidden

    @property
    def kv_bytes_per_token(self) -> int:  # K and V, FP16, all layers
        return 2 * self.n_layers * self.n_kv_heads * self.head_dim * 2


MODELS = {
    # qkv_proj, o_proj, gate_up_proj, down_proj after vLLM fusion (§1.6)
    "llama-3.1-8b": ModelSpec("Llama-3.1-8B", 32, 4096, 32, 8, 128, 128256,
                              ((6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336))),
    "mistral-small-24b": ModelSpec("Mistral-Small-24B", 40, 5120, 32, 8, 128, 131072,
                                   ((6144, 5120), (5120, 4096), (65536, 5120), (5120, 32768))),
}


@dataclass(frozen=True)
class Hardware:
    """Roofline constants. Defaults: NVIDIA H100 SXM5 80 GB datasheet peaks (dense tensor-core
    FP16 989.4 TFLOP/s, FP8 1978.9 TFLOP/s, HBM3 3.35 TB/s) and efficiencies we assume for
    cuBLAS/CUTLASS-class kernels (not measured); ``nested_fp16_overhead`` defaults to the paper
    abstract's 3.9 % and is replaced by the measured ratio when a GPU table exists."""

    name: str = "H100 SXM roofline"
    memory_gib: float = 80.0
    hbm_tb_s: float = 3.35
    fp16_tflops: float = 989.4
    fp8_tflops: float = 1978.9
    fp16_efficiency: float = 0.75  # achievable fraction of peak for large FP16 GEMMs (assumed)
    fp8_efficiency: float = 0.65  # FP8 GEMMs reach a lower fraction of their 2x peak (assumed)
    attention_efficiency: float = 0.5  # FlashAttention-3 prefill fraction of FP16 peak (assumed)
    bandwidth_efficiency: float = 0.8  # achievable fraction of HBM bandwidth (assumed)
    fixed_overhead_s: float = 2.0e-3  # scheduler, sampling, launch per iteration (assumed)
    per_seq_overhead_s: float = 5.0e-6  # per scheduled sequence (assumed)
    nested_fp16_overhead: float = 0.039  # NestedFP16 vs FP16 GEMM time (paper abstract, assumed)


H100_SXM = Hardware()


class LatencyTableError(ValueError):
    """A measured latency table is missing a mode/shape or is malformed."""


class ShapeNotCoveredError(LatencyTableError):
    """A measured latency table was taken for other layer shapes than this model's."""


def weight_bytes(model: ModelSpec, deployment: str) -> float:
    """GPU bytes for weights: Linear layers at the deployment's bytes/param, plus FP16 embedding
    and lm_head (twice for the two-model FP16+FP8 co-deployment)."""
    if deployment not in DEPLOYMENT_LINEAR_BYTES:
        raise ValueError(f"unknown deployment {deployment!r}; choose one of {sorted(DEPLOYMENT_LINEAR_BYTES)}")
    copies = 2 if deployment == "codeploy" else 1
    return model.linear_params * DEPLOYMENT_LINEAR_BYTES[deployment] + copies * model.embed_params * 2.0


def kv_capacity_tokens(model: ModelSpec, hw: Hardware, deployment: str, *, gpu_memory_utilization: float = 0.9,
                       activation_reserve_gib: float = 4.0) -> int:
    """KV-cache tokens that fit in the memory left after weights (vLLM-style): may be <= 0."""
    free = hw.memory_gib * 2**30 * gpu_memory_utilization - weight_bytes(model, deployment) - activation_reserve_gib * 2**30
    return int(free // model.kv_bytes_per_token)


def find_measured_gemm_csv(root: Path | None = None) -> Path | None:
    """The first ``data/measured/<device>/nestedfp_gemm.csv`` (sorted), or None."""
    base = root if root is not None else paths.data_dir("measured")
    found = sorted(base.glob(f"*/{MEASURED_CSV_NAME}")) if base.exists() else []
    return found[0] if found else None


def _roofline_linear(model: ModelSpec, hw: Hardware, mode: str, tokens: np.ndarray) -> np.ndarray:
    fp8 = mode in FP8_MODES
    peak = (hw.fp8_tflops * hw.fp8_efficiency if fp8 else hw.fp16_tflops * hw.fp16_efficiency) * 1e12
    bw = hw.hbm_tb_s * 1e12 * hw.bandwidth_efficiency
    w_bytes, a_bytes = (1.0, 1.0) if fp8 else (2.0, 2.0)
    t = np.zeros_like(tokens, dtype=np.float64)
    for n, k in model.linear_shapes:
        flops = 2.0 * tokens * n * k
        moved = w_bytes * n * k + a_bytes * tokens * k + 2.0 * tokens * n  # weights + x in + fp16 out
        t += np.maximum(flops / peak, moved / bw)
    t *= model.n_layers
    if mode == "nested_fp16":
        t *= 1.0 + hw.nested_fp16_overhead
    return t


def _measured_linear(model: ModelSpec, df, mode: str, tokens: np.ndarray, source: str) -> np.ndarray:
    arm = MODE_TO_ARM[mode]
    rows = df[df["arm"] == arm]
    if rows.empty:
        raise LatencyTableError(f"latency table {source} has no rows for mode {mode!r} (arm {arm!r})")
    t = np.zeros_like(tokens, dtype=np.float64)
    for n, k in model.linear_shapes:
        sub = rows[(rows["N"] == n) & (rows["K"] == k)].sort_values("M")
        if len(sub) < 2:
            raise ShapeNotCoveredError(f"latency table {source} lacks shape (N={n}, K={k}) for mode {mode!r} "
                                    f"(needs >= 2 values of M); model {model.name} cannot use it")
        m = sub["M"].to_numpy(dtype=np.float64)
        s = sub["ms_median"].to_numpy(dtype=np.float64) * 1e-3
        slope = max((s[-1] - s[-2]) / (m[-1] - m[-2]), 0.0)  # extrapolate linearly past the largest M
        t += np.where(tokens > m[-1], s[-1] + slope * (tokens - m[-1]), np.interp(tokens, m, s))
    return t * model.n_layers


class LatencyModel:
    """Iteration latency per mode; build with :meth:`roofline` or :meth:`from_measured_csv`."""

    def __init__(self, model: ModelSpec, hw: Hardware, linear_s: dict[str, np.ndarray], source: str) -> None:
        missing = [m for m in MODES if m not in linear_s]
        if missing:
            raise LatencyTableError(f"latency model lacks mode(s) {missing}; every mode in {MODES} is required")
        self.model, self.hw, self.source = model, hw, source
        self._linear = {m: np.asarray(v, dtype=np.float64) for m, v in linear_s.items()}  # (max_tokens+1,) s
        self.max_tokens = len(self._linear["fp16"]) - 1
        bw = hw.hbm_tb_s * 1e12 * hw.bandwidth_efficiency
        self._kv_s_per_token = model.kv_bytes_per_token / bw
        self._attn_s_per_unit = 4.0 * model.n_layers * model.n_heads * model.head_dim / (
            hw.fp16_tflops * 1e12 * hw.attention_efficiency)
        self._lm_head_bytes_s = model.vocab * model.hidden * 2.0 / bw
        self._lm_head_flop_s = 2.0 * model.vocab * model.hidden / (hw.fp16_tflops * 1e12 * hw.fp16_efficiency)

    @classmethod
    def roofline(cls, model: ModelSpec, hw: Hardware = H100_SXM, max_tokens: int = 16384) -> "LatencyModel":
        tokens = np.arange(max_tokens + 1, dtype=np.float64)
        return cls(model, hw, {m: _roofline_linear(model, hw, m, tokens) for m in MODES}, f"modelled ({hw.name})")

    @classmethod
    def from_measured_csv(cls, path: str | Path, model: ModelSpec, hw: Hardware = H100_SXM,
                          max_tokens: int = 16384) -> "LatencyModel":
        import pandas as pd

        path = Path(path)
        df = pd.read_csv(path)
        need = {"arm", "N", "K", "M", "ms_median"}
        if not need <= set(df.columns):
            raise LatencyTableError(f"latency table {path} lacks column(s) {sorted(need - set(df.columns))}")
        tokens = np.arange(max_tokens + 1, dtype=np.float64)
        linear = {m: _measured_linear(model, df, m, tokens, str(path)) for m in MODES}
        for m in MODES:
            linear[m][0] = 0.0
        device = str(df["device"].iloc[0]) if "device" in df.columns else path.parent.name
        return cls(model, hw, linear, f"measured GEMMs ({device}) + modelled attention")

    @classmethod
    def default(cls, model: ModelSpec, hw: Hardware = H100_SXM, max_tokens: int = 16384) -> "LatencyModel":
        """Measured GEMM table when one exists for this model's shapes, else the roofline."""
        path = find_measured_gemm_csv()
        if path is not None:
            try:
                return cls.from_measured_csv(path, model, hw, max_tokens)
            except ShapeNotCoveredError:
                pass  # the table covers other shapes (e.g. only Llama-3.1-8B): fall back
        return cls.roofline(model, hw, max_tokens)

    def linear_time(self, mode: str, n_tokens: int) -> float:
        table = self._linear[mode]
        if n_tokens <= self.max_tokens:
            return float(table[n_tokens])
        return float(table[-1] * n_tokens / self.max_tokens)

    def iteration_time(self, mode: str, n_tokens: int, n_logits: int, n_seqs: int, kv_read_tokens: int,
                       attn_units: float) -> float:
        """Seconds for one iteration. ``attn_units`` = sum over prefill chunks of
        ``chunk * (context_before + (chunk + 1) / 2)`` (causal query-key pairs)."""
        lm = max(n_logits * self._lm_head_flop_s, self._lm_head_bytes_s) if n_logits else 0.0
        return (self.linear_time(mode, n_tokens) + lm + kv_read_tokens * self._kv_s_per_token
                + attn_units * self._attn_s_per_unit + self.hw.fixed_overhead_s + n_seqs * self.hw.per_seq_overhead_s)
