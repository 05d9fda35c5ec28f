"""Peer codecs through imagecodecs (``papers/l3.md`` §4): PNG at several zlib levels, QOI,
lossless WebP, JPEG-LS, lossless JPEG-XL, plus the L3 codec itself and lossy JPEG/WebP references.

Every codec is an ``encode(img) -> bytes`` / ``decode(bytes) -> (H, W, 3) uint8`` pair. Decoders
are pinned to one thread where the library allows (JPEG-XL), so "one core" means one core.
Which codecs the installed imagecodecs build lacks is reported by :func:`unavailable_codecs`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from artifact.l3 import codec as l3codec


@dataclass(frozen=True)
class Codec:
    name: str  # e.g. "png-z6", "l3-p32"
    family: str  # "L3", "PNG", "QOI", "WebP-LL", "JPEG-LS", "JPEG-XL-LL", "JPEG (lossy)", ...
    lossless: bool
    library: str
    encode: Callable[[np.ndarray], bytes]
    decode: Callable[[bytes], np.ndarray]


def _imagecodecs():
    import imagecodecs

    return imagecodecs


def _available(name: str) -> bool:
    ic = _imagecodecs()
    c = getattr(ic, name, None)
    try:
        return bool(c is not None and c.available)
    except Exception:  # noqa: BLE001 - a broken optional codec counts as unavailable
        return False


def _rgb(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x[..., :3] if x.ndim == 3 and x.shape[2] == 4 else x


def l3_codecs(patches: tuple[int, ...] = (32, 64)) -> dict[str, Codec]:
    out = {}
    for p in patches:
        out[f"l3-p{p}"] = Codec(f"l3-p{p}", "L3", True, "artifact.l3 (numpy reference decoder)",
                                lambda img, p=p: l3codec.encode(img, patch=p), l3codec.decode)
    return out


def baseline_codecs(png_levels: tuple[int, ...] = (1, 6, 9), include_lossy: bool = False) -> dict[str, Codec]:
    """Every peer codec that this imagecodecs build provides, keyed by name."""
    ic = _imagecodecs()
    out: dict[str, Codec] = {}
    if _available("PNG"):
        for lv in png_levels:
            out[f"png-z{lv}"] = Codec(f"png-z{lv}", "PNG", True, ic.png_version(),
                                      lambda img, lv=lv: ic.png_encode(img, level=lv), ic.png_decode)
    if _available("QOI"):
        out["qoi"] = Codec("qoi", "QOI", True, "qoi", ic.qoi_encode, lambda b: _rgb(ic.qoi_decode(b)))
    if _available("WEBP"):
        out["webp-ll"] = Codec("webp-ll", "WebP-LL", True, ic.webp_version(),
                               lambda img: ic.webp_encode(img, lossless=True), lambda b: _rgb(ic.webp_decode(b)))
    if _available("JPEGLS"):
        out["jpegls"] = Codec("jpegls", "JPEG-LS", True, ic.jpegls_version(),
                              lambda img: ic.jpegls_encode(img, level=0), ic.jpegls_decode)
    if _available("JPEGXL"):
        out["jxl-ll"] = Codec("jxl-ll", "JPEG-XL-LL", True, ic.jpegxl_version(),
                              lambda img: ic.jpegxl_encode(img, lossless=True, effort=7, numthreads=1),
                              lambda b: ic.jpegxl_decode(b, numthreads=1))
    if include_lossy and _available("JPEG8"):
        out["jpeg-q90"] = Codec("jpeg-q90", "JPEG (lossy)", False, ic.jpeg8_version(),
                                lambda img: ic.jpeg8_encode(img, level=90), ic.jpeg8_decode)
    if include_lossy and _available("WEBP"):
        out["webp-q90"] = Codec("webp-q90", "WebP (lossy)", False, ic.webp_version(),
                                lambda img: ic.webp_encode(img, level=90, lossless=False), lambda b: _rgb(ic.webp_decode(b)))
    return out


def unavailable_codecs() -> list[str]:
    """Peer codecs of §4 that this machine's imagecodecs build lacks (empty when all are there)."""
    wanted = {"PNG": "PNG", "QOI": "QOI", "WEBP": "WebP-LL", "JPEGLS": "JPEG-LS", "JPEGXL": "JPEG-XL-LL",
              "JPEG8": "JPEG (lossy reference)"}
    return [label for attr, label in wanted.items() if not _available(attr)]


def all_codecs(patches: tuple[int, ...] = (32, 64), png_levels: tuple[int, ...] = (1, 6, 9),
               include_lossy: bool = False) -> dict[str, Codec]:
    return {**l3_codecs(patches), **baseline_codecs(png_levels, include_lossy)}
