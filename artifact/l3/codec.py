"""L3 codec: vectorized numpy encoder and reference decoder (``papers/l3.md`` §1.1-§1.5).

The format, bit for bit (SNU-ARC/L3 @3b8e52c with the §1.7 prototype bugs repaired):

* R, G and B are coded independently as 8-bit planes cut into P x P patches (raster order).
* Row 0 of a patch stores the raw pixels; row r > 0 stores (x - pred) mod 256 where pred is the
  "custom Paeth" of up-left a, up b, up-right c of the SAME patch (0 outside the patch), including
  the prototype's value-zero branches (:func:`paeth_predict`).
* Each row of P residuals (read as int8) is a record: 4-bit n, 8-bit base = min residual, then P
  deltas (residual - base) of n = bit_length(max - min) bits, LSB-first, padded to
  ceil((12 + P*n) / 8) bytes.

Repairs of §1.7: n = 0 rows take 2 bytes, n = 8 rows are packed, every n uses the same generic
packer (no 6-bit mask bug), n is an integer bit length, prefix sums stop at N. Sizes that are not a
multiple of P are edge-padded (see :mod:`artifact.l3.header`).

Example::

    >>> img = np.zeros((48, 40, 3), np.uint8)
    >>> data = encode(img, patch=16)
    >>> data[:4], len(data) == 13 + 6 * 9 + 3 * 9 * 16 * 2
    (b'LLL.', True)
    >>> bool((decode(data) == img).all())
    True
"""
from __future__ import annotations

import functools
import struct

import numpy as np

from artifact.l3.header import (
    DEFAULT_MAX_PIXELS,
    MAGIC,
    L3FormatError,
    check_patch,
    parse_header,
    patch_offsets,
    row_bytes,
    row_table,
)

__all__ = ["encode", "decode", "default_patch", "paeth_predict", "L3FormatError", "to_patches", "from_patches"]

_BITLEN = np.array([int(v).bit_length() for v in range(256)], np.uint8)
HD_PIXELS = 1280 * 720


def default_patch(height: int, width: int) -> int:
    """P = 32 below HD (1280x720 pixels) and 64 from HD up, as the paper reportedly does (§4.3)."""
    return 64 if height * width >= HD_PIXELS else 32


def paeth_predict(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The prototype's custom Paeth (§1.2) on int16 arrays of values 0..255; returns int16.

    The ``== 0`` tests are on the pixel VALUE (the patch-border zeros and real zero pixels alike).
    """
    pa = np.abs(c - b)  # |p - a| with p = a + c - b
    pb = np.abs(a + c - 2 * b)  # |p - b|
    pc = np.abs(a - b)  # |p - c|
    general = np.where((pa <= pb) & (pa <= pc), a, np.where(pa <= pc, b, c))
    a_zero = np.where(pb <= pc, b, c)
    c_zero = np.where(pa <= pb, a, b)
    return np.where(a == 0, a_zero, np.where(c == 0, c_zero, general))


@functools.lru_cache(maxsize=1)
def paeth_table() -> np.ndarray:
    """(2**24,) uint8 lookup table of :func:`paeth_predict` indexed by c << 16 | b << 8 | a (16 MiB, built once).

    This order makes the index of column j the little-endian 24-bit word at bytes j-1..j+1 of a
    zero-padded row, so :func:`predict_rows` needs no shifts.
    """
    v = np.arange(256, dtype=np.int16)
    c, b, a = np.meshgrid(v, v, v, indexing="ij")
    table = paeth_predict(a, b, c).astype(np.uint8).ravel()
    table.flags.writeable = False
    return table


def predict_rows(prev: np.ndarray) -> np.ndarray:
    """Prediction of the next row from ``prev`` (..., P) uint8 rows of a patch -> (..., P) uint8.

    Neighbours outside the patch (column -1 and P) are 0. Uses :func:`paeth_table`.
    """
    shape, patch = prev.shape, prev.shape[-1]
    rows = prev.reshape(-1, patch)
    padded = np.zeros((rows.shape[0], patch + 3), np.uint8)  # [0, row..., 0, 0]
    padded[:, 1:patch + 1] = rows
    # Unaligned little-endian uint32 view: word j = a | b << 8 | c << 16 | (next) << 24.
    words = np.ndarray((rows.shape[0], patch), dtype="<u4", buffer=padded, strides=(patch + 3, 1))
    return np.take(paeth_table(), words & 0xFFFFFF).reshape(shape)


def to_patches(img: np.ndarray, patch: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (3, Np, P, P) patches of the edge-padded planes in raster order."""
    h, w, _ = img.shape
    gh, gw = -(-h // patch), -(-w // patch)
    if (gh * patch, gw * patch) != (h, w):
        img = np.pad(img, ((0, gh * patch - h), (0, gw * patch - w), (0, 0)), mode="edge")
    x = img.transpose(2, 0, 1).reshape(3, gh, patch, gw, patch)  # (C, gh, P, gw, P)
    return np.ascontiguousarray(x.transpose(0, 1, 3, 2, 4)).reshape(3, gh * gw, patch, patch)


def from_patches(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """(3, Np, P, P) -> (H, W, 3) uint8, cropping the edge padding."""
    patch = x.shape[-1]
    gh, gw = -(-height // patch), -(-width // patch)
    img = x.reshape(3, gh, gw, patch, patch).transpose(1, 3, 2, 4, 0).reshape(gh * patch, gw * patch, 3)
    return np.ascontiguousarray(img[:height, :width])


def pack_rows(delta: np.ndarray, base: np.ndarray, nbits: np.ndarray, patch: int) -> np.ndarray:
    """Concatenated row records, all rows at once: (M, P) uint8 deltas, (M,) base and n -> bytes.

    Eight n-bit deltas make exactly n bytes of a little-endian word, so each row becomes
    ceil(P/8) words; the first n bytes of each word are kept (boolean compaction, rows stay in
    order) between a leading and a trailing zero byte, and the whole stream is then shifted by 4
    bits because the deltas start at bit 12 of the record. Header bytes are written last.
    """
    m = delta.shape[0]
    groups = -(-patch // 8)
    n64 = nbits.astype(np.uint64)[:, None]  # (M, 1)
    if patch % 8:
        delta = np.concatenate([delta, np.zeros((m, groups * 8 - patch), np.uint8)], axis=1)
    # Pairs in 16 bits, quads in 32, octets in 64: fewer wide operations than 8 shifts of uint64.
    n16 = nbits.astype(np.uint16)[:, None, None]  # (M, 1, 1)
    d = delta.reshape(m, groups * 4, 2).astype(np.uint16)
    pairs = (d[..., 0] | (d[..., 1] << n16[:, :, 0])).reshape(m, groups * 2, 2).astype(np.uint32)
    quads = (pairs[..., 0] | (pairs[..., 1] << (2 * n16[:, :, 0].astype(np.uint32)))).reshape(m, groups, 2)
    word = quads[..., 0].astype(np.uint64) | (quads[..., 1].astype(np.uint64) << (4 * n64))  # (M, G)
    stream = np.zeros((m, groups * 8 + 2), np.uint8)  # [0, word bytes..., 0] per row
    stream[:, 1:-1] = word.astype("<u8").view(np.uint8).reshape(m, groups * 8)
    keep = np.ones(stream.shape, bool)
    keep[:, 1:-1] = (np.arange(groups * 8) % 8)[None, :] < nbits[:, None]
    flat = stream[keep]  # per row: 2 + G*n bytes
    out = flat << 4
    out[1:] |= flat[:-1] >> 4
    seg = 2 + groups * nbits.astype(np.int64)
    starts = np.zeros(m, np.int64)
    np.cumsum(seg[:-1], out=starts[1:])
    out[starts] = nbits | ((base & 15) << 4)
    out[starts + 1] |= base >> 4
    if patch % 8:  # drop the all-zero bytes past ceil((12 + P*n)/8) that the padding added
        pos = np.arange(out.size) - np.repeat(starts, seg)
        out = out[pos < np.repeat(row_bytes(nbits.astype(np.int64), patch), seg)]
    return out


def encode(img: np.ndarray, patch: int | None = None) -> bytes:
    """Encode an (H, W, 3) uint8 RGB image as an L3 stream (P defaults to :func:`default_patch`)."""
    img = np.asarray(img)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"encode needs an (H, W, 3) uint8 RGB array, got {img.dtype} {img.shape}")
    h, w, _ = img.shape
    if h < 1 or w < 1 or h >= 2**31 or w >= 2**31:
        raise ValueError(f"image sides must be in 1..2**31-1, got {h}x{w}")
    patch = check_patch(default_patch(h, w) if patch is None else patch)
    x = to_patches(img, patch)  # (3, Np, P, P) uint8
    n_patch = x.shape[1]

    # Residuals: row 0 raw, later rows minus the prediction from the original previous row.
    res = np.empty_like(x)
    res[:, :, 0] = x[:, :, 0]
    res[:, :, 1:] = x[:, :, 1:] - predict_rows(x[:, :, :-1])  # mod 256
    signed = res.view(np.int8)
    lo = signed.min(axis=-1)  # (3, Np, P) int8 base
    span = signed.max(axis=-1).astype(np.int16) - lo  # 0..255
    nbits = _BITLEN[span].ravel()  # (M,) with M = 3*Np*P rows
    base = lo.view(np.uint8).ravel()
    delta = (res - lo.view(np.uint8)[..., None]).reshape(-1, patch)  # (M, P) uint8, r - base

    lengths = row_bytes(nbits.astype(np.int64), patch)
    payload = pack_rows(delta, base, nbits, patch)

    sizes = lengths.reshape(3 * n_patch, patch).sum(axis=1)  # (3*Np,) R patches, G, B
    assert sizes.max() < 65536  # P <= 128: worst case 128 * 130 bytes
    head = MAGIC + struct.pack("<iiB", w, h, patch) + sizes.astype("<u2").tobytes()
    return head + payload.tobytes()


def unpack_deltas(data: np.ndarray, table_n: np.ndarray, table_off: np.ndarray, patch: int) -> np.ndarray:
    """Stage B: every delta at once from 16-bit windows; (..., P rows) tables -> (..., P, P) int32."""
    padded = np.concatenate([data, np.zeros(2, np.uint8)])
    n = table_n.astype(np.int32)[..., None]  # (..., P, 1)
    bit = 12 + np.arange(patch, dtype=np.int32) * n  # (..., P, P)
    byte = table_off[..., None] + (bit >> 3)
    window = padded[byte].astype(np.int32) | (padded[byte + 1].astype(np.int32) << 8)
    return (window >> (bit & 7)) & ((1 << n) - 1)


def decode(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Reference decoder: L3 stream -> (H, W, 3) uint8. Raises :class:`L3FormatError` on bad input."""
    buf = np.frombuffer(data, np.uint8) if not isinstance(data, np.ndarray) else data.astype(np.uint8, copy=False)
    header = parse_header(buf, max_pixels=max_pixels)
    table = row_table(buf, header, patch_offsets(header))
    res = (unpack_deltas(buf, table.n, table.offset, header.patch) + table.base[..., None]).astype(np.uint8)
    x = np.empty_like(res)  # (3, Np, P, P)
    x[:, :, 0] = res[:, :, 0]
    for r in range(1, header.patch):  # Stage C: the P-step nonlinear recurrence
        x[:, :, r] = res[:, :, r] + predict_rows(x[:, :, r - 1])
    return from_patches(x, header.height, header.width)
