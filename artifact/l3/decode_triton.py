"""Triton L3 decoder: one program per (image, patch), a block of P columns, a loop over rows.

``papers/l3.md`` §1.6 / §1.8: like the original CUDA kernel, each program decodes all three
channels of one patch; for every row it reads the row header (n, base), extracts its column's
delta from a 16-bit window, predicts from the previous output row (re-read from global memory
after a barrier, 0 outside the patch) and writes HWC uint8 output with stride 3.

Hardening is fused into the kernel: every load is masked to the input buffer, n is clamped to 8
for addressing, and the kernel writes each (patch, channel)'s end offset and an "n > 8" flag.
The host compares them with the header's patch sizes and, if anything disagrees, re-walks the
rows on the CPU to raise the exact :class:`~artifact.l3.header.L3FormatError`.

On a machine without CUDA, :func:`artifact.gpu.configure_triton` selects the Triton interpreter
(``TRITON_INTERPRET=1``): exact but slow, for small images only.
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch

from artifact.gpu import configure_triton

configure_triton()  # before `import triton`: interpreter mode when there is no CUDA GPU

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

from artifact.l3.decode_torch import BatchPlan, plan_batch, raise_first_error  # noqa: E402
from artifact.l3.header import DEFAULT_MAX_PIXELS  # noqa: E402

__all__ = ["decode_batch_triton", "decode_triton"]


@triton.jit
def _l3_decode_kernel(
    # pointers
    buf_ptr, in_start_ptr, out_ptr, out_base_ptr, out_stride_ptr, end_ptr, badn_ptr,
    # sizes
    buf_len,
    # meta-parameters
    P: tl.constexpr, BLOCK: tl.constexpr,
):
    pid = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    in_patch = cols < P
    out_base = tl.load(out_base_ptr + pid)  # int64: top-left pixel of this patch in the flat output
    stride = tl.load(out_stride_ptr + pid)  # int64: bytes per output row = 3 * padded width
    for ch in tl.static_range(3):
        pos = tl.load(in_start_ptr + pid * 3 + ch)  # int64: start of this channel's patch
        bad = pos * 0
        for r in range(P):
            # Row header: n in the low nibble of byte 0, base across bytes 0 and 1.
            b0 = tl.load(buf_ptr + pos, mask=pos < buf_len, other=0).to(tl.int32)
            b1 = tl.load(buf_ptr + pos + 1, mask=pos + 1 < buf_len, other=0).to(tl.int32)
            n = b0 & 15
            bad = bad | (n > 8).to(tl.int64)
            n = tl.minimum(n, 8)
            base = (b0 >> 4) | ((b1 & 15) << 4)
            # This column's delta: n bits at bit 12 + col*n, from a 16-bit window.
            bit = 12 + cols * n
            byte = pos + (bit >> 3)
            lo = tl.load(buf_ptr + byte, mask=in_patch & (byte < buf_len), other=0).to(tl.int32)
            hi = tl.load(buf_ptr + byte + 1, mask=in_patch & (byte + 1 < buf_len), other=0).to(tl.int32)
            res = (((lo | (hi << 8)) >> (bit & 7)) & ((1 << n) - 1)) + base
            # Prediction from the previous output row (custom Paeth; all zeros for row 0 is not
            # used: row 0 is raw, selected by `first`).
            row_ptr = out_ptr + out_base + r * stride + cols * 3 + ch
            prev_ptr = row_ptr - stride
            first = r == 0
            a = tl.load(prev_ptr - 3, mask=in_patch & (cols > 0) & (r > 0), other=0).to(tl.int32)
            b = tl.load(prev_ptr, mask=in_patch & (r > 0), other=0).to(tl.int32)
            c = tl.load(prev_ptr + 3, mask=(cols < P - 1) & (r > 0), other=0).to(tl.int32)
            pa = tl.abs(c - b)
            pb = tl.abs(a + c - 2 * b)
            pc = tl.abs(a - b)
            general = tl.where((pa <= pb) & (pa <= pc), a, tl.where(pa <= pc, b, c))
            a_zero = tl.where(pb <= pc, b, c)
            c_zero = tl.where(pa <= pb, a, b)
            pred = tl.where(a == 0, a_zero, tl.where(c == 0, c_zero, general))
            pred = tl.where(first, 0, pred)
            tl.store(row_ptr, ((res + pred) & 255).to(tl.uint8), mask=in_patch)
            tl.debug_barrier()  # the next row reads this row's neighbours written by other threads
            pos += (12 + P * n + 7) >> 3
        tl.store(end_ptr + pid * 3 + ch, pos)
        tl.store(badn_ptr + pid * 3 + ch, bad)


def _launch_tables(plan: BatchPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Per-program input starts (G, 3), output bases (G,), strides (G,), expected ends (G, 3)."""
    p = plan.patch
    in_start, out_base, stride, ends, out_offsets = [], [], [], [], []
    total = 0
    for i, h in enumerate(plan.headers):
        hp, wp = h.padded_shape
        k0, k1 = plan.first_patch[i], plan.first_patch[i + 1]
        np_ = h.n_patches
        in_start.append(plan.starts[k0:k1].reshape(3, np_).T)  # (Np, 3) channel-minor per program
        ends.append(plan.ends[k0:k1].reshape(3, np_).T)
        py, px = np.divmod(np.arange(np_, dtype=np.int64), h.grid_w)
        out_base.append(total + (py * p * wp + px * p) * 3)
        stride.append(np.full(np_, 3 * wp, np.int64))
        out_offsets.append(total)
        total += hp * wp * 3
    out_offsets.append(total)
    return (np.ascontiguousarray(np.concatenate(in_start)), np.concatenate(out_base), np.concatenate(stride),
            np.ascontiguousarray(np.concatenate(ends)), out_offsets)


def decode_batch_triton(blobs: Sequence[bytes], device: torch.device | str | None = None,
                        max_pixels: int = DEFAULT_MAX_PIXELS, timings: dict | None = None) -> list[torch.Tensor]:
    """Decode L3 streams (one shared P) to (H, W, 3) uint8 tensors with the Triton kernel.

    ``device`` defaults to CUDA when available, else CPU (interpreter). ``timings`` accumulates
    ``host_s`` (parse + prefix sums + launch tables), ``h2d_s`` and ``decode_s``.
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    t0 = time.perf_counter()
    plan = plan_batch(blobs, max_pixels=max_pixels)
    in_start, out_base, stride, ends, out_offsets = _launch_tables(plan)
    t1 = time.perf_counter()
    buf = torch.from_numpy(plan.buffer[:plan.size]).to(device)
    d_in = torch.from_numpy(in_start).to(device)
    d_base = torch.from_numpy(out_base).to(device)
    d_stride = torch.from_numpy(stride).to(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t2 = time.perf_counter()
    programs = in_start.shape[0]
    out = torch.empty(out_offsets[-1], dtype=torch.uint8, device=device)
    end = torch.empty((programs, 3), dtype=torch.int64, device=device)
    badn = torch.empty((programs, 3), dtype=torch.int64, device=device)
    block = triton.next_power_of_2(plan.patch)
    _l3_decode_kernel[(programs,)](buf, d_in, out, d_base, d_stride, end, badn, plan.size,
                                   P=plan.patch, BLOCK=block, num_warps=max(1, block // 32))
    expected = torch.from_numpy(ends).to(device)
    if bool(((end != expected) | (badn != 0)).any()):
        raise_first_error(plan)
    images = []
    for i, h in enumerate(plan.headers):
        hp, wp = h.padded_shape
        img = out[out_offsets[i]:out_offsets[i + 1]].view(hp, wp, 3)[:h.height, :h.width]
        images.append(img if (hp, wp) == (h.height, h.width) else img.contiguous())
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    if timings is not None:
        timings["host_s"] = timings.get("host_s", 0.0) + t1 - t0
        timings["h2d_s"] = timings.get("h2d_s", 0.0) + t2 - t1
        timings["decode_s"] = timings.get("decode_s", 0.0) + time.perf_counter() - t2
    return images


def decode_triton(data: bytes, device: torch.device | str | None = None,
                  max_pixels: int = DEFAULT_MAX_PIXELS) -> torch.Tensor:
    """Decode one L3 stream with the Triton kernel."""
    return decode_batch_triton([data], device=device, max_pixels=max_pixels)[0]
