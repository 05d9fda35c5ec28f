"""L3 container: header parse, patch prefix sums and row-record walk (the host-side part).

Implements ``papers/l3.md`` §1.4 (file layout) and §1.8 "Stage A" with every malformed input
mapped to :class:`L3FormatError` carrying the byte offset where the problem was found.

Layout (all little-endian)::

    0   4        magic b"LLL."
    4   4        width  (int32, the TRUE width; see below)
    8   4        height (int32, the TRUE height)
    12  1        patch size P (8..128)
    13  2*Np     R: uint16 byte size of each patch, patches in raster order
    ..  2*Np     G patch sizes, then B patch sizes
    13+6*Np ...  R payload (patches in raster order, each = P row records), then G, then B

Deviation from the prototype (§1.7 item 7): sizes that are not multiples of P are allowed. The
patch grid is ceil(H/P) x ceil(W/P); the image is edge-replicated to that padded size before
coding and the decoder crops back to the true W x H stored in the header. For sides that are
multiples of P, the padded size equals the true size and the stream is byte-identical to a
bug-fixed prototype encoder.

What stays on the CPU in the paper's design (§1.6) is :func:`parse_header` + :func:`patch_offsets`
(an exclusive prefix sum over 3*Np uint16 values). :func:`row_table` walks the row records of all
patches at once (P dependent steps, vectorized over patches); the GPU decoders do the same walk on
the device and only fall back to it on the host to produce an exact error message.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

MAGIC = b"LLL."
FIXED_HEADER = 13  # magic + width + height + P
MIN_PATCH, MAX_PATCH = 8, 128
DEFAULT_MAX_PIXELS = 1 << 26  # 67 Mpixel (e.g. 8192 x 8192); pass max_pixels=... explicitly for bigger images


class L3FormatError(ValueError):
    """A byte stream is not a valid L3 file. ``offset`` is the byte offset of the problem."""

    def __init__(self, offset: int, message: str):
        self.offset = int(offset)
        super().__init__(f"invalid L3 stream at byte offset {self.offset}: {message}")


def row_bytes(n: np.ndarray | int, patch: int) -> np.ndarray | int:
    """Bytes of one row record with bit width ``n``: ceil((12 + P*n) / 8) (§1.3)."""
    return (12 + patch * n + 7) // 8


def check_patch(patch: int) -> int:
    """Return ``patch`` if it is a supported patch size, else raise ``ValueError``."""
    if isinstance(patch, bool) or not isinstance(patch, (int, np.integer)) or not MIN_PATCH <= patch <= MAX_PATCH:
        raise ValueError(f"patch size must be an int in {MIN_PATCH}..{MAX_PATCH} (uint16 patch sizes), got {patch!r}")
    return int(patch)


@dataclass(frozen=True)
class L3Header:
    """Parsed, validated header of one L3 stream."""

    width: int
    height: int
    patch: int
    sizes: np.ndarray  # (3, Np) int64, compressed byte size of every (channel, patch)

    @property
    def grid_h(self) -> int:
        return -(-self.height // self.patch)

    @property
    def grid_w(self) -> int:
        return -(-self.width // self.patch)

    @property
    def n_patches(self) -> int:
        return self.grid_h * self.grid_w

    @property
    def padded_shape(self) -> tuple[int, int]:
        return self.grid_h * self.patch, self.grid_w * self.patch

    @property
    def header_bytes(self) -> int:
        return FIXED_HEADER + 6 * self.n_patches

    @property
    def total_bytes(self) -> int:
        return self.header_bytes + int(self.sizes.sum())


def header_bytes(height: int, width: int, patch: int) -> int:
    """Header size 13 + 6*Np for an image of the given true size (§1.4)."""
    return FIXED_HEADER + 6 * (-(-height // patch)) * (-(-width // patch))


def parse_header(data: bytes | bytearray | memoryview | np.ndarray, max_pixels: int = DEFAULT_MAX_PIXELS) -> L3Header:
    """Parse and validate the header; check every size before anything is allocated.

    Raises :class:`L3FormatError` for a wrong magic, truncated header or payload, absurd or
    too-large dimensions (``max_pixels``), unsupported P, impossible patch sizes, or trailing bytes.
    """
    buf = memoryview(np.ascontiguousarray(data, dtype=np.uint8) if isinstance(data, np.ndarray) else data).cast("B")
    size = len(buf)
    if size < FIXED_HEADER:
        raise L3FormatError(size, f"truncated header: the fixed header needs {FIXED_HEADER} bytes, the stream has {size}")
    if bytes(buf[0:4]) != MAGIC:
        raise L3FormatError(0, f"bad magic {bytes(buf[0:4])!r}, expected {MAGIC!r} (not an L3 file)")
    width, height = struct.unpack_from("<ii", buf, 4)
    patch = buf[12]
    if width < 1:
        raise L3FormatError(4, f"width {width} must be >= 1")
    if height < 1:
        raise L3FormatError(8, f"height {height} must be >= 1")
    if not MIN_PATCH <= patch <= MAX_PATCH:
        raise L3FormatError(12, f"patch size {patch} outside the supported {MIN_PATCH}..{MAX_PATCH}")
    if width * height > max_pixels:
        raise L3FormatError(4, f"{width}x{height} = {width * height} pixels exceeds max_pixels={max_pixels}; "
                               "pass a larger max_pixels if this image is expected")
    grid = (-(-height // patch)) * (-(-width // patch))
    hdr = FIXED_HEADER + 6 * grid
    # Every patch needs at least P two-byte records, so a stream shorter than that cannot be valid:
    # this bounds all later allocations by the input size.
    min_total = hdr + 3 * grid * patch * 2
    if size < hdr:
        raise L3FormatError(size, f"truncated header: {width}x{height} with P={patch} needs {hdr} header bytes, "
                                  f"the stream has {size}")
    sizes = np.frombuffer(buf, dtype="<u2", count=3 * grid, offset=FIXED_HEADER).astype(np.int64).reshape(3, grid)
    lo, hi = 2 * patch, patch * row_bytes(8, patch)
    bad = np.flatnonzero((sizes.ravel() < lo) | (sizes.ravel() > hi))
    if bad.size:
        i = int(bad[0])
        raise L3FormatError(FIXED_HEADER + 2 * i, f"patch size {int(sizes.ravel()[i])} of (channel {i // grid}, "
                                                  f"patch {i % grid}) outside the possible {lo}..{hi} bytes")
    total = hdr + int(sizes.sum())
    if size < max(total, min_total):
        raise L3FormatError(size, f"truncated payload: the header promises {total} bytes in all, the stream has {size}")
    if size > total:
        raise L3FormatError(total, f"{size - total} trailing bytes after the last patch")
    return L3Header(width=width, height=height, patch=patch, sizes=sizes)


def patch_offsets(header: L3Header) -> np.ndarray:
    """Absolute byte offset of every (channel, patch): exclusive prefix sum of the sizes. (3, Np) int64."""
    flat = header.sizes.ravel()
    starts = np.empty_like(flat)
    starts[0] = 0
    np.cumsum(flat[:-1], out=starts[1:])
    return (starts + header.header_bytes).reshape(header.sizes.shape)


@dataclass(frozen=True)
class RowTable:
    """Per (channel, patch, row) record fields found by walking the row records."""

    n: np.ndarray  # (3, Np, P) uint8 bit width 0..8
    base: np.ndarray  # (3, Np, P) uint8 (the int8 base, two's complement)
    offset: np.ndarray  # (3, Np, P) int64 absolute byte offset of each row record


def row_table(data: np.ndarray, header: L3Header, starts: np.ndarray) -> RowTable:
    """Walk the P row records of every patch at once (§1.8 Stage A) and validate them.

    ``data`` is the whole stream as uint8. Raises :class:`L3FormatError` at the lowest offending
    offset if some row has n > 8 or the row records of a patch do not add up to its stored size.
    """
    patch = header.patch
    size = data.shape[0]
    padded = np.concatenate([data, np.zeros(2, np.uint8)])  # so a clamped read never leaves the buffer
    pos = starts.copy()  # (3, Np) int64
    n = np.empty((*starts.shape, patch), np.uint8)
    base = np.empty_like(n)
    offs = np.empty(n.shape, np.int64)
    for r in range(patch):
        p = np.minimum(pos, size)
        b0, b1 = padded[p], padded[p + 1]
        n[..., r] = b0 & 15
        base[..., r] = (b0 >> 4) | ((b1 & 15) << 4)
        offs[..., r] = pos
        pos = pos + row_bytes(n[..., r].astype(np.int64), patch)
    ends = starts + header.sizes
    row_end = offs + row_bytes(n.astype(np.int64), patch)
    bad_row = (n > 8) | (row_end > ends[..., None])  # (3, Np, P)
    errors: list[tuple[int, str]] = []
    if bad_row.any():
        first = bad_row.argmax(axis=-1)  # first bad row of each patch
        has = bad_row.any(axis=-1)
        ci, ki = np.nonzero(has)
        ri = first[ci, ki]
        where = offs[ci, ki, ri]
        j = int(where.argmin())
        c, k, r = int(ci[j]), int(ki[j]), int(ri[j])
        if n[c, k, r] > 8:
            msg = f"row {r} of (channel {c}, patch {k}) has bit width n={int(n[c, k, r])} > 8"
        else:
            msg = (f"row {r} of (channel {c}, patch {k}) ends at byte {int(row_end[c, k, r])}, "
                   f"past the patch end {int(ends[c, k])} given by the header's patch size")
        errors.append((int(where[j]), msg))
    short = pos < ends  # rows fit but leave unused bytes in the patch
    short &= ~bad_row.any(axis=-1)
    if short.any():
        ci, ki = np.nonzero(short)
        j = int(pos[ci, ki].argmin())
        c, k = int(ci[j]), int(ki[j])
        errors.append((int(pos[c, k]), f"(channel {c}, patch {k}) row records end at byte {int(pos[c, k])} but the "
                                       f"header's patch size says {int(ends[c, k])}"))
    if errors:
        raise L3FormatError(*min(errors))
    return RowTable(n=n, base=base, offset=offs)
