"""Codec conformance: byte-exact against the scalar prototype transcription, round trips, layout."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from artifact.l3 import codec
from artifact.l3.codec import decode, default_patch, encode, paeth_predict, paeth_table, predict_rows
from artifact.l3.header import header_bytes, parse_header, patch_offsets, row_bytes, row_table
from artifact.l3.reference import encode_row, encode_scalar, paeth_scalar


def smooth_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Correlated test image with runs of zeros (exercises the predictor's value==0 branches)."""
    img = np.cumsum(np.cumsum(rng.integers(-2, 3, (h, w, 3)), 0), 1) + rng.integers(0, 256, 3)
    img = (img % 256).astype(np.uint8)
    img[h // 3: h // 2, :] = 0
    return img


def test_paeth_formula_matches_the_c_code_on_all_zero_branches_and_random_triples():
    rng = np.random.default_rng(0)
    triples = rng.integers(0, 256, (4000, 3))
    triples[:300, 0] = 0  # a == 0 branch
    triples[300:600, 2] = 0  # c == 0 branch
    triples[600:700, :2] = 0
    a, b, c = (triples[:, i].astype(np.int16) for i in range(3))
    got = paeth_predict(a, b, c)
    want = [paeth_scalar(*map(int, t)) for t in triples]
    assert got.tolist() == want
    table = paeth_table()
    assert table[(c.astype(np.int64) << 16) | (b.astype(np.int64) << 8) | a].tolist() == want


def test_predict_rows_uses_zero_outside_the_patch():
    prev = np.array([[10, 20, 30, 40]], np.uint8)
    want = [paeth_scalar(0, 10, 20), paeth_scalar(10, 20, 30), paeth_scalar(20, 30, 40), paeth_scalar(30, 40, 0)]
    assert predict_rows(prev)[0].tolist() == want


@pytest.mark.parametrize("patch,sizes", [
    (64, [2, 10, 18, 26, 34, 42, 50, 58, 66]),  # papers/l3.md §1.3
    (32, [2, 6, 10, 14, 18, 22, 26, 30, 34]),
])
def test_row_record_sizes(patch, sizes):
    assert [row_bytes(n, patch) for n in range(9)] == sizes


def test_row_record_bit_layout_by_hand():
    rec = encode_row(list(range(8)), 8)  # base 0, n = 3, deltas 0..7 at bit 12 + 3j
    want = 3 + sum(j << (12 + 3 * j) for j in range(8))
    assert rec == want.to_bytes(5, "little")
    const = encode_row([200 - 256] * 8, 8)  # n = 0 keeps both nibbles of base (prototype bug 1)
    assert const == bytes([0x80, 0x0C])


@pytest.mark.parametrize("patch", [8, 16, 32])
def test_encoder_is_byte_exact_against_the_scalar_prototype(patch):
    rng = np.random.default_rng(patch)
    for img in (smooth_image(rng, 2 * patch, 3 * patch), rng.integers(0, 256, (patch, 2 * patch, 3), np.uint8)):
        assert encode(img, patch) == encode_scalar(img, patch)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_encoder_matches_scalar_on_random_multiples(data):
    patch = data.draw(st.sampled_from([8, 16, 24]))
    gh, gw = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    img = data.draw(arrays(np.uint8, (gh * patch, gw * patch, 3), elements=st.sampled_from([0, 1, 127, 128, 255, 3])))
    assert encode(img, patch) == encode_scalar(img, patch)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_round_trip_any_size_and_patch(data):
    patch = data.draw(st.integers(8, 40))
    h, w = data.draw(st.integers(1, 70)), data.draw(st.integers(1, 70))
    kind = data.draw(st.sampled_from(["noise", "smooth", "binary"]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    if kind == "noise":
        img = rng.integers(0, 256, (h, w, 3), np.uint8)
    elif kind == "smooth":
        img = smooth_image(rng, h, w)
    else:
        img = (rng.integers(0, 2, (h, w, 3)) * 255).astype(np.uint8)
    blob = encode(img, patch)
    assert len(blob) == parse_header(blob).total_bytes
    np.testing.assert_array_equal(decode(blob), img)


def test_adversarial_rows_n0_and_n8_and_zero_neighbours():
    patch = 16
    img = np.zeros((32, 32, 3), np.uint8)
    img[:16, :16] = 77  # constant patch: every row n = 0
    img[16, 16:] = np.array([127, 128] * 8)[:, None]  # raw first row holding 127 and 128 -> n = 8 (prototype bug 2)
    img[17:, 16:] = np.random.default_rng(1).integers(0, 256, (15, 16, 3))
    img[20, 20:24] = 0  # zero pixels next to nonzero ones
    blob = encode(img, patch)
    header = parse_header(blob)
    table = row_table(np.frombuffer(blob, np.uint8), header, patch_offsets(header))
    assert (table.n[:, 0] == 0).all()  # patch 0 of every channel
    assert (table.n[:, 3, 0] == 8).all()
    assert set(np.unique(table.n)) >= {0, 8}
    np.testing.assert_array_equal(decode(blob), img)


def test_every_bit_width_round_trips_including_n6():
    patch = 8
    rows = []
    for n in range(9):  # one raw first row per patch with span 2**n - 1 (n = 0..8)
        span = (1 << n) - 1
        rows.append(np.array([0, span] * 4, np.uint8) if n < 8 else np.array([127, 128] * 4, np.uint8))
    img = np.zeros((8, 8 * 9, 3), np.uint8)
    for i, r in enumerate(rows):
        img[0, 8 * i: 8 * i + 8] = r[:, None]
    blob = encode(img, patch)
    header = parse_header(blob)
    table = row_table(np.frombuffer(blob, np.uint8), header, patch_offsets(header))
    assert table.n[0, :, 0].tolist() == list(range(9))
    assert blob == encode_scalar(img, patch)
    np.testing.assert_array_equal(decode(blob), img)


def test_header_layout_and_worst_case_size():
    img = np.random.default_rng(0).integers(0, 256, (1024, 2048, 3), np.uint8)
    blob = encode(img, 64)
    assert blob[:4] == b"LLL." and blob[12] == 64
    assert int.from_bytes(blob[4:8], "little") == 2048 and int.from_bytes(blob[8:12], "little") == 1024
    assert header_bytes(1024, 2048, 64) == 3085  # papers/l3.md §1.4
    assert len(blob) == 6_491_149  # every row n = 8: 13 + 6*512 + 3*512*64*66
    assert header_bytes(512, 512, 32) == 1549


def test_non_multiple_sizes_are_edge_padded_and_keep_true_size():
    img = np.random.default_rng(3).integers(0, 256, (37, 53, 3), np.uint8)
    blob = encode(img, 16)
    h = parse_header(blob)
    assert (h.width, h.height, h.grid_w, h.grid_h) == (53, 37, 4, 3)
    padded = np.pad(img, ((0, 11), (0, 11), (0, 0)), mode="edge")
    # The padded payload is exactly the bug-fixed prototype's encoding of the edge-padded image.
    assert blob[13:] == encode_scalar(padded, 16)[13:]


def test_default_patch_and_argument_checks():
    assert default_patch(512, 512) == 32 and default_patch(720, 1280) == 64 and default_patch(1024, 2048) == 64
    assert encode(np.zeros((8, 8, 3), np.uint8))[12] == 32
    for bad_p in (7, 129, 0, 8.0, True):
        with pytest.raises(ValueError, match="patch size"):
            encode(np.zeros((8, 8, 3), np.uint8), bad_p)
    with pytest.raises(ValueError, match="uint8 RGB"):
        encode(np.zeros((8, 8), np.uint8), 8)
    with pytest.raises(ValueError, match="uint8 RGB"):
        encode(np.zeros((8, 8, 3), np.uint16), 8)
    with pytest.raises(ValueError, match="sides"):
        encode(np.zeros((0, 8, 3), np.uint8), 8)


def test_pack_rows_handles_patch_not_multiple_of_8():
    rng = np.random.default_rng(5)
    for patch in (9, 12, 13, 20):
        delta = rng.integers(0, 256, (40, patch), np.uint8)
        nbits = rng.integers(0, 9, 40).astype(np.uint8)
        delta &= ((1 << nbits.astype(np.int64)) - 1).astype(np.uint8)[:, None]
        base = rng.integers(0, 256, 40, np.uint8)
        got = codec.pack_rows(delta, base, nbits, patch).tobytes()
        want = b"".join(_record(row, int(b), int(n), patch) for row, b, n in zip(delta, base, nbits))
        assert got == want


def _record(delta: np.ndarray, base: int, n: int, patch: int) -> bytes:
    bits = n | (base << 4)
    for j, d in enumerate(delta.tolist()):
        bits |= d << (12 + j * n)
    return bits.to_bytes(row_bytes(n, patch), "little")
