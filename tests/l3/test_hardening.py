"""Malformed streams: every one raises L3FormatError with the byte offset, never anything else."""
from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artifact.l3.codec import decode, encode
from artifact.l3.decode_torch import decode_batch_torch
from artifact.l3.header import L3FormatError, parse_header, patch_offsets, row_table

IMG = (np.cumsum(np.random.default_rng(7).integers(-3, 4, (20, 28, 3)), 1) % 256).astype(np.uint8)
BLOB = encode(IMG, 8)  # 3 x 4 patches of 8x8 (non-multiple sides)
HDR = parse_header(BLOB)


def _raises(blob: bytes, offset: int | None = None, match: str | None = None, **kw) -> L3FormatError:
    with pytest.raises(L3FormatError, match=match) as info:
        decode(blob, **kw)
    if offset is not None:
        assert info.value.offset == offset, str(info.value)
    assert f"byte offset {info.value.offset}" in str(info.value)
    return info.value


def test_valid_stream_decodes():
    np.testing.assert_array_equal(decode(BLOB), IMG)


@pytest.mark.parametrize("cut", [0, 3, 12, 13, 14, HDR.header_bytes - 1])
def test_truncated_header(cut):
    _raises(BLOB[:cut], offset=cut, match="truncated header")


def test_truncated_payload_and_trailing_bytes():
    _raises(BLOB[:-1], offset=len(BLOB) - 1, match="truncated payload")
    _raises(BLOB + b"\0", offset=len(BLOB), match="trailing")


def test_wrong_magic_and_dimensions_and_patch():
    _raises(b"PNG." + BLOB[4:], offset=0, match="magic")
    _raises(BLOB[:4] + struct.pack("<i", 0) + BLOB[8:], offset=4, match="width")
    _raises(BLOB[:8] + struct.pack("<i", -5) + BLOB[12:], offset=8, match="height")
    _raises(BLOB[:12] + bytes([7]) + BLOB[13:], offset=12, match="patch size 7")
    _raises(BLOB[:12] + bytes([200]) + BLOB[13:], offset=12, match="patch size 200")


def test_absurd_dimensions_fail_before_allocation():
    huge = BLOB[:4] + struct.pack("<ii", 2**31 - 1, 2**31 - 1) + BLOB[12:]
    _raises(huge, offset=4, match="max_pixels")
    big = BLOB[:4] + struct.pack("<ii", 40000, 40000) + BLOB[12:]  # under the limit, header missing
    _raises(big, match="truncated header", max_pixels=2**31)
    _raises(BLOB, offset=4, match="max_pixels", max_pixels=20 * 28 - 1)


def test_impossible_patch_size_field():
    blob = bytearray(BLOB)
    blob[13 + 2 * 5: 13 + 2 * 6] = (1).to_bytes(2, "little")  # smaller than P two-byte rows
    _raises(bytes(blob), offset=13 + 10, match="patch size 1")


def test_bit_width_above_8():
    starts = patch_offsets(HDR)
    blob = bytearray(BLOB)
    off = int(starts[1, 2])  # first row record of channel G, patch 2
    blob[off] = (blob[off] & 0xF0) | 9
    _raises(bytes(blob), offset=off, match="n=9 > 8")


def test_patch_sizes_inconsistent_with_row_records():
    sizes = HDR.sizes.ravel().copy()
    i = int(np.flatnonzero(sizes[:-1] != sizes[1:])[0])
    sizes[i], sizes[i + 1] = sizes[i + 1], sizes[i]  # same total, wrong split
    blob = BLOB[:13] + sizes.astype("<u2").tobytes() + BLOB[HDR.header_bytes:]
    err = _raises(blob, match="patch")
    assert HDR.header_bytes <= err.offset < len(BLOB)


def _mutations():
    flips = st.tuples(st.just("flip"), st.integers(0, len(BLOB) * 8 - 1))
    cuts = st.tuples(st.just("cut"), st.integers(0, len(BLOB) - 1))
    splices = st.tuples(st.just("splice"), st.integers(0, len(BLOB)), st.integers(0, len(BLOB)),
                        st.binary(min_size=0, max_size=40))
    bytes_ = st.tuples(st.just("byte"), st.integers(0, len(BLOB) - 1), st.integers(0, 255))
    return st.lists(st.one_of(flips, cuts, splices, bytes_), min_size=1, max_size=3)


def mutate(blob: bytes, ops) -> bytes:
    b = bytearray(blob)
    for op in ops:
        if op[0] == "flip" and op[1] // 8 < len(b):
            b[op[1] // 8] ^= 1 << (op[1] % 8)
        elif op[0] == "cut":
            b = b[:op[1]]
        elif op[0] == "splice":
            lo, hi = sorted((min(op[1], len(b)), min(op[2], len(b))))
            b = b[:lo] + op[3] + b[hi:]
        elif op[0] == "byte" and op[1] < len(b):
            b[op[1]] = op[2]
    return bytes(b)


def outcome(fn, blob):
    try:
        out = fn(blob)
    except L3FormatError as exc:
        assert 0 <= exc.offset <= len(blob)
        return ("error", exc.offset)
    return ("ok", np.asarray(out).tobytes(), np.asarray(out).shape)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_fuzz_numpy_and_torch_agree_and_only_raise_l3formaterror(ops):
    blob = mutate(BLOB, ops)
    ref = outcome(decode, blob)  # any other exception fails the test
    got = outcome(lambda b: decode_batch_torch([b])[0].numpy(), blob)
    assert ref == got
    if ref[0] == "ok":
        h = parse_header(blob)
        assert ref[2] == (h.height, h.width, 3)
