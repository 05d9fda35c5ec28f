"""Scalar, loop-by-loop L3 encoder: the bug-fixed prototype transcribed literally (``papers/l3.md`` §1.2-§1.5).

This is the slow oracle the vectorized :func:`artifact.l3.codec.encode` is tested against, byte for
byte. It mirrors SNU-ARC/L3 ``paeth_filter`` / ``paeth_loop_enc`` / ``bd_loop_enc`` /
``bitpack_loop_enc`` / ``file_write`` with the §1.7 repairs: integer bit length, n = 0 rows of 2
bytes, n = 8 packed, one generic LSB-first bit writer for every n (no hand-unrolled 6-bit case).
Only for small images (pure Python loops).
"""
from __future__ import annotations

import struct

import numpy as np

from artifact.l3.header import MAGIC, check_patch


def paeth_scalar(a: int, b: int, c: int) -> int:
    """``paeth_filter`` of l3.cuh, line by line (a up-left, b up, c up-right; uint8 values)."""
    p = a + c - b
    if a == 0:
        return b if abs(p - b) <= abs(p - c) else c
    if c == 0:
        return a if abs(p - a) <= abs(p - b) else b
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pa <= pc else c


def _to_int8(v: int) -> int:
    v &= 0xFF
    return v - 256 if v >= 128 else v


def encode_row(residuals: list[int], patch: int) -> bytes:
    """One row record: 4-bit n, 8-bit base, P deltas of n bits, LSB-first, byte-padded."""
    base = min(residuals)
    n = (max(residuals) - base).bit_length()
    bits = n | ((base & 0xFF) << 4)
    pos = 12
    for r in residuals:
        bits |= (r - base) << pos
        pos += n
    return bits.to_bytes((12 + patch * n + 7) // 8, "little")


def encode_scalar(img: np.ndarray, patch: int) -> bytes:
    """Encode an (H, W, 3) uint8 image whose sides are multiples of ``patch``, like the fixed prototype."""
    patch = check_patch(patch)
    h, w, _ = img.shape
    if h % patch or w % patch:
        raise ValueError("the prototype codes only sides that are multiples of P")
    planes = [img[:, :, ch].astype(int).tolist() for ch in range(3)]
    sizes: list[list[int]] = []
    payloads: list[bytes] = []
    for plane in planes:
        ch_sizes, ch_payload = [], []
        for py in range(h // patch):
            for px in range(w // patch):
                tile = [row[px * patch:(px + 1) * patch] for row in plane[py * patch:(py + 1) * patch]]
                size = 0
                for r in range(patch):
                    if r == 0:
                        res = [_to_int8(v) for v in tile[0]]
                    else:
                        up = [0, *tile[r - 1], 0]
                        res = [_to_int8(tile[r][j] - paeth_scalar(up[j], up[j + 1], up[j + 2])) for j in range(patch)]
                    rec = encode_row(res, patch)
                    ch_payload.append(rec)
                    size += len(rec)
                ch_sizes.append(size)
        sizes.append(ch_sizes)
        payloads.append(b"".join(ch_payload))
    head = MAGIC + struct.pack("<iiB", w, h, patch)
    head += b"".join(np.asarray(s, "<u2").tobytes() for s in sizes)
    return head + b"".join(payloads)
