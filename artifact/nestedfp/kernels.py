"""Triton GEMMs for NestedFP's two modes, each defined by a PyTorch reference.

NestedFP (Lee, Kwon, Park, Lee; NeurIPS 2025, arXiv 2506.02024), ``papers/nestedfp.md`` §1.6-§1.7:

* **FP16 mode** — :func:`nested_fp16_matmul`: load the E4M3 upper plane ``hi`` and the raw lower
  plane ``lo`` of the weight tile, rebuild the FP16 words in registers with the integer merge
  ``(((hi & 0x80) | (((hi - (lo >> 7)) >> 1) & 0x3F)) << 8) | lo`` and run FP16 x FP16 -> FP32
  ``tl.dot``. The result equals ``x @ merge(hi, lo).T`` up to FP16-GEMM rounding.
* **FP8 mode** — :func:`nested_fp8_matmul`: E4M3 activations (per-token dequantization scales)
  times the upper plane read as E4M3 weights with the fixed 2^-8 scale, FP32 accumulate; both
  scales are applied in the epilogue (the original multiplies by the activation scale in a
  separate PyTorch op; the fusion is ours).

The CUTLASS original uses swap-AB (weights as the WGMMA A operand, taken from registers after the
transform). Both kernels here have a ``SWAP_AB`` meta-parameter that computes ``(W x^T)^T`` the
same way, so the autotuner can choose per shape; small token counts usually prefer it.

Activation scale convention (as ``torch._scaled_mm``): ``x ~= x8.float() * x_scale[:, None]``,
i.e. ``x_scale`` is the *dequantization* scale; :func:`quantize_per_token_e4m3` produces it with
the original's "stable" per-token rule (§1.7).

On a machine without CUDA, :func:`artifact.gpu.configure_triton` switches Triton to its CPU
interpreter, so the same kernels run (slowly) for tests at small shapes. The kernels use only
builtin ``tl`` ops (``tl.full``, not the ``@jit`` helpers ``tl.zeros`` / ``tl.cdiv``), so they still
interpret when another library imported triton before the interpreter flag was set.
"""

from __future__ import annotations

from artifact.gpu import configure_triton

INTERPRETED = configure_triton()  # must run before `import triton`; True on a CPU-only machine

import torch  # noqa: E402
import triton  # noqa: E402
import triton.language as tl  # noqa: E402

from artifact.nestedfp.format import fp8_weight, merge  # noqa: E402

__all__ = [
    "nested_fp16_matmul",
    "nested_fp8_matmul",
    "nested_fp16_matmul_reference",
    "nested_fp8_matmul_reference",
    "quantize_per_token_e4m3",
    "KernelConfig",
    "FP16_CONFIGS",
    "FP8_CONFIGS",
    "native_fp8_supported",
    "best_config",
]


# ----------------------------------------------------------------------------- references
def nested_fp16_matmul_reference(x: torch.Tensor, hi: torch.Tensor, lo: torch.Tensor) -> torch.Tensor:
    """Definition of FP16 mode: ``x @ merge(hi, lo).T`` with FP32 accumulation, FP16 output."""
    _check_fp16_args(x, hi, lo)
    w = merge(hi, lo)  # (N, K) float16, bit-exact original weight
    return (x.float() @ w.float().T).to(torch.float16)  # (M, N)


def nested_fp8_matmul_reference(x8: torch.Tensor, x_scale: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """Definition of FP8 mode: ``(x8 * x_scale[:, None]) @ (E4M3(hi) * 2^-8).T`` in FP32, FP16 output."""
    scale = _check_fp8_args(x8, x_scale, hi)
    acc = x8.float() @ fp8_weight(hi).T  # (M, N); fp8 products are exact in fp32
    return (acc * scale[:, None]).to(torch.float16)


def quantize_per_token_e4m3(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token dynamic E4M3 quantization, the original's "stable" rule (§1.7), done in torch.

    ``q_t = clamp(0.7 * 448 / max(|x_t|, 1e-5), 0.1, 50)``; ``x8 = E4M3(clamp(x * q_t, +-448))``.
    Returns ``(x8, x_scale)`` with ``x_scale = 1 / q_t`` (float32, shape (M,)), so that
    ``x ~= x8.float() * x_scale[:, None]``.
    """
    if x.ndim != 2:
        raise ValueError(f"quantize_per_token_e4m3 expects x of shape (M, K), got {tuple(x.shape)}")
    xf = x.float()
    absmax = xf.abs().amax(dim=1).clamp_min(1e-5)  # (M,)
    q = (0.7 * 448.0 / absmax).clamp(0.1, 50.0)  # (M,) quantization multiplier
    x8 = (xf * q[:, None]).clamp(-448.0, 448.0).to(torch.float8_e4m3fn)  # (M, K)
    return x8, (1.0 / q).to(torch.float32)


# ----------------------------------------------------------------------------- argument checks
def _as_u8(t: torch.Tensor) -> torch.Tensor:
    return t if t.dtype == torch.uint8 else t.view(torch.uint8)


def _check_plane(name: str, t: torch.Tensor, n_k: tuple[int, int] | None) -> None:
    if t.dtype not in (torch.uint8, torch.float8_e4m3fn):
        raise ValueError(f"{name} must be a torch.uint8 (or float8_e4m3fn) byte plane of shape (N, K), got {t.dtype}")
    if t.ndim != 2 or (n_k is not None and tuple(t.shape) != n_k):
        want = "(N, K)" if n_k is None else str(n_k)
        raise ValueError(f"{name} must have shape {want} (same as the other plane), got {tuple(t.shape)}")


def _check_fp16_args(x: torch.Tensor, hi: torch.Tensor, lo: torch.Tensor) -> None:
    if x.dtype != torch.float16 or x.ndim != 2:
        raise ValueError(f"x must be a (M, K) torch.float16 tensor, got {x.dtype} of shape {tuple(x.shape)}")
    _check_plane("hi", hi, None)
    _check_plane("lo", lo, tuple(hi.shape))
    if hi.shape[1] != x.shape[1]:
        raise ValueError(
            f"x is (M, K) = {tuple(x.shape)} but the planes are (N, K) = {tuple(hi.shape)}: K must match"
        )


def _check_fp8_args(x8: torch.Tensor, x_scale: torch.Tensor | float, hi: torch.Tensor) -> torch.Tensor:
    """Validate and return the activation scale broadcast to a float32 (M,) tensor."""
    if x8.dtype != torch.float8_e4m3fn or x8.ndim != 2:
        raise ValueError(f"x8 must be a (M, K) torch.float8_e4m3fn tensor, got {x8.dtype} of shape {tuple(x8.shape)}")
    _check_plane("hi", hi, None)
    if hi.shape[1] != x8.shape[1]:
        raise ValueError(f"x8 is (M, K) = {tuple(x8.shape)} but hi is (N, K) = {tuple(hi.shape)}: K must match")
    m = x8.shape[0]
    s = torch.as_tensor(x_scale, dtype=torch.float32, device=x8.device)
    if s.numel() == 1:
        return s.reshape(1).expand(m).contiguous()
    if s.numel() != m or (s.ndim == 2 and s.shape[1] != 1) or s.ndim > 2:
        raise ValueError(f"x_scale must be a scalar, (M,) or (M, 1) with M = {m}, got shape {tuple(s.shape)}")
    return s.reshape(m).contiguous()


# ----------------------------------------------------------------------------- kernels
@triton.jit
def _tile_offsets(M, N, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, GROUP_M: tl.constexpr):
    """Grouped (L2-friendly) ordering of output tiles, as in Triton tutorial 03."""
    pid = tl.program_id(0)
    num_pid_m = (M + BLOCK_M - 1) // BLOCK_M  # plain arithmetic, not tl.cdiv: Triton's own @jit helpers
    num_pid_n = (N + BLOCK_N - 1) // BLOCK_N  # cannot run in the interpreter if triton was imported first
    num_pid_in_group = GROUP_M * num_pid_n
    group_id = pid // num_pid_in_group
    first_pid_m = group_id * GROUP_M
    group_size_m = min(num_pid_m - first_pid_m, GROUP_M)
    pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)
    pid_n = (pid % num_pid_in_group) // group_size_m
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    return offs_m, offs_n


@triton.jit
def _merge_planes(hi, lo):
    """Packed-integer FP16 reconstruction (§1.2) on uint8 tiles -> float16 tile of the same shape."""
    h = hi.to(tl.uint16)
    l = lo.to(tl.uint16)
    bits = (((h & 0x80) | (((h - (l >> 7)) >> 1) & 0x3F)) << 8) | l
    return bits.to(tl.float16, bitcast=True)


@triton.jit
def _e4m3_to_fp16_scaled(b):
    """E4M3 byte -> FP16 of value ``E4M3(b) * 2^-8`` (exact: shift the 7 magnitude bits into place)."""
    v = b.to(tl.uint16)
    bits = ((v & 0x80) << 8) | ((v & 0x7F) << 7)
    return bits.to(tl.float16, bitcast=True)


@triton.jit
def _nested_fp16_kernel(
    # pointers
    x_ptr, hi_ptr, lo_ptr, out_ptr,
    # dimensions
    M, N, K,
    # strides (elements)
    stride_xm, stride_xk, stride_wn, stride_wk, stride_om, stride_on,
    # meta-parameters
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
    SWAP_AB: tl.constexpr,
):
    offs_m, offs_n = _tile_offsets(M, N, BLOCK_M, BLOCK_N, GROUP_M)
    offs_k = tl.arange(0, BLOCK_K)
    mask_m = offs_m < M
    mask_n = offs_n < N
    if SWAP_AB:
        # weights are the left operand (the CUTLASS original's RS-WGMMA orientation): acc is (N, M)
        w_ptrs = offs_n[:, None] * stride_wn + offs_k[None, :] * stride_wk  # (BN, BK)
        x_ptrs = x_ptr + offs_m[None, :] * stride_xm + offs_k[:, None] * stride_xk  # (BK, BM)
        acc = tl.full((BLOCK_N, BLOCK_M), 0.0, tl.float32)
    else:
        w_ptrs = offs_n[None, :] * stride_wn + offs_k[:, None] * stride_wk  # (BK, BN)
        x_ptrs = x_ptr + offs_m[:, None] * stride_xm + offs_k[None, :] * stride_xk  # (BM, BK)
        acc = tl.full((BLOCK_M, BLOCK_N), 0.0, tl.float32)
    for k0 in range(0, (K + BLOCK_K - 1) // BLOCK_K):
        k_left = K - k0 * BLOCK_K
        # 1. load both byte planes of the weight tile (out-of-range -> 0 bytes -> +0.0)
        if SWAP_AB:
            w_mask = mask_n[:, None] & (offs_k[None, :] < k_left)
            x_mask = mask_m[None, :] & (offs_k[:, None] < k_left)
        else:
            w_mask = mask_n[None, :] & (offs_k[:, None] < k_left)
            x_mask = mask_m[:, None] & (offs_k[None, :] < k_left)
        hi = tl.load(hi_ptr + w_ptrs, mask=w_mask, other=0)
        lo = tl.load(lo_ptr + w_ptrs, mask=w_mask, other=0)
        x = tl.load(x_ptrs, mask=x_mask, other=0.0)
        # 2. rebuild FP16 weights in registers, 3. FP16 x FP16 -> FP32 on tensor cores
        w = _merge_planes(hi, lo)
        if SWAP_AB:
            acc = tl.dot(w, x, acc)
        else:
            acc = tl.dot(x, w, acc)
        w_ptrs += BLOCK_K * stride_wk
        x_ptrs += BLOCK_K * stride_xk
    if SWAP_AB:
        acc = tl.trans(acc)  # (BM, BN): store row-major tiles (coalesced) in both orientations
    o_ptrs = out_ptr + offs_m[:, None] * stride_om + offs_n[None, :] * stride_on
    tl.store(o_ptrs, acc.to(tl.float16), mask=mask_m[:, None] & mask_n[None, :])


@triton.jit
def _nested_fp8_kernel(
    # pointers
    x8_ptr, scale_ptr, hi_ptr, out_ptr,
    # dimensions
    M, N, K,
    # strides (elements)
    stride_xm, stride_xk, stride_wn, stride_wk, stride_om, stride_on,
    # meta-parameters
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
    SWAP_AB: tl.constexpr, NATIVE_FP8: tl.constexpr,
):
    offs_m, offs_n = _tile_offsets(M, N, BLOCK_M, BLOCK_N, GROUP_M)
    offs_k = tl.arange(0, BLOCK_K)
    mask_m = offs_m < M
    mask_n = offs_n < N
    if SWAP_AB:
        w_ptrs = hi_ptr + offs_n[:, None] * stride_wn + offs_k[None, :] * stride_wk  # (BN, BK)
        x_ptrs = x8_ptr + offs_m[None, :] * stride_xm + offs_k[:, None] * stride_xk  # (BK, BM)
        acc = tl.full((BLOCK_N, BLOCK_M), 0.0, tl.float32)
    else:
        w_ptrs = hi_ptr + offs_n[None, :] * stride_wn + offs_k[:, None] * stride_wk  # (BK, BN)
        x_ptrs = x8_ptr + offs_m[:, None] * stride_xm + offs_k[None, :] * stride_xk  # (BM, BK)
        acc = tl.full((BLOCK_M, BLOCK_N), 0.0, tl.float32)
    for k0 in range(0, (K + BLOCK_K - 1) // BLOCK_K):
        k_left = K - k0 * BLOCK_K
        if SWAP_AB:
            w_mask = mask_n[:, None] & (offs_k[None, :] < k_left)
            x_mask = mask_m[None, :] & (offs_k[:, None] < k_left)
        else:
            w_mask = mask_n[None, :] & (offs_k[:, None] < k_left)
            x_mask = mask_m[:, None] & (offs_k[None, :] < k_left)
        w = tl.load(w_ptrs, mask=w_mask, other=0.0)
        x = tl.load(x_ptrs, mask=x_mask, other=0.0)
        if not NATIVE_FP8:
            # GPUs without FP8 tensor cores: decode E4M3 -> FP16 exactly (values scaled by 2^-8,
            # undone in the epilogue), then an FP16 dot
            w = _e4m3_to_fp16_scaled(w.to(tl.uint8, bitcast=True))
            x = _e4m3_to_fp16_scaled(x.to(tl.uint8, bitcast=True))
        if SWAP_AB:
            acc = tl.dot(w, x, acc)
        else:
            acc = tl.dot(x, w, acc)
        w_ptrs += BLOCK_K * stride_wk
        x_ptrs += BLOCK_K * stride_xk
    # epilogue: per-token activation scale times the fixed 2^-8 weight scale
    if NATIVE_FP8:
        w_scale = 0.00390625  # 2^-8
    else:
        w_scale = 256.0  # decoded x carries 2^-8 and w carries 2^-8; the weight scale is 2^-8
    s = tl.load(scale_ptr + offs_m, mask=mask_m, other=0.0) * w_scale  # (BM,) per token
    if SWAP_AB:
        acc = tl.trans(acc)  # (BM, BN)
    out = (acc * s[:, None]).to(tl.float16)
    o_ptrs = out_ptr + offs_m[:, None] * stride_om + offs_n[None, :] * stride_on
    tl.store(o_ptrs, out, mask=mask_m[:, None] & mask_n[None, :])


# ----------------------------------------------------------------------------- configs + launch
class KernelConfig:
    """One tile configuration. ``block_m`` tiles tokens (rows of x), ``block_n`` tiles out-features."""

    __slots__ = ("block_m", "block_n", "block_k", "group_m", "swap_ab", "num_warps", "num_stages")

    def __init__(self, block_m: int, block_n: int, block_k: int, *, group_m: int = 8, swap_ab: bool = False,
                 num_warps: int = 4, num_stages: int = 3) -> None:
        for name, v in (("block_m", block_m), ("block_n", block_n), ("block_k", block_k)):
            if v < 16 or v & (v - 1):
                raise ValueError(f"{name} must be a power of two >= 16 (tl.dot minimum), got {v}")
        self.block_m, self.block_n, self.block_k = block_m, block_n, block_k
        self.group_m, self.swap_ab, self.num_warps, self.num_stages = group_m, swap_ab, num_warps, num_stages

    def meta(self) -> dict:
        return {"BLOCK_M": self.block_m, "BLOCK_N": self.block_n, "BLOCK_K": self.block_k,
                "GROUP_M": self.group_m, "SWAP_AB": self.swap_ab}

    def short_str(self) -> str:
        s = f"m{self.block_m}n{self.block_n}k{self.block_k}w{self.num_warps}s{self.num_stages}"
        return s + ("_swap" if self.swap_ab else "")

    def to_triton(self) -> triton.Config:
        return triton.Config(self.meta(), num_warps=self.num_warps, num_stages=self.num_stages)

    def __repr__(self) -> str:
        return f"KernelConfig({self.short_str()})"


# H100 candidates (a short list: the whole benchmark must stay under 5 minutes). Swap-AB tiles put
# 64-128 out-features on the MMA's M side and a narrow token tile on N, for decode-sized M.
FP16_CONFIGS: tuple[KernelConfig, ...] = (
    KernelConfig(16, 128, 128, swap_ab=True, num_warps=4, num_stages=4),
    KernelConfig(32, 128, 128, swap_ab=True, num_warps=4, num_stages=4),
    KernelConfig(64, 128, 64, swap_ab=True, num_warps=4, num_stages=4),
    KernelConfig(64, 128, 64, num_warps=4, num_stages=4),
    KernelConfig(128, 128, 64, num_warps=8, num_stages=4),
    KernelConfig(128, 256, 64, num_warps=8, num_stages=3),
    KernelConfig(256, 128, 64, num_warps=8, num_stages=3),
)
FP8_CONFIGS: tuple[KernelConfig, ...] = (
    KernelConfig(16, 128, 256, swap_ab=True, num_warps=4, num_stages=4),
    KernelConfig(32, 128, 256, swap_ab=True, num_warps=4, num_stages=4),
    KernelConfig(64, 128, 128, swap_ab=True, num_warps=4, num_stages=4),
    KernelConfig(64, 128, 128, num_warps=4, num_stages=4),
    KernelConfig(128, 128, 128, num_warps=8, num_stages=4),
    KernelConfig(128, 256, 128, num_warps=8, num_stages=3),
    KernelConfig(256, 128, 128, num_warps=8, num_stages=3),
)
INTERPRETER_CONFIG = KernelConfig(16, 32, 32, group_m=4, num_warps=1, num_stages=1)  # small = fast on CPU


def _prune_for_m(configs, named_args, **kwargs):
    """Keep token tiles that fit M: no tile wider than next_pow2(M), none narrower than 64 for M >= 512."""
    m = int(named_args["M"])
    cap = max(16, triton.next_power_of_2(m))
    kept = [c for c in configs if c.kwargs["BLOCK_M"] <= cap and (m < 512 or c.kwargs["BLOCK_M"] >= 64)]
    return kept or list(configs)


def _bench_for_autotune(fn, quantiles=None):
    return triton.testing.do_bench(fn, warmup=5, rep=20, quantiles=quantiles)


_fp16_autotuned = triton.autotune(
    configs=[c.to_triton() for c in FP16_CONFIGS], key=["M", "N", "K"],
    prune_configs_by={"early_config_prune": _prune_for_m}, do_bench=_bench_for_autotune,
)(_nested_fp16_kernel)
_fp8_autotuned = triton.autotune(
    configs=[c.to_triton() for c in FP8_CONFIGS], key=["M", "N", "K", "NATIVE_FP8"],
    prune_configs_by={"early_config_prune": _prune_for_m}, do_bench=_bench_for_autotune,
)(_nested_fp8_kernel)


def _grid(config: KernelConfig | None):
    if config is not None:
        return lambda meta: (triton.cdiv(meta["M"], config.block_m) * triton.cdiv(meta["N"], config.block_n),)
    return lambda meta: (triton.cdiv(meta["M"], meta["BLOCK_M"]) * triton.cdiv(meta["N"], meta["BLOCK_N"]),)


def _pick_config(config: KernelConfig | None, device: torch.device) -> KernelConfig | None:
    """Explicit config wins; the interpreter (CPU) gets a small fixed tile; a GPU autotunes (None)."""
    if config is not None:
        return config
    if INTERPRETED or device.type != "cuda":
        return INTERPRETER_CONFIG
    return None


def native_fp8_supported(device: torch.device) -> bool:
    """FP8 tensor-core dots need sm_89+ (Ada/Hopper); the interpreter emulates them on the CPU."""
    if INTERPRETED or device.type != "cuda":
        return True
    return torch.cuda.get_device_capability(device) >= (8, 9)


def _check_device(*tensors: torch.Tensor) -> torch.device:
    devs = {t.device for t in tensors}
    if len(devs) != 1:
        raise ValueError(f"all operands must be on one device, got {sorted(str(d) for d in devs)}")
    dev = devs.pop()
    if dev.type != "cuda" and not INTERPRETED:
        raise ValueError(f"CPU tensors need TRITON_INTERPRET=1 (set by configure_triton without a GPU); got {dev}")
    return dev


def nested_fp16_matmul(x: torch.Tensor, hi: torch.Tensor, lo: torch.Tensor, *,
                       config: KernelConfig | None = None) -> torch.Tensor:
    """NestedFP16 GEMM: ``x (M, K) fp16`` times the weight rebuilt from ``hi, lo (N, K)`` -> ``(M, N) fp16``.

    Equal to :func:`nested_fp16_matmul_reference` within FP16-GEMM tolerance. ``config`` fixes the
    tiles; by default a GPU autotunes over :data:`FP16_CONFIGS`.
    """
    _check_fp16_args(x, hi, lo)
    dev = _check_device(x, hi, lo)
    hi8, lo8 = _as_u8(hi), _as_u8(lo)
    m, k = x.shape
    n = hi.shape[0]
    out = torch.empty((m, n), dtype=torch.float16, device=dev)  # (M, N)
    if m == 0 or n == 0:
        return out
    if k == 0:
        return out.zero_()
    cfg = _pick_config(config, dev)
    args = (x, hi8, lo8, out, m, n, k, x.stride(0), x.stride(1), hi8.stride(0), hi8.stride(1),
            out.stride(0), out.stride(1))
    if cfg is None:
        _fp16_autotuned[_grid(None)](*args)
    else:
        _nested_fp16_kernel[_grid(cfg)](*args, **cfg.meta(), num_warps=cfg.num_warps, num_stages=cfg.num_stages)
    return out


def nested_fp8_matmul(x8: torch.Tensor, x_scale: torch.Tensor | float, hi: torch.Tensor, *,
                      config: KernelConfig | None = None, native_fp8: bool | None = None) -> torch.Tensor:
    """NestedFP8 GEMM: ``x8 (M, K) e4m3`` with dequant scale ``x_scale`` (scalar, (M,) or (M, 1))
    times the upper plane ``hi (N, K)`` as E4M3 weights scaled by 2^-8 -> ``(M, N) fp16``.

    Equal to :func:`nested_fp8_matmul_reference` within FP32-accumulation tolerance.
    ``native_fp8=False`` forces the FP16-decode path (used automatically below sm_89).
    """
    scale = _check_fp8_args(x8, x_scale, hi)
    dev = _check_device(x8, hi, scale)
    native = native_fp8_supported(dev) if native_fp8 is None else native_fp8
    w8 = hi if hi.dtype == torch.float8_e4m3fn else hi.view(torch.float8_e4m3fn)
    m, k = x8.shape
    n = hi.shape[0]
    out = torch.empty((m, n), dtype=torch.float16, device=dev)  # (M, N)
    if m == 0 or n == 0:
        return out
    if k == 0:
        return out.zero_()
    cfg = _pick_config(config, dev)
    args = (x8, scale, w8, out, m, n, k, x8.stride(0), x8.stride(1), w8.stride(0), w8.stride(1),
            out.stride(0), out.stride(1))
    if cfg is None:
        _fp8_autotuned[_grid(None)](*args, NATIVE_FP8=native)
    else:
        _nested_fp8_kernel[_grid(cfg)](*args, **cfg.meta(), NATIVE_FP8=native,
                                       num_warps=cfg.num_warps, num_stages=cfg.num_stages)
    return out


def best_config(kind: str, m: int, n: int, k: int) -> str:
    """The autotuner's choice for a shape after a GPU run ('' if none yet); for benchmark tables."""
    tuner = {"fp16": _fp16_autotuned, "fp8": _fp8_autotuned}[kind]
    for key, cfg in getattr(tuner, "cache", {}).items():
        if tuple(key[:3]) == (m, n, k):
            kw = cfg.kwargs
            return (f"m{kw['BLOCK_M']}n{kw['BLOCK_N']}k{kw['BLOCK_K']}w{cfg.num_warps}s{cfg.num_stages}"
                    + ("_swap" if kw["SWAP_AB"] else ""))
    return ""
