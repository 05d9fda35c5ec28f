"""NestedLinear: one 2-byte weight copy, switchable at run time between FP16 and FP8 GEMMs.

Implements papers/nestedfp.md §1.3-§1.4 (conversion, per-layer fallback) and §1.7 (NestedFP8
activation scaling), in the gpt-fast module-swap style: :func:`convert` replaces each eligible
``nn.Linear`` by a :class:`NestedLinear` that keeps only the ``hi``/``lo`` byte planes (the FP16
weight is freed), and :func:`set_precision` / :func:`precision` flip every layer between

* ``"fp16"`` — weight = ``merge(hi, lo)``, bit-identical to the FP16 weight, so the output is
  bit-identical to the unconverted FP16 model (same ``F.linear`` call on the same bits);
* ``"fp8"`` — weight = E4M3 ``hi`` with the fixed scale 2^-8; activations quantized to E4M3
  either per token (the authors' current recipe: ``scale_t = clamp(0.7*448/max(|x_t|, 1e-5),
  0.1, 50)``) or per tensor (their May 2025 recipe: ``scale = 448/max(|x|, 1e-12)``), then
  ``y = (x8 @ w8^T) * 2^-8 / scale`` with fp32 accumulation.

Execution paths: on CUDA, when ``artifact.nestedfp.kernels`` imports (Triton), FP16 mode calls
``kernels.nested_fp16_matmul(x, hi, lo)`` and FP8 mode ``kernels.nested_fp8_matmul(x8, x_scale,
hi)`` where ``x_scale`` is the *dequantization* scale (``x ≈ x8 * x_scale``, ``torch._scaled_mm``'s
convention; shape (M, 1) float32). Otherwise on CUDA FP8 mode uses ``torch._scaled_mm``; on the CPU
(and as the last fallback) it is an exact emulation: quantize in torch, upcast the E4M3 operands
(exact), matmul in fp32. Only the summation order can differ from a GPU FP8 GEMM.
Scales are computed in float32 whatever the activation dtype.
"""

from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass, field
from typing import Iterator, Literal

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from artifact.nestedfp.format import E4M3_MAX, FP8_WEIGHT_SCALE, MAX_EXACT_MAGNITUDE, fp8_view, merge, split

__all__ = [
    "MODES",
    "ACT_SCALINGS",
    "VLLM_THRESHOLD",
    "HF_THRESHOLD",
    "NestedLinear",
    "LayerRecord",
    "ConversionReport",
    "convert",
    "plan_conversion",
    "set_precision",
    "precision",
    "quantize_act_per_token",
    "quantize_act_per_tensor",
    "nested_fp8_linear_reference",
]

MODES = ("fp16", "fp8")
ACT_SCALINGS = ("per_token", "per_tensor")
VLLM_THRESHOLD = 1.8192  # layer falls back if any |w| > this (vLLM path, every commit)
HF_THRESHOLD = 1.75  # the HF/lm-eval prototype's threshold
PER_TOKEN_HEADROOM = 0.7  # scale_t targets 0.7 * 448 for the token's absmax
PER_TOKEN_SCALE_MIN, PER_TOKEN_SCALE_MAX = 0.1, 50.0
PER_TOKEN_ABSMAX_MIN = 1e-5
PER_TENSOR_ABSMAX_MIN = 1e-12

Mode = Literal["fp16", "fp8"]
ActScaling = Literal["per_token", "per_tensor"]


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown precision mode {mode!r}; valid modes: {', '.join(MODES)}")


def _check_act_scaling(act_scaling: str) -> None:
    if act_scaling not in ACT_SCALINGS:
        raise ValueError(f"unknown activation scaling {act_scaling!r}; valid: {', '.join(ACT_SCALINGS)}")


def quantize_act_per_token(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token dynamic E4M3 (authors' current recipe). x (..., K) -> x8 (..., K) e4m3, scale (..., 1) fp32.

    ``x8 = E4M3(clamp(x * scale, ±448))`` with ``scale = clamp(0.7*448 / max(|x_t|, 1e-5), 0.1, 50)``.
    """
    xf = x.float()
    absmax = xf.abs().amax(dim=-1, keepdim=True).clamp_min(PER_TOKEN_ABSMAX_MIN)  # (..., 1)
    scale = (PER_TOKEN_HEADROOM * E4M3_MAX / absmax).clamp(PER_TOKEN_SCALE_MIN, PER_TOKEN_SCALE_MAX)
    x8 = (xf * scale).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn)
    return x8, scale


def quantize_act_per_tensor(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-tensor dynamic E4M3 (May 2025 recipe): scale = 448 / max(|x|, 1e-12). -> x8, scale (1, 1) fp32."""
    xf = x.float()
    absmax = xf.abs().amax().clamp_min(PER_TENSOR_ABSMAX_MIN)
    scale = (E4M3_MAX / absmax).reshape(1, 1)
    x8 = (xf * scale).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn)
    return x8, scale


def nested_fp8_linear_reference(
    x: torch.Tensor, hi: torch.Tensor, act_scaling: ActScaling = "per_token"
) -> torch.Tensor:
    """Exact CPU emulation of a NestedFP8 GEMM (no bias). x (..., K), hi (N, K) uint8 -> (..., N) fp32."""
    _check_act_scaling(act_scaling)
    quantize = quantize_act_per_token if act_scaling == "per_token" else quantize_act_per_tensor
    x8, scale = quantize(x)
    acc = torch.matmul(x8.float(), fp8_view(hi).float().t())  # E4M3 values are exact in fp32
    return acc * (FP8_WEIGHT_SCALE / scale)


def _kernels():
    """``artifact.nestedfp.kernels`` if it imports (Triton present), else None. Imported lazily."""
    try:
        return importlib.import_module("artifact.nestedfp.kernels")
    except Exception:  # ImportError, or Triton failing to initialise: fall back to torch paths
        return None


class NestedLinear(nn.Module):
    """A Linear layer stored as NestedFP byte planes (2 bytes/param), run in FP16 or FP8 mode.

    Args:
        hi, lo: (out_features, in_features) uint8 planes from :func:`format.split`.
        bias: optional bias, kept as is and added after the GEMM.
        mode: ``"fp16"`` (default) or ``"fp8"``.
        act_scaling: ``"per_token"`` (default) or ``"per_tensor"`` activation quantization in FP8 mode.
        use_kernels: dispatch to the Triton kernels on CUDA when they import (default True).
    """

    def __init__(
        self,
        hi: torch.Tensor,
        lo: torch.Tensor,
        bias: torch.Tensor | None = None,
        mode: Mode = "fp16",
        act_scaling: ActScaling = "per_token",
        use_kernels: bool = True,
    ) -> None:
        super().__init__()
        if hi.dtype != torch.uint8 or lo.dtype != torch.uint8 or hi.shape != lo.shape or hi.dim() != 2:
            raise ValueError(
                f"NestedLinear expects two (out, in) uint8 planes of one shape, got hi {hi.dtype} "
                f"{tuple(hi.shape)} and lo {lo.dtype} {tuple(lo.shape)}; build them with format.split"
            )
        _check_mode(mode)
        _check_act_scaling(act_scaling)
        self.out_features, self.in_features = hi.shape
        self.register_buffer("hi", hi.contiguous())  # (out, in) uint8: E4M3 codes of w * 2^8
        self.register_buffer("lo", lo.contiguous())  # (out, in) uint8: raw low bytes of the FP16 words
        self.bias = nn.Parameter(bias.detach().clone(), requires_grad=False) if bias is not None else None
        self.mode: str = mode
        self.act_scaling: str = act_scaling
        self.use_kernels = use_kernels

    @classmethod
    def from_linear(cls, linear: nn.Linear, **kwargs) -> "NestedLinear":
        """Split ``linear.weight`` (cast to FP16) into planes; raises NestedFPRangeError if out of range."""
        hi, lo = split(linear.weight.detach().to(torch.float16))  # (out, in) uint8 each
        return cls(hi, lo, linear.bias, **kwargs)

    def weight_fp16(self) -> torch.Tensor:
        """The exact FP16 weight (out, in), rebuilt from the planes."""
        return merge(self.hi, self.lo)

    def weight_fp8(self) -> torch.Tensor:
        """The FP8-mode weight value E4M3(hi) * 2^-8 as float32 (out, in)."""
        return fp8_view(self.hi).float() * FP8_WEIGHT_SCALE

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, "
            f"mode={self.mode}, act_scaling={self.act_scaling}"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "fp16":
            return self._forward_fp16(x)
        if self.mode == "fp8":
            return self._forward_fp8(x)
        _check_mode(self.mode)  # raises: someone set .mode to an unknown value by hand
        raise AssertionError("unreachable")

    def _add_bias(self, y: torch.Tensor) -> torch.Tensor:
        return y if self.bias is None else y + self.bias.to(y.dtype)

    def _forward_fp16(self, x: torch.Tensor) -> torch.Tensor:
        kernels = _kernels() if (x.is_cuda and self.use_kernels and x.dtype == torch.float16) else None
        if kernels is not None and hasattr(kernels, "nested_fp16_matmul"):
            x2 = x.reshape(-1, self.in_features)  # (M, K)
            y = kernels.nested_fp16_matmul(x2.contiguous(), self.hi, self.lo)  # (M, N) fp16
            return self._add_bias(y.reshape(*x.shape[:-1], self.out_features))
        w = self.weight_fp16().to(x.dtype)  # (out, in): same bits as the FP16 model's weight
        return F.linear(x, w, None if self.bias is None else self.bias.to(x.dtype))

    def _forward_fp8(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features)  # (M, K)
        quantize = quantize_act_per_token if self.act_scaling == "per_token" else quantize_act_per_tensor
        y = None
        if x.is_cuda:
            x8, scale = quantize(x2)  # (M, K) e4m3, (M, 1) or (1, 1) fp32
            inv = (1.0 / scale).expand(x2.shape[0], 1).contiguous()  # (M, 1) dequant scale
            kernels = _kernels() if self.use_kernels else None
            if kernels is not None and hasattr(kernels, "nested_fp8_matmul"):
                y = kernels.nested_fp8_matmul(x8, inv, self.hi)
            else:
                y = _scaled_mm_or_none(x8, inv, self.hi)
        if y is None:  # CPU, or no FP8 GEMM on this GPU: exact emulation
            y = nested_fp8_linear_reference(x2, self.hi, self.act_scaling)
        return self._add_bias(y.to(x.dtype).reshape(*lead, self.out_features))


def _scaled_mm_or_none(x8: torch.Tensor, inv_scale: torch.Tensor, hi: torch.Tensor) -> torch.Tensor | None:
    """torch._scaled_mm with row-wise activation scales and the fixed 2^-8 weight scale, or None."""
    try:
        w_scale = torch.full((1, hi.shape[0]), FP8_WEIGHT_SCALE, device=hi.device, dtype=torch.float32)
        return torch._scaled_mm(x8, fp8_view(hi).t(), scale_a=inv_scale, scale_b=w_scale, out_dtype=torch.bfloat16)
    except (RuntimeError, AttributeError, TypeError):  # pre-Hopper/Ada GPU, unaligned shape, old torch
        return None


@dataclass(frozen=True)
class LayerRecord:
    """One nn.Linear seen by :func:`convert`."""

    name: str
    in_features: int
    out_features: int
    converted: bool
    reason: str  # "converted", "skipped by name", "max |w| above threshold", "bias not allowed"
    max_abs: float


@dataclass
class ConversionReport:
    """What :func:`convert` did: per-layer records, fallback rate, and the threshold used."""

    threshold: float
    layers: list[LayerRecord] = field(default_factory=list)

    @property
    def converted(self) -> list[LayerRecord]:
        return [r for r in self.layers if r.converted]

    @property
    def fallbacks(self) -> list[LayerRecord]:
        """Eligible-by-name layers that stayed FP16 (threshold or bias)."""
        return [r for r in self.layers if not r.converted and r.reason != "skipped by name"]

    @property
    def fallback_rate(self) -> float:
        """Fallbacks / (converted + fallbacks), by layer count; nan if no candidate layer."""
        n = len(self.converted) + len(self.fallbacks)
        return float("nan") if n == 0 else len(self.fallbacks) / n

    @property
    def converted_params(self) -> int:
        return sum(r.in_features * r.out_features for r in self.converted)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([r.__dict__ for r in self.layers])

    def __str__(self) -> str:
        if not self.converted:
            return (
                f"ConversionReport: no convertible layer ({len(self.layers)} nn.Linear seen, "
                f"{len(self.fallbacks)} fallbacks, threshold {self.threshold}); the model is unchanged"
            )
        lines = [
            f"ConversionReport: {len(self.converted)} layers converted, {len(self.fallbacks)} kept FP16 "
            f"(fallback rate {self.fallback_rate:.1%}), threshold {self.threshold}"
        ]
        lines += [f"  FP16 fallback: {r.name} ({r.reason}, max |w| = {r.max_abs:.4g})" for r in self.fallbacks]
        return "\n".join(lines)


def _linear_targets(model: nn.Module) -> list[tuple[nn.Module, str, str, nn.Linear]]:
    """(parent, child name, full name, layer) for every exact ``nn.Linear`` in ``model``."""
    targets = []
    for name, module in model.named_modules():
        for child_name, child in module.named_children():
            if type(child) is nn.Linear:  # exact type: subclasses may have other semantics
                full = f"{name}.{child_name}" if name else child_name
                targets.append((module, child_name, full, child))
    return targets


def _decide(full: str, child_name: str, lin: nn.Linear, threshold: float, skip: tuple[str, ...], allow_bias: bool) -> LayerRecord:
    w16 = lin.weight.detach().to(torch.float16)
    finite = bool(torch.isfinite(w16).all())
    max_abs = float(w16.float().abs().max()) if w16.numel() else 0.0
    record = dict(name=full, in_features=lin.in_features, out_features=lin.out_features, max_abs=max_abs)
    if full in skip or child_name in skip:
        return LayerRecord(converted=False, reason="skipped by name", **record)
    if not finite or max_abs > threshold:
        return LayerRecord(converted=False, reason="max |w| above threshold", **record)
    if lin.bias is not None and not allow_bias:
        return LayerRecord(converted=False, reason="bias not allowed", **record)
    return LayerRecord(converted=True, reason="converted", **record)


def _check_threshold(threshold: float) -> None:
    if not 0 < threshold < MAX_EXACT_MAGNITUDE:
        raise ValueError(
            f"threshold must be in (0, {MAX_EXACT_MAGNITUDE}) for an exact split, got {threshold}; "
            f"use {VLLM_THRESHOLD} (vLLM) or {HF_THRESHOLD} (HF prototype)"
        )


def plan_conversion(
    model: nn.Module,
    threshold: float = VLLM_THRESHOLD,
    skip: tuple[str, ...] = ("lm_head",),
    allow_bias: bool = True,
) -> ConversionReport:
    """The :class:`ConversionReport` that :func:`convert` would return, without changing ``model``."""
    _check_threshold(threshold)
    report = ConversionReport(threshold=threshold)
    for _parent, child_name, full, lin in _linear_targets(model):
        report.layers.append(_decide(full, child_name, lin, threshold, skip, allow_bias))
    return report


def convert(
    model: nn.Module,
    threshold: float = VLLM_THRESHOLD,
    skip: tuple[str, ...] = ("lm_head",),
    allow_bias: bool = True,
    act_scaling: ActScaling = "per_token",
    mode: Mode = "fp16",
) -> ConversionReport:
    """Swap every eligible ``nn.Linear`` in ``model`` (in place) for a :class:`NestedLinear`.

    A layer is skipped if its name or its last name component is in ``skip``; it stays FP16 if any
    |w| (after the FP16 cast) exceeds ``threshold`` or is non-finite, or if it has a bias and
    ``allow_bias`` is False (the paper's vLLM path asserts bias is None; our kernels add the bias
    after the GEMM, so biases are allowed by default). ``threshold`` must be < 1.875, the limit of
    an exact split. Weights are cast to FP16 before the split (the paper serves BF16 checkpoints as
    an FP16 cast). Returns a :class:`ConversionReport`; a model without convertible layers is
    reported, not an error.
    """
    _check_threshold(threshold)
    _check_mode(mode)
    _check_act_scaling(act_scaling)
    report = ConversionReport(threshold=threshold)
    for parent, child_name, full, lin in _linear_targets(model):
        record = _decide(full, child_name, lin, threshold, skip, allow_bias)
        if record.converted:
            new = NestedLinear.from_linear(lin, mode=mode, act_scaling=act_scaling)
            setattr(parent, child_name, new)  # the old nn.Linear (and its FP16 weight) is dropped
        report.layers.append(record)
    return report


def set_precision(model: nn.Module, mode: Mode, act_scaling: ActScaling | None = None) -> int:
    """Set every NestedLinear in ``model`` to ``mode`` ("fp16" | "fp8"); returns how many were set.

    Nothing is reloaded or converted: both modes read the same resident planes.
    """
    _check_mode(mode)
    if act_scaling is not None:
        _check_act_scaling(act_scaling)
    n = 0
    for m in model.modules():
        if isinstance(m, NestedLinear):
            m.mode = mode
            if act_scaling is not None:
                m.act_scaling = act_scaling
            n += 1
    return n


@contextlib.contextmanager
def precision(model: nn.Module, mode: Mode, act_scaling: ActScaling | None = None) -> Iterator[nn.Module]:
    """Context manager: run ``model`` in ``mode`` inside the block, restoring each layer's setting after."""
    _check_mode(mode)
    saved = [(m, m.mode, m.act_scaling) for m in model.modules() if isinstance(m, NestedLinear)]
    set_precision(model, mode, act_scaling)
    try:
        yield model
    finally:
        for m, old_mode, old_scaling in saved:
            m.mode, m.act_scaling = old_mode, old_scaling
