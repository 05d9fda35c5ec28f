"""Triton NestedFP GEMMs vs their PyTorch references, under TRITON_INTERPRET=1 on the CPU.

Tolerances: the FP16-mode kernel accumulates in FP32 like the reference but in a different order,
so outputs may differ by one FP16 ulp (rtol 2^-10); with an identity activation the output is the
weight itself, so the in-register merge is checked bit-exactly over every representable pattern.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact.nestedfp import kernels as K
from artifact.nestedfp.format import bits_to_fp16, merge, split

SMALL = K.KernelConfig(16, 32, 32, group_m=2, num_warps=1, num_stages=1)
SHAPES = [  # (M, N, K): M not a multiple of the tile, K below / not a multiple of BLOCK_K, N ragged
    (1, 16, 16),
    (5, 32, 48),
    (17, 20, 30),
    (33, 48, 64),
    (40, 33, 7),
    (16, 64, 100),
]


def _weights(n: int, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    w = (torch.randn(n, k, generator=g) * 0.3).clamp(-1.75, 1.75).half()  # (N, K)
    hi, lo = split(w)  # (N, K) uint8 each
    return w, hi, lo


def _x(m: int, k: int, seed: int) -> torch.Tensor:
    return torch.randn(m, k, generator=torch.Generator().manual_seed(seed + 1)).half()  # (M, K)


@pytest.mark.parametrize("swap_ab", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_fp16_matches_reference(shape, swap_ab):
    m, n, k = shape
    w, hi, lo = _weights(n, k, seed=m + n + k)
    x = _x(m, k, seed=m)
    cfg = K.KernelConfig(16, 32, 32, group_m=2, swap_ab=swap_ab, num_warps=1, num_stages=1)
    y = K.nested_fp16_matmul(x, hi, lo, config=cfg)
    exact = x.float() @ w.float().T  # (M, N) fp32
    assert y.shape == (m, n) and y.dtype == torch.float16
    torch.testing.assert_close(y.float(), exact, rtol=2**-10, atol=1e-3)
    torch.testing.assert_close(y, K.nested_fp16_matmul_reference(x, hi, lo), rtol=2**-10, atol=1e-3)


def test_fp16_kernel_merge_is_bit_exact_over_all_patterns():
    bits = torch.arange(0, 1 << 16, dtype=torch.int32)
    w_all = bits_to_fp16(bits)
    keep = (bits & 0x7FFF) < 0x3F80  # every pattern with |w| < 1.875 (the exact range), 32,512
    w = w_all[keep][: 32512 // 16 * 16].reshape(-1, 16)  # (2032, 16)
    hi, lo = split(w)
    eye = torch.eye(16, dtype=torch.float16)  # x = I -> y = W^T exactly
    y = K.nested_fp16_matmul(eye, hi, lo, config=K.KernelConfig(16, 128, 16, num_warps=1, num_stages=1))
    assert torch.equal(y.T.float(), w.float()), "in-kernel merge must rebuild every FP16 weight exactly"


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("swap_ab", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_fp8_matches_reference(shape, swap_ab, native):
    m, n, k = shape
    _, hi, _ = _weights(n, k, seed=3 * m + k)
    x8, scale = K.quantize_per_token_e4m3(_x(m, k, seed=k) * 4)
    cfg = K.KernelConfig(16, 32, 32, group_m=2, swap_ab=swap_ab, num_warps=1, num_stages=1)
    y = K.nested_fp8_matmul(x8, scale, hi, config=cfg, native_fp8=native)
    ref = K.nested_fp8_matmul_reference(x8, scale, hi)
    assert y.shape == (m, n) and y.dtype == torch.float16
    torch.testing.assert_close(y, ref, rtol=2**-10, atol=1e-4)


def test_fp8_reference_approximates_fp16_product():
    w, hi, lo = _weights(64, 128, seed=7)
    x = _x(24, 128, seed=7)
    x8, scale = K.quantize_per_token_e4m3(x)
    y8 = K.nested_fp8_matmul(x8, scale, hi).float()
    y16 = x.float() @ w.float().T
    sqnr = 20 * torch.log10(y16.norm() / (y16 - y8).norm())
    assert sqnr > 20, f"FP8-mode GEMM SQNR {sqnr:.1f} dB vs FP16 is below 20 dB"


@pytest.mark.parametrize("form", ["scalar", "vector", "column"])
def test_fp8_scale_forms_agree(form):
    _, hi, _ = _weights(32, 48, seed=1)
    x8, scale = K.quantize_per_token_e4m3(_x(9, 48, seed=2))
    s = {"scalar": torch.tensor(0.25), "vector": torch.full((9,), 0.25), "column": torch.full((9, 1), 0.25)}[form]
    y = K.nested_fp8_matmul(x8, s, hi)
    ref = K.nested_fp8_matmul_reference(x8, torch.full((9,), 0.25), hi)
    torch.testing.assert_close(y, ref, rtol=2**-10, atol=1e-4)


def test_planes_as_float8_byte_views_are_accepted():
    w, hi, lo = _weights(32, 32, seed=5)
    x = _x(3, 32, seed=5)
    y = K.nested_fp16_matmul(x, hi.view(torch.float8_e4m3fn), lo.view(torch.float8_e4m3fn))
    torch.testing.assert_close(y, K.nested_fp16_matmul(x, hi, lo), rtol=0, atol=0)


def test_empty_and_zero_k():
    _, hi, lo = _weights(16, 16, seed=0)
    assert K.nested_fp16_matmul(torch.zeros(0, 16, dtype=torch.float16), hi, lo).shape == (0, 16)
    z = torch.zeros(16, 0, dtype=torch.uint8)
    y = K.nested_fp16_matmul(torch.zeros(4, 0, dtype=torch.float16), z, z)
    assert y.shape == (4, 16) and not y.any()


@settings(max_examples=6, deadline=None)
@given(m=st.integers(1, 40), n=st.integers(1, 40), k=st.integers(1, 70), swap=st.booleans())
def test_fp16_random_shapes_property(m, n, k, swap):
    w, hi, lo = _weights(n, k, seed=m * 131 + n * 7 + k)
    x = _x(m, k, seed=n)
    cfg = K.KernelConfig(16, 16, 32, group_m=2, swap_ab=swap, num_warps=1, num_stages=1)
    y = K.nested_fp16_matmul(x, hi, lo, config=cfg)
    torch.testing.assert_close(y.float(), x.float() @ merge(hi, lo).float().T, rtol=2**-10, atol=1e-3)


def test_quantize_per_token_rule():
    x = torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.0, 0.0], [1000.0, 1.0, -3.0]], dtype=torch.float16)
    x8, scale = K.quantize_per_token_e4m3(x)
    q = (0.7 * 448 / torch.tensor([2.0, 1e-5, 1000.0])).clamp(0.1, 50)
    torch.testing.assert_close(scale, 1 / q)
    assert x8.dtype == torch.float8_e4m3fn and x8.shape == (3, 3)
    rel = (x8.float() * scale[:, None] - x.float()).abs().max() / x.float().abs().max()
    assert rel < 0.07  # E4M3 has 3 mantissa bits: <= 6.25 % relative rounding


def test_bad_inputs_raise_value_error_naming_shapes():
    _, hi, lo = _weights(16, 32, seed=0)
    with pytest.raises(ValueError, match="K must match"):
        K.nested_fp16_matmul(torch.zeros(4, 16, dtype=torch.float16), hi, lo)
    with pytest.raises(ValueError, match="float16"):
        K.nested_fp16_matmul(torch.zeros(4, 32), hi, lo)
    with pytest.raises(ValueError, match="shape"):
        K.nested_fp16_matmul(torch.zeros(4, 32, dtype=torch.float16), hi, lo[:8])
    with pytest.raises(ValueError, match="uint8"):
        K.nested_fp16_matmul(torch.zeros(4, 32, dtype=torch.float16), hi.float(), lo)
    x8, s = K.quantize_per_token_e4m3(torch.ones(4, 32))
    with pytest.raises(ValueError, match="x_scale"):
        K.nested_fp8_matmul(x8, torch.ones(3), hi)
    with pytest.raises(ValueError, match="float8_e4m3fn"):
        K.nested_fp8_matmul(torch.ones(4, 32, dtype=torch.float16), s, hi)
    with pytest.raises(ValueError, match="power of two"):
        K.KernelConfig(24, 32, 32)


def test_autotune_pruning_keeps_tiles_that_fit_m():
    configs = [c.to_triton() for c in K.FP16_CONFIGS]
    small = K._prune_for_m(configs, {"M": 16})
    assert small and all(c.kwargs["BLOCK_M"] == 16 for c in small)
    large = K._prune_for_m(configs, {"M": 2048})
    assert large and all(c.kwargs["BLOCK_M"] >= 64 for c in large)


def test_kernels_interpret_even_if_triton_was_imported_first():
    """A notebook may import triton (via transformers/torch) before kernels.py sets TRITON_INTERPRET."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import os; os.environ.pop('TRITON_INTERPRET', None)\n"
        "import triton\n"
        "import torch\n"
        "from artifact.nestedfp import kernels as K\n"
        "from artifact.nestedfp.format import split\n"
        "w = (torch.randn(20, 30) * 0.1).half(); x = torch.randn(7, 30).half(); hi, lo = split(w)\n"
        "y = K.nested_fp16_matmul(x, hi, lo); x8, s = K.quantize_per_token_e4m3(x)\n"
        "y8 = K.nested_fp8_matmul(x8, s, hi)\n"
        "torch.testing.assert_close(y.float(), x.float() @ w.float().T, rtol=2**-10, atol=1e-3)\n"
        "torch.testing.assert_close(y8, K.nested_fp8_matmul_reference(x8, s, hi), rtol=2**-10, atol=1e-4)\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]
