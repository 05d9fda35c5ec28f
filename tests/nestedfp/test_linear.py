"""NestedLinear, convert, set_precision (papers/nestedfp.md §1.3-§1.4, §1.7)."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from artifact.nestedfp.format import fp8_weight, split
from artifact.nestedfp.linear import (
    NestedLinear,
    convert,
    nested_fp8_linear_reference,
    plan_conversion,
    precision,
    quantize_act_per_tensor,
    quantize_act_per_token,
    set_precision,
)


class TinyLM(nn.Module):
    def __init__(self, d: int = 24, vocab: int = 50) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(
            nn.ModuleDict({"up": nn.Linear(d, 2 * d, bias=False), "down": nn.Linear(2 * d, d)}) for _ in range(2)
        )
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.emb(ids)
        for b in self.blocks:
            h = h + b["down"](torch.relu(b["up"](h)))
        return self.lm_head(h)


def _model(dtype: torch.dtype, seed: int = 0) -> TinyLM:
    torch.manual_seed(seed)
    return TinyLM().to(dtype)


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32])
def test_fp16_mode_is_bit_identical_to_unconverted_model(dtype: torch.dtype) -> None:
    base = _model(torch.float16).to(dtype)  # FP16 weights (computed in dtype)
    ids = torch.randint(0, 50, (3, 7), generator=torch.Generator().manual_seed(1))
    ref = base(ids)
    conv = copy.deepcopy(base)
    report = convert(conv)
    assert len(report.converted) == 4 and report.fallback_rate == 0.0
    assert [r.name for r in report.layers if r.reason == "skipped by name"] == ["lm_head"]
    out = conv(ids)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    # and it is not trivially identical: FP8 mode changes the output
    with precision(conv, "fp8"):
        assert not torch.equal(conv(ids), ref)


def test_convert_frees_fp16_weight_and_stores_two_bytes_per_param() -> None:
    m = _model(torch.float16)
    convert(m)
    nl = m.blocks[0]["up"]
    assert isinstance(nl, NestedLinear) and not hasattr(nl, "weight")
    weight_bytes = sum(b.numel() * b.element_size() for n, b in nl.named_buffers())
    assert weight_bytes == 2 * nl.in_features * nl.out_features
    assert {n for n, _ in m.named_parameters() if "blocks" in n and "weight" in n} == set()


def test_fp8_mode_matches_reference_emulation() -> None:
    torch.manual_seed(3)
    lin = nn.Linear(64, 40, bias=True)
    lin.weight.data.mul_(5)
    nl = NestedLinear.from_linear(lin, mode="fp8")
    x = torch.randn(5, 9, 64) * 3
    hi, _ = split(lin.weight.detach().half())
    xf = x.reshape(-1, 64)
    # independent recomputation of the per-token recipe
    absmax = xf.abs().amax(-1, keepdim=True).clamp_min(1e-5)
    s = (0.7 * 448 / absmax).clamp(0.1, 50)
    x8 = (xf * s).clamp(-448, 448).to(torch.float8_e4m3fn).float()
    ref = (x8 @ fp8_weight(hi).t()) / s + lin.bias.detach()
    torch.testing.assert_close(nl(x).reshape(-1, 40), ref, rtol=1e-6, atol=1e-6)
    # and the FP8 output is close to FP32 (SQNR > 25 dB on Gaussian data)
    exact = x @ lin.weight.detach().half().float().t() + lin.bias.detach()
    err = (nl(x) - exact).norm() / exact.norm()
    assert float(-20 * torch.log10(err)) > 25, f"FP8 SQNR too low: {float(-20 * torch.log10(err)):.1f} dB"


def test_per_token_scale_clamps_and_headroom() -> None:
    x = torch.tensor([[1e4, -2.0], [1e-8, 0.0], [10.0, 0.5]])
    x8, s = quantize_act_per_token(x)
    assert s.flatten().tolist() == pytest.approx([0.1, 50.0, 0.7 * 448 / 10])
    assert float(x8.float()[0, 0]) == 448.0  # 1e4 * 0.1 = 1000 saturates
    assert float(x8.float()[2, 0]) == 320.0  # 313.6 rounds to the nearest E4M3 value


def test_per_tensor_scale_uses_full_range() -> None:
    x = torch.tensor([[2.0, -4.0], [1.0, 0.0]])
    x8, s = quantize_act_per_tensor(x)
    assert float(s) == 112.0 and float(x8.float().abs().max()) == 448.0


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 6), k=st.integers(1, 33), n=st.integers(1, 9), seed=st.integers(0, 10_000))
def test_property_fp16_mode_exact_and_fp8_close(m: int, k: int, n: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    lin = nn.Linear(k, n, bias=seed % 2 == 0)
    with torch.no_grad():
        lin.weight.copy_((torch.randn(n, k, generator=g) * 0.2).half().float())
    x = torch.randn(m, k, generator=g)
    nl = NestedLinear.from_linear(lin)
    torch.testing.assert_close(nl(x), lin(x), rtol=0, atol=0)
    nl.mode = "fp8"
    for scaling in ("per_token", "per_tensor"):
        nl.act_scaling = scaling
        y = nl(x)
        ref = nested_fp8_linear_reference(x, nl.hi, scaling)
        if lin.bias is not None:
            ref = ref + lin.bias
        torch.testing.assert_close(y, ref, rtol=1e-6, atol=1e-6)


def test_threshold_fallback_and_report() -> None:
    m = _model(torch.float16)
    with torch.no_grad():
        m.blocks[1]["up"].weight[0, 0] = 1.80  # between 1.75 and 1.8192
        m.blocks[0]["down"].weight[0, 0] = 3.0
    report = convert(copy.deepcopy(m), threshold=1.75)
    fb = {r.name: r for r in report.fallbacks}
    assert set(fb) == {"blocks.1.up", "blocks.0.down"}
    assert fb["blocks.0.down"].max_abs == 3.0 and fb["blocks.0.down"].reason == "max |w| above threshold"
    assert report.fallback_rate == 0.5
    assert "blocks.0.down" in str(report)
    planned = plan_conversion(m, threshold=1.75)
    assert [(r.name, r.converted, r.reason) for r in planned.layers] == [(r.name, r.converted, r.reason) for r in report.layers]
    assert all(type(m.blocks[i][k]) is nn.Linear for i in (0, 1) for k in ("up", "down"))  # plan changes nothing
    report2 = convert(m)  # vLLM threshold keeps the 1.80 layer
    assert {r.name for r in report2.fallbacks} == {"blocks.0.down"}
    assert type(m.blocks[0]["down"]) is nn.Linear and isinstance(m.blocks[1]["up"], NestedLinear)
    # a 1.80 weight saturates to 1.75 in FP8 mode but is exact in FP16 mode
    assert float(m.blocks[1]["up"].weight_fp16()[0, 0]) == pytest.approx(1.80, abs=1e-3)
    assert float(m.blocks[1]["up"].weight_fp8()[0, 0]) == 1.75


def test_nonfinite_weights_fall_back() -> None:
    m = _model(torch.float16)
    with torch.no_grad():
        m.blocks[0]["up"].weight[1, 1] = float("nan")
    report = convert(m)
    assert [r.name for r in report.fallbacks] == ["blocks.0.up"]


def test_bias_policy() -> None:
    m = _model(torch.float32)
    report = convert(m, allow_bias=False)
    assert {r.name for r in report.fallbacks} == {"blocks.0.down", "blocks.1.down"}
    assert all(r.reason == "bias not allowed" for r in report.fallbacks)


def test_model_without_convertible_layers_is_reported() -> None:
    m = nn.Sequential(nn.Embedding(4, 4), nn.LayerNorm(4))
    report = convert(m)
    assert report.converted == [] and "no convertible layer" in str(report)
    assert report.to_frame().empty
    m2 = nn.Sequential(nn.Linear(4, 4))
    with torch.no_grad():
        m2[0].weight.fill_(5.0)
    assert "no convertible layer" in str(convert(m2))


def test_set_precision_and_context_manager() -> None:
    m = _model(torch.float32)
    convert(m)
    assert set_precision(m, "fp8", act_scaling="per_tensor") == 4
    assert all(x.mode == "fp8" and x.act_scaling == "per_tensor" for x in m.modules() if isinstance(x, NestedLinear))
    with precision(m, "fp16", act_scaling="per_token"):
        assert all(x.mode == "fp16" for x in m.modules() if isinstance(x, NestedLinear))
    assert all(x.mode == "fp8" and x.act_scaling == "per_tensor" for x in m.modules() if isinstance(x, NestedLinear))


def test_bad_inputs() -> None:
    m = _model(torch.float32)
    convert(m)
    with pytest.raises(ValueError, match="fp16, fp8"):
        set_precision(m, "int4")
    with pytest.raises(ValueError, match="fp16, fp8"):
        with precision(m, "bf16"):
            pass
    with pytest.raises(ValueError, match="threshold"):
        convert(_model(torch.float32), threshold=1.9)
    with pytest.raises(ValueError, match="per_token"):
        set_precision(m, "fp8", act_scaling="per_channel")
    with pytest.raises(ValueError, match="uint8"):
        NestedLinear(torch.zeros(2, 2), torch.zeros(2, 2))


def test_kernel_fp8_scale_convention_if_kernels_present() -> None:
    """If the Triton kernels module exists, its nested_fp8_matmul must agree with our emulation
    under the dequant-scale convention that NestedLinear uses on CUDA (x ≈ x8 * x_scale)."""
    kernels = pytest.importorskip("artifact.nestedfp.kernels")
    if not hasattr(kernels, "nested_fp8_matmul"):
        pytest.skip("kernels.nested_fp8_matmul not implemented yet")
    torch.manual_seed(0)
    w = (torch.randn(32, 64) * 0.1).half()
    hi, _ = split(w)
    x = torch.randn(16, 64)
    x8, s = quantize_act_per_token(x)
    y = kernels.nested_fp8_matmul(x8, (1.0 / s).contiguous(), hi).float()
    ref = nested_fp8_linear_reference(x, hi, "per_token")
    torch.testing.assert_close(y, ref, rtol=2e-3, atol=2e-3)
