"""Kick-the-tires check for L3: encode and decode one real image in a few seconds on a CPU."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd


def sanity_check() -> pd.DataFrame:
    """Round trip one scikit-image photo (256 x 256 crop) through the numpy and torch decoders."""
    from artifact.l3.codec import decode, encode
    from artifact.l3.decode_torch import decode_torch
    from artifact.l3.header import L3FormatError, header_bytes
    from artifact.l3.images import load_images

    img = load_images(("skimage",), max_images=1, max_side=256)[0].pixels
    t0 = time.perf_counter()
    data = encode(img, patch=32)
    out_np = decode(data)
    out_torch = decode_torch(data).numpy()
    seconds = time.perf_counter() - t0
    try:
        decode(data[:-1])
        truncated = "accepted"
    except L3FormatError:
        truncated = "L3FormatError"
    rows = [
        ("numpy decode == input (max |diff|)", int(np.abs(out_np.astype(int) - img).max()), 0),
        ("torch decode == input (max |diff|)", int(np.abs(out_torch.astype(int) - img).max()), 0),
        ("header bytes 13 + 6*Np", int(header_bytes(*img.shape[:2], 32)), 13 + 6 * 64),
        ("compression ratio raw/L3 > 1", round(img.nbytes / len(data), 3), "> 1"),
        ("truncated stream", truncated, "L3FormatError"),
        ("seconds", round(seconds, 2), "< 5"),
    ]
    df = pd.DataFrame(rows, columns=["check", "value", "expected"])
    df["ok"] = [rows[0][1] == 0, rows[1][1] == 0, rows[2][1] == rows[2][2], rows[3][1] > 1,
                truncated == "L3FormatError", seconds < 5]
    return df
