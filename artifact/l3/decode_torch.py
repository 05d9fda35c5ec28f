"""Batched pure-PyTorch L3 decoder (``papers/l3.md`` §1.6, §1.8): CPU or CUDA.

All patches of all images in a batch are decoded together: P dependent steps of the row-header
walk (Stage A), then P steps that unpack one row of deltas for every patch and apply the custom
Paeth recurrence (Stages B+C). Launch-bound on a GPU for small batches, but simple and exact.

The host-side part (:func:`plan_batch`: header parse, validation of sizes, exclusive prefix sums of
the patch offsets) is what the paper's design leaves on the CPU; it is timed separately.

Example::

    >>> from artifact.l3.codec import encode
    >>> imgs = [np.full((40, 24, 3), 7, np.uint8), np.zeros((16, 16, 3), np.uint8)]
    >>> outs = decode_batch_torch([encode(i, patch=8) for i in imgs])
    >>> [tuple(o.shape) for o in outs]
    [(40, 24, 3), (16, 16, 3)]
"""
from __future__ import annotations

import functools
import time
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from artifact.l3.header import DEFAULT_MAX_PIXELS, L3FormatError, L3Header, parse_header, patch_offsets, row_table

__all__ = ["BatchPlan", "plan_batch", "decode_batch_torch", "decode_torch", "paeth_torch", "raise_first_error"]


@dataclass(frozen=True)
class BatchPlan:
    """Host-side result for a batch of streams that share one patch size."""

    headers: list[L3Header]
    buffer: np.ndarray  # (L + 2,) uint8: all streams back to back, 2 zero bytes of padding
    size: int  # L, bytes of real data
    starts: np.ndarray  # (K,) int64 offset of every (image, channel, patch) in ``buffer``; K = sum 3*Np
    ends: np.ndarray  # (K,) int64 end offsets (start + stored patch size)
    first_patch: np.ndarray  # (B + 1,) int64 index of each image's first patch in ``starts``
    stream_base: np.ndarray  # (B,) int64 offset of each stream in ``buffer``
    patch: int


def plan_batch(blobs: Sequence[bytes], max_pixels: int = DEFAULT_MAX_PIXELS) -> BatchPlan:
    """Parse every header and prefix-sum the patch sizes (the CPU work of the L3 pipeline)."""
    if not blobs:
        raise ValueError("plan_batch needs at least one stream")
    headers = [parse_header(b, max_pixels=max_pixels) for b in blobs]
    patches = {h.patch for h in headers}
    if len(patches) != 1:
        raise ValueError(f"a batch must share one patch size, got {sorted(patches)}; use decode_batch_torch, "
                         "which groups by patch size")
    lengths = np.array([len(b) for b in blobs], np.int64)
    stream_base = np.zeros(len(blobs), np.int64)
    np.cumsum(lengths[:-1], out=stream_base[1:])
    size = int(lengths.sum())
    buffer = np.zeros(size + 2, np.uint8)
    buffer[:size] = np.frombuffer(b"".join(bytes(b) for b in blobs), np.uint8)
    starts = np.concatenate([patch_offsets(h).ravel() + base for h, base in zip(headers, stream_base)])
    sizes = np.concatenate([h.sizes.ravel() for h in headers])
    first = np.zeros(len(blobs) + 1, np.int64)
    np.cumsum([3 * h.n_patches for h in headers], out=first[1:])
    return BatchPlan(headers, buffer, size, starts, starts + sizes, first, stream_base, patches.pop())


def raise_first_error(plan: BatchPlan) -> None:
    """Re-walk the row records on the host to raise the exact :class:`L3FormatError` of the first bad image."""
    for i, h in enumerate(plan.headers):
        lo, hi = int(plan.stream_base[i]), int(plan.stream_base[i]) + h.total_bytes
        stream = plan.buffer[lo:hi]
        row_table(stream, h, patch_offsets(h))
    raise L3FormatError(0, "the device-side row walk flagged an inconsistency the host walk did not find")


def paeth_torch(prev: torch.Tensor) -> torch.Tensor:
    """Custom Paeth prediction (§1.2) of the next row from ``prev`` (K, P) int32 rows; returns int32."""
    b = prev
    a = torch.nn.functional.pad(prev[:, :-1], (1, 0))  # up-left, 0 outside the patch
    c = torch.nn.functional.pad(prev[:, 1:], (0, 1))  # up-right
    pa = (c - b).abs()
    pb = (a + c - 2 * b).abs()
    pc = (a - b).abs()
    general = torch.where((pa <= pb) & (pa <= pc), a, torch.where(pa <= pc, b, c))
    a_zero = torch.where(pb <= pc, b, c)
    c_zero = torch.where(pa <= pb, a, b)
    return torch.where(a == 0, a_zero, torch.where(c == 0, c_zero, general))


def paeth_lut_torch(prev: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Same prediction as :func:`paeth_torch` through the 16 MiB lookup table (faster on CPUs)."""
    idx = prev << 8  # b = up
    idx[:, 1:] |= prev[:, :-1]  # a = up-left
    idx[:, :-1] |= prev[:, 1:] << 16  # c = up-right (table index c << 16 | b << 8 | a)
    return table[idx].to(torch.int32)


def _predictor(device: torch.device, predictor: str):
    if predictor == "auto":
        predictor = "lut" if device.type == "cpu" else "formula"
    if predictor == "formula":
        return paeth_torch
    if predictor != "lut":
        raise ValueError(f"predictor must be 'auto', 'lut' or 'formula', got {predictor!r}")
    from artifact.l3.codec import paeth_table

    with warnings.catch_warnings():  # the shared numpy table is read-only; torch only reads it
        warnings.simplefilter("ignore", UserWarning)
        table = torch.from_numpy(paeth_table()).to(device)
    return lambda prev: paeth_lut_torch(prev, table)


def _unpack_row(buf: torch.Tensor, nr: torch.Tensor, off_r: torch.Tensor, base_r: torch.Tensor,
                cols: torch.Tensor) -> torch.Tensor:
    """Residuals of one row of every patch: (K, 1) n, offset, base -> (K, P) int32 (mod 256 not applied)."""
    bit = 12 + cols * nr  # (K, P) bit position of each delta
    byte = off_r + (bit >> 3)
    window = buf[byte] | (buf[byte + 1] << 8)  # 16-bit window holds any n <= 8 bits
    return ((window >> (bit & 7).to(torch.int32)) & ((1 << nr) - 1).to(torch.int32)) + base_r


def _row_step(buf: torch.Tensor, nr: torch.Tensor, off_r: torch.Tensor, base_r: torch.Tensor,
              prev: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """One step of Stages B + C for rows r > 0: unpack, predict from ``prev``, add mod 256."""
    return (_unpack_row(buf, nr, off_r, base_r, cols) + paeth_torch(prev)) & 255


@functools.lru_cache(maxsize=1)
def compiled_row_step():
    """``torch.compile`` of :func:`_row_step` (fuses ~25 elementwise passes into one loop; the
    first call compiles for a minute or two on a CPU, later calls reuse the cache)."""
    return torch.compile(_row_step, dynamic=True)


def _decode_planned(plan: BatchPlan, device: torch.device, timings: dict | None,
                    predictor: str = "auto", compile: bool = False) -> list[torch.Tensor]:
    t0 = time.perf_counter()
    patch = plan.patch
    buf = torch.from_numpy(plan.buffer).to(device).to(torch.int32)  # (L+2,)
    starts = torch.from_numpy(plan.starts).to(device)  # (K,)
    ends = torch.from_numpy(plan.ends).to(device)
    if timings is not None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        timings["h2d_s"] = timings.get("h2d_s", 0.0) + time.perf_counter() - t0
    t1 = time.perf_counter()
    k = starts.shape[0]

    # Stage A: walk the row headers of all patches (P dependent steps).
    n = torch.empty((k, patch), dtype=torch.int64, device=device)
    base = torch.empty((k, patch), dtype=torch.int32, device=device)
    offs = torch.empty((k, patch), dtype=torch.int64, device=device)
    pos = starts.clone()
    for r in range(patch):
        p = pos.clamp(max=plan.size)  # reads past the data hit the zero padding
        b0, b1 = buf[p], buf[p + 1]
        n[:, r] = b0 & 15
        base[:, r] = (b0 >> 4) | ((b1 & 15) << 4)
        offs[:, r] = pos
        pos = pos + (12 + patch * n[:, r] + 7) // 8
    row_end = offs + (12 + patch * n + 7) // 8
    bad = (n > 8).any() | (row_end > ends[:, None]).any() | (pos != ends).any()
    if bool(bad):  # one device sync per batch
        raise_first_error(plan)

    # Stages B + C: unpack one row of deltas for every patch, then the Paeth recurrence.
    cols = torch.arange(patch, device=device)
    out = torch.empty((k, patch, patch), dtype=torch.uint8, device=device)  # (K, row, col)
    prev = _unpack_row(buf, n[:, :1], offs[:, :1], base[:, :1], cols) & 255  # row 0 is raw
    out[:, 0] = prev.to(torch.uint8)
    if compile:
        step = compiled_row_step()
    else:
        predict = _predictor(device, predictor)

        def step(buf, nr, off_r, base_r, prev, cols):
            return (_unpack_row(buf, nr, off_r, base_r, cols) + predict(prev)) & 255
    for r in range(1, patch):
        prev = step(buf, n[:, r:r + 1], offs[:, r:r + 1], base[:, r:r + 1], prev, cols)
        out[:, r] = prev.to(torch.uint8)

    images = []
    for i, h in enumerate(plan.headers):
        gh, gw = h.grid_h, h.grid_w
        x = out[plan.first_patch[i]:plan.first_patch[i + 1]].view(3, gh, gw, patch, patch)
        img = x.permute(1, 3, 2, 4, 0).reshape(gh * patch, gw * patch, 3)[:h.height, :h.width]
        images.append(img.contiguous())
    if timings is not None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        timings["decode_s"] = timings.get("decode_s", 0.0) + time.perf_counter() - t1
    return images


def decode_batch_torch(blobs: Sequence[bytes], device: torch.device | str | None = None,
                       max_pixels: int = DEFAULT_MAX_PIXELS, timings: dict | None = None,
                       predictor: str = "auto", compile: bool = False) -> list[torch.Tensor]:
    """Decode L3 streams to (H, W, 3) uint8 tensors on ``device`` (default CPU), in input order.

    Streams are grouped by patch size; each group is one batched decode. ``timings`` (a dict), if
    given, accumulates ``host_s`` (parse + prefix sums), ``h2d_s`` (copy to the device) and
    ``decode_s`` (device work incl. the row walk), in seconds. ``predictor``: "formula" (tensor
    ops, the default on CUDA), "lut" (16 MiB table gather, the default on CPU) or "auto".
    ``compile=True`` runs the row step through ``torch.compile`` (formula predictor; needs a C++
    compiler on CPU; several times faster after a one-off compile).
    """
    device = torch.device(device or "cpu")
    groups: dict[int, list[int]] = {}
    for i, b in enumerate(blobs):
        p = b[12] if len(b) > 12 else 0
        groups.setdefault(int(p), []).append(i)
    results: list[torch.Tensor | None] = [None] * len(blobs)
    for idx in groups.values():
        t0 = time.perf_counter()
        plan = plan_batch([blobs[i] for i in idx], max_pixels=max_pixels)
        if timings is not None:
            timings["host_s"] = timings.get("host_s", 0.0) + time.perf_counter() - t0
        for i, img in zip(idx, _decode_planned(plan, device, timings, predictor, compile)):
            results[i] = img
    return results  # type: ignore[return-value]


def decode_torch(data: bytes, device: torch.device | str | None = None,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> torch.Tensor:
    """Decode one L3 stream to an (H, W, 3) uint8 tensor on ``device``."""
    return decode_batch_torch([data], device=device, max_pixels=max_pixels)[0]
