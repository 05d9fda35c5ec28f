"""The batched torch decoder and the Triton kernel (interpreter on CPU) against the numpy reference."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from artifact.l3.codec import decode, encode
from artifact.l3.decode_torch import decode_batch_torch, decode_torch, paeth_torch, plan_batch
from artifact.l3.header import L3FormatError, patch_offsets
from artifact.l3.reference import paeth_scalar
from .test_codec import smooth_image


def test_paeth_torch_matches_scalar():
    rng = np.random.default_rng(2)
    prev = rng.integers(0, 256, (200, 16))
    prev[::3, ::4] = 0
    got = paeth_torch(torch.from_numpy(prev).to(torch.int32)).numpy()
    for row, g in zip(prev, got):
        up = [0, *row.tolist(), 0]
        assert g.tolist() == [paeth_scalar(up[j], up[j + 1], up[j + 2]) for j in range(16)]


def test_batch_mixed_sizes_and_patch_sizes_in_order():
    rng = np.random.default_rng(0)
    imgs = [smooth_image(rng, 37, 53), rng.integers(0, 256, (16, 16, 3), np.uint8), smooth_image(rng, 64, 40),
            np.full((9, 70, 3), 255, np.uint8)]
    patches = [16, 8, 16, 32]
    outs = decode_batch_torch([encode(i, p) for i, p in zip(imgs, patches)])
    for out, img in zip(outs, imgs):
        assert out.dtype == torch.uint8 and tuple(out.shape) == img.shape
        np.testing.assert_array_equal(out.numpy(), img)


@pytest.mark.parametrize("predictor", ["formula", "lut"])
def test_both_predictor_paths_are_exact(predictor):
    rng = np.random.default_rng(11)
    img = smooth_image(rng, 40, 72)
    img[::7, ::5] = 0
    out = decode_batch_torch([encode(img, 16)], predictor=predictor)[0].numpy()
    np.testing.assert_array_equal(out, img)
    with pytest.raises(ValueError, match="predictor"):
        decode_batch_torch([encode(img, 16)], predictor="magic")


@pytest.mark.slow
def test_compiled_row_step_is_exact():
    """torch.compile path (a C++ compiler is needed on CPU; first run compiles for a minute or two)."""
    rng = np.random.default_rng(12)
    imgs = [smooth_image(rng, 40, 72), rng.integers(0, 256, (24, 24, 3), np.uint8)]
    outs = decode_batch_torch([encode(i, 8) for i in imgs], compile=True)
    for out, img in zip(outs, imgs):
        np.testing.assert_array_equal(out.numpy(), img)


def test_real_photo_matches_numpy_decoder():
    from artifact.l3.images import load_images

    img = load_images(("skimage",), max_images=1, max_side=200)[0].pixels
    for patch in (32, 64):
        blob = encode(img, patch)
        timings: dict = {}
        out = decode_batch_torch([blob], timings=timings)[0].numpy()
        np.testing.assert_array_equal(out, decode(blob))
        np.testing.assert_array_equal(out, img)
        assert set(timings) == {"host_s", "h2d_s", "decode_s"} and all(v >= 0 for v in timings.values())


def test_plan_batch_prefix_sums_and_errors():
    rng = np.random.default_rng(1)
    blobs = [encode(smooth_image(rng, 16, 24), 8), encode(smooth_image(rng, 8, 8), 8)]
    plan = plan_batch(blobs)
    assert plan.starts.shape == (3 * 6 + 3 * 1,)
    assert plan.starts[0] == 13 + 6 * 6 and plan.stream_base[1] == len(blobs[0])
    first_img = patch_offsets(plan.headers[0]).ravel()
    np.testing.assert_array_equal(plan.starts[:18], first_img)
    np.testing.assert_array_equal(plan.ends[:17], plan.starts[1:18])  # patches of one stream are contiguous
    assert (plan.ends - plan.starts == np.concatenate([h.sizes.ravel() for h in plan.headers])).all()
    with pytest.raises(ValueError, match="share one patch size"):
        plan_batch([blobs[0], encode(smooth_image(rng, 16, 16), 16)])
    with pytest.raises(ValueError, match="at least one"):
        plan_batch([])


def test_torch_decoder_reports_errors_of_the_right_image():
    rng = np.random.default_rng(4)
    good = encode(smooth_image(rng, 16, 16), 8)
    bad = bytearray(good)
    off = 13 + 6 * 4  # first row record of the first patch
    bad[off] = (bad[off] & 0xF0) | 12
    with pytest.raises(L3FormatError, match="n=12") as info:
        decode_batch_torch([good, bytes(bad)])
    assert info.value.offset == off
    with pytest.raises(L3FormatError, match="truncated"):
        decode_torch(good[:20])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_torch_decoder_on_cuda():
    rng = np.random.default_rng(5)
    img = smooth_image(rng, 70, 90)
    out = decode_torch(encode(img, 32), device="cuda")
    assert out.is_cuda
    np.testing.assert_array_equal(out.cpu().numpy(), img)


# -- Triton (TRITON_INTERPRET=1 on CPU: small images only, the interpreter is slow) --------------

def test_triton_decoder_small_images_exact():
    from artifact.l3.decode_triton import decode_batch_triton

    rng = np.random.default_rng(6)
    imgs = [smooth_image(rng, 16, 16), rng.integers(0, 256, (12, 20, 3), np.uint8)]  # 2nd: non-multiple
    timings: dict = {}
    outs = decode_batch_triton([encode(i, 8) for i in imgs], timings=timings)
    for out, img in zip(outs, imgs):
        assert tuple(out.shape) == img.shape
        np.testing.assert_array_equal(out.cpu().numpy(), img)
    assert timings["host_s"] >= 0 and timings["decode_s"] > 0


def test_triton_decoder_non_power_of_two_patch():
    from artifact.l3.decode_triton import decode_triton

    img = smooth_image(np.random.default_rng(8), 12, 12)
    img[0, :6] = np.array([127, 128] * 3)[:, None]  # an n = 8 raw row
    np.testing.assert_array_equal(decode_triton(encode(img, 12)).cpu().numpy(), img)


def test_triton_decoder_flags_malformed_rows():
    from artifact.l3.decode_triton import decode_triton

    good = encode(smooth_image(np.random.default_rng(9), 8, 8), 8)
    bad = bytearray(good)
    off = 13 + 6  # channel R, first row record
    bad[off] = (bad[off] & 0xF0) | 15
    with pytest.raises(L3FormatError, match="n=15") as info:
        decode_triton(bytes(bad))
    assert info.value.offset == off
    grown = bytearray(good)  # R patch declared 2 bytes longer, G patch 2 bytes shorter: same total
    r_size, g_size = int.from_bytes(good[13:15], "little"), int.from_bytes(good[15:17], "little")
    grown[13:15], grown[15:17] = (r_size + 2).to_bytes(2, "little"), (g_size - 2).to_bytes(2, "little")
    with pytest.raises(L3FormatError, match="row records end"):
        decode_triton(bytes(grown))
