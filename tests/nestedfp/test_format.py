"""Exhaustive and property tests of the NestedFP format (papers/nestedfp.md §1.1-§1.5)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact.nestedfp.format import (
    E4M3_MAX,
    FP8_WEIGHT_SCALE,
    NestedFPRangeError,
    bits_to_fp16,
    fp8_view,
    fp8_weight,
    merge,
    merge_xor,
    representable,
    split,
)

ALL_BITS = torch.arange(65536, dtype=torch.int32)
ALL_FP16 = bits_to_fp16(ALL_BITS)  # (65536,) every FP16 pattern


def _reference_split(h: int) -> tuple[int, int]:
    """The spec's pseudocode (§1.5), on one Python int."""
    lo = h & 0xFF
    s, e, mhi, mlo = h >> 15, (h >> 10) & 0xF, (h >> 7) & 7, h & 0x7F
    c = (s << 7) | (e << 3) | mhi
    up = (mlo > 64) or (mlo == 64 and (mhi & 1))
    if e == 15 and mhi == 6:
        up = 0
    return c + int(up), lo


def test_accepted_set_is_finite_below_1_875() -> None:
    ok = representable(ALL_FP16)
    mag = ALL_FP16.float().abs()
    assert int(ok.sum()) == 32512
    assert torch.equal(ok, torch.isfinite(mag) & (mag < 1.875))
    assert bool(ok[mag < 1.75].all()), "every |w| < 1.75 must be accepted"


def test_exhaustive_round_trip_is_bit_exact() -> None:
    w = ALL_FP16[representable(ALL_FP16)]
    hi, lo = split(w)
    assert hi.dtype == lo.dtype == torch.uint8 and hi.shape == w.shape
    back = merge(hi, lo)
    assert torch.equal(back.view(torch.int16), w.view(torch.int16))  # bit-exact, incl. -0 and subnormals
    assert torch.equal(merge_xor(hi, lo).view(torch.int16), w.view(torch.int16))


def test_exhaustive_fp8_view_is_saturating_rne_cast() -> None:
    w = ALL_FP16[representable(ALL_FP16)]
    hi, _ = split(w)
    scaled = (w.float() * 256.0).clamp(-E4M3_MAX, E4M3_MAX)  # exact in fp32
    ref = scaled.to(torch.float8_e4m3fn)  # torch's cast is RNE
    got = fp8_view(hi)
    assert torch.equal(got.view(torch.uint8), ref.view(torch.uint8))
    assert torch.equal(fp8_weight(hi), ref.float() * FP8_WEIGHT_SCALE)
    assert not bool(torch.isnan(got.float()).any())


def test_matches_spec_pseudocode_on_a_stride_of_patterns() -> None:
    accepted = ALL_BITS[representable(ALL_FP16)][::97]
    hi, lo = split(bits_to_fp16(accepted))
    for i, h in enumerate(accepted.tolist()):
        assert (int(hi[i]), int(lo[i])) == _reference_split(h), hex(h)


def test_saturation_zone_maps_to_448() -> None:
    w = torch.tensor([1.75, 1.8125, 1.8740, -1.8740], dtype=torch.float16)
    hi, lo = split(w)
    assert fp8_view(hi).float().abs().tolist() == [448.0] * 4
    assert torch.equal(merge(hi, lo).view(torch.int16), w.view(torch.int16))


@pytest.mark.parametrize("value", [1.875, 1.9375, 1.99, -1.9, 2.0, 65504.0, float("inf"), float("nan")])
def test_rejects_unrepresentable_values(value: float) -> None:
    w = torch.tensor([0.1, value, -0.2], dtype=torch.float16)
    with pytest.raises(NestedFPRangeError, match=r"1 of 3 values"):
        split(w)


def test_every_rejected_pattern_is_rejected_and_error_names_largest() -> None:
    bad = ALL_FP16[~representable(ALL_FP16)]
    assert bad.numel() == 65536 - 32512
    finite_bad = bad[torch.isfinite(bad.float())]
    with pytest.raises(ValueError, match=r"largest offending \|w\| = 65504"):
        split(finite_bad)
    for v in bad[::301]:
        with pytest.raises(NestedFPRangeError):
            split(v.reshape(1))


def test_rejected_set_would_not_round_trip_or_gives_nan_view() -> None:
    """The rejection rule is not over-cautious in the ways that matter: every |w| in [1.875, 2) is
    either not exactly reconstructable or has the E4M3 NaN code as its FP8 view."""
    bits = ALL_BITS[(ALL_BITS & 0x7FFF >= 0x3F80) & (ALL_BITS & 0x7FFF < 0x4000)]
    for h in bits.tolist():
        hi, lo = _reference_split(h)
        hi &= 0xFF
        back = merge(torch.tensor([hi], dtype=torch.uint8), torch.tensor([lo], dtype=torch.uint8))
        exact = int(back.view(torch.int16).to(torch.int32) & 0xFFFF) == h
        nan_view = (hi & 0x7F) == 0x7F
        assert (not exact) or nan_view, hex(h)


def test_type_errors() -> None:
    with pytest.raises(TypeError, match="float16"):
        split(torch.zeros(3, dtype=torch.float32))
    with pytest.raises(TypeError, match="float16"):
        split(torch.zeros(3, dtype=torch.bfloat16))
    with pytest.raises(TypeError, match="uint8"):
        fp8_view(torch.zeros(3, dtype=torch.int8))
    with pytest.raises(ValueError, match="same shape"):
        merge(torch.zeros(3, dtype=torch.uint8), torch.zeros(4, dtype=torch.uint8))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 8),
    cols=st.integers(1, 16),
    sigma=st.sampled_from([1e-4, 0.02, 0.3, 0.6]),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_round_trip_on_random_weight_matrices(rows: int, cols: int, sigma: float, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    w = (torch.randn(rows, cols, generator=g) * sigma).clamp(-1.74, 1.74).to(torch.float16)
    hi, lo = split(w)  # (rows, cols) uint8 each
    assert hi.shape == lo.shape == w.shape
    assert torch.equal(merge(hi, lo).view(torch.int16), w.view(torch.int16))
    ref = (w.float() * 256).to(torch.float8_e4m3fn).float() / 256
    assert torch.equal(fp8_weight(hi), ref)
    # relative error of the FP8 view is bounded by half an E4M3 ulp (2^-4) in the normal range
    normal = w.float().abs() >= 2.0**-14
    rel = ((fp8_weight(hi) - w.float()).abs() / w.float().abs().clamp_min(1e-30))[normal]
    assert rel.numel() == 0 or float(rel.max()) <= 2.0**-4 + 1e-7


def test_works_on_non_contiguous_views() -> None:
    w = (torch.randn(6, 10, generator=torch.Generator().manual_seed(1)) * 0.1).to(torch.float16).t()
    hi, lo = split(w)
    assert torch.equal(merge(hi, lo).view(torch.int16), w.contiguous().view(torch.int16))
