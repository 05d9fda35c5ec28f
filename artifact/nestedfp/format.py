"""NestedFP weight format: one FP16 word = an E4M3 upper byte plane + a raw lower byte plane.

Implements NestedFP (Lee, Kwon, Park, Lee; NeurIPS 2025, arXiv 2506.02024) §1.1-§1.5 of
``papers/nestedfp.md``, bit for bit, as vectorized torch integer arithmetic (any device).

FP16 word ``a = s | e4..e0 | m9..m0``. For |w| < 2 (``e4 == 0``):

* ``lo = a & 0xFF`` — the raw low byte (m7..m0), kept only as a byte container.
* ``hi`` — E4M3 code ``(s << 7) | (e3..e0 << 3) | m9..m7``, rounded to nearest even on the 7
  dropped bits (m6..m0) by a plain integer ``+1`` (a mantissa carry spills into the exponent),
  except that ``e == 15, m_hi == 6`` (|w| in [1.75, 1.875)) never rounds up: that would give the
  E4M3fn NaN code, so these saturate to 448.
* Because E4M3's exponent bias (7) is FP16's (15) minus 8, ``E4M3(hi) == w * 2^8`` up to that
  rounding, for normals and subnormals alike: the FP8 weight has a fixed scale of 2^-8.

``merge`` undoes it exactly: ``fp16 = (((hi & 0x80) | (((hi - (lo >> 7)) >> 1) & 0x3F)) << 8) | lo``.

The round trip is exact, and the FP8 view is a saturating RNE cast, exactly on |w| < 1.875
(32,512 of the 65,536 FP16 patterns). ``split`` rejects everything else (non-finite values,
|w| >= 1.875) with :class:`NestedFPRangeError`; callers that want a fallback (``linear.convert``)
check :func:`representable` or a threshold first.

Example::

    >>> w = torch.tensor([0.5, -1.0, 1e-6], dtype=torch.float16)
    >>> hi, lo = split(w)                      # (3,) uint8 each
    >>> torch.equal(merge(hi, lo).view(torch.int16), w.view(torch.int16))
    True
    >>> fp8_view(hi).float() * FP8_WEIGHT_SCALE
    tensor([ 0.5000, -1.0000,  0.0000])
"""

from __future__ import annotations

import torch

__all__ = [
    "FP8_WEIGHT_SCALE",
    "E4M3_MAX",
    "MAX_EXACT_MAGNITUDE",
    "NestedFPRangeError",
    "representable",
    "split",
    "merge",
    "merge_xor",
    "fp8_view",
    "fp8_weight",
    "fp16_bits",
    "bits_to_fp16",
]

FP8_WEIGHT_SCALE = 2.0**-8  # the fixed weight scale of the FP8 view (no stored scale tensor)
E4M3_MAX = 448.0  # largest finite float8_e4m3fn value; the FP8 view saturates here (= 1.75 * 2^8)
MAX_EXACT_MAGNITUDE = 1.875  # split/merge are exact (and the FP8 view is finite) for |w| < this
_MAX_EXACT_BITS = 0x3F80  # |w| bit pattern of 1.875; accepted iff (a & 0x7FFF) < this


class NestedFPRangeError(ValueError):
    """Raised by :func:`split` for values NestedFP cannot hold exactly (non-finite or |w| >= 1.875)."""


def _check_fp16(w: torch.Tensor) -> None:
    if not isinstance(w, torch.Tensor):
        raise TypeError(f"split expects a torch.Tensor of dtype torch.float16, got {type(w).__name__}")
    if w.dtype != torch.float16:
        raise TypeError(
            f"split expects dtype torch.float16, got {w.dtype}; cast first with w.to(torch.float16) "
            "(a BF16/FP32 checkpoint is served as an FP16 cast, as in the paper)"
        )


def _check_planes(hi: torch.Tensor, lo: torch.Tensor) -> None:
    for name, t in (("hi", hi), ("lo", lo)):
        if t.dtype not in (torch.uint8, torch.float8_e4m3fn):
            raise TypeError(f"merge expects {name} as torch.uint8 (or a float8_e4m3fn byte view), got {t.dtype}")
    if hi.shape != lo.shape:
        raise ValueError(f"merge expects planes of the same shape, got hi {tuple(hi.shape)} and lo {tuple(lo.shape)}")


def _as_u8(t: torch.Tensor) -> torch.Tensor:
    return t.view(torch.uint8) if t.dtype != torch.uint8 else t


def fp16_bits(w: torch.Tensor) -> torch.Tensor:
    """The FP16 bit patterns of ``w`` as int32 in [0, 65535] (torch CPU has no uint16 shifts)."""
    _check_fp16(w)
    return w.view(torch.int16).to(torch.int32) & 0xFFFF


def bits_to_fp16(bits: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`fp16_bits`: int32 patterns in [0, 65535] -> float16 (same shape)."""
    signed = torch.where(bits >= 0x8000, bits - 0x10000, bits)  # wrap into int16 range explicitly
    return signed.to(torch.int16).view(torch.float16)


def representable(w: torch.Tensor) -> torch.Tensor:
    """Bool mask: True where ``w`` is finite and |w| < 1.875, i.e. where :func:`split` is exact."""
    return (fp16_bits(w) & 0x7FFF) < _MAX_EXACT_BITS  # NaN/Inf have exponent 31 -> larger


def _raise_out_of_range(w: torch.Tensor, ok: torch.Tensor) -> None:
    bad = w[~ok].float().abs()
    n_bad = int(bad.numel())
    n_nonfinite = int((~torch.isfinite(bad)).sum())
    finite_bad = bad[torch.isfinite(bad)]
    largest = "nan" if bool(torch.isnan(bad).any()) else ("inf" if n_nonfinite else f"{float(finite_bad.max()):.6g}")
    raise NestedFPRangeError(
        f"NestedFP split: {n_bad} of {w.numel()} values cannot be held exactly "
        f"({n_nonfinite} non-finite; largest offending |w| = {largest}); only finite |w| < "
        f"{MAX_EXACT_MAGNITUDE} is supported. Keep this tensor in FP16 (linear.convert does this per layer) "
        "or rescale it."
    )


def split(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split an FP16 tensor into its (hi, lo) byte planes, both torch.uint8 of ``w``'s shape.

    ``hi`` is the saturating round-to-nearest-even E4M3 code of ``w * 2^8``; ``lo`` is the raw low
    byte of each FP16 word. Raises :class:`NestedFPRangeError` (a ``ValueError``) if any value is
    non-finite or has |w| >= 1.875, naming the count and the largest offending magnitude; raises
    ``TypeError`` for a non-float16 input.
    """
    a = fp16_bits(w)  # (...) int32
    ok = (a & 0x7FFF) < _MAX_EXACT_BITS
    if not bool(ok.all()):
        _raise_out_of_range(w, ok)
    lo = a & 0xFF
    s = (a >> 15) & 1
    e = (a >> 10) & 0xF  # low 4 exponent bits (e4 == 0 here)
    m_hi = (a >> 7) & 0x7
    m_lo = a & 0x7F
    c = (s << 7) | (e << 3) | m_hi  # truncated E4M3 code
    up = (m_lo > 64) | ((m_lo == 64) & ((m_hi & 1) == 1))  # RNE on the 7 dropped bits
    up = up & ~((e == 15) & (m_hi == 6))  # never round up into the NaN code S.1111.111: saturate to 448
    hi = c + up.to(torch.int32)  # integer +1: a mantissa carry spills into the exponent
    return hi.to(torch.uint8), lo.to(torch.uint8)


def merge(hi: torch.Tensor, lo: torch.Tensor) -> torch.Tensor:
    """Bit-exact inverse of :func:`split` (the GEMM-mainloop form: ``sub = lo >> 7``). -> float16."""
    _check_planes(hi, lo)
    h = _as_u8(hi).to(torch.int32)
    l = _as_u8(lo).to(torch.int32)
    mid = ((h - (l >> 7)) >> 1) & 0x3F  # undo the rounding, drop m_hi[0] (it lives in lo's bit 7)
    return bits_to_fp16((((h & 0x80) | mid) << 8) | l)


def merge_xor(hi: torch.Tensor, lo: torch.Tensor) -> torch.Tensor:
    """The host/utility form of merge (``sub = (hi & 1) ^ (lo >> 7)``); equal to :func:`merge` on split output."""
    _check_planes(hi, lo)
    h = _as_u8(hi).to(torch.int32)
    l = _as_u8(lo).to(torch.int32)
    sub = (h & 1) ^ (l >> 7)  # 1 iff split rounded up
    mid = ((h - sub) >> 1) & 0x3F
    return bits_to_fp16((((h & 0x80) | mid) << 8) | l)


def fp8_view(hi: torch.Tensor) -> torch.Tensor:
    """The upper plane reinterpreted (no copy) as torch.float8_e4m3fn; the weight is this times 2^-8."""
    if hi.dtype == torch.float8_e4m3fn:
        return hi
    if hi.dtype != torch.uint8:
        raise TypeError(f"fp8_view expects the torch.uint8 upper plane from split, got {hi.dtype}")
    return hi.view(torch.float8_e4m3fn)


def fp8_weight(hi: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The FP8-mode weight value ``E4M3(hi) * 2^-8`` in ``dtype`` (exact in float32)."""
    return fp8_view(hi).to(dtype) * FP8_WEIGHT_SCALE
