"""Data-preparation pipeline model (``papers/l3.md`` §2, §5.2).

End-to-end training throughput = min(data-prep throughput, accelerator step rate), where data-prep
throughput = cores / (CPU seconds per image). With PNG the CPU decodes every image; with L3 the CPU
only parses the header and prefix-sums the patch sizes, and the accelerator decodes. The model
takes *measured* per-image CPU costs; the accelerator rate is a parameter, and the accelerator's
own L3 decode cost is not modelled here (it needs a GPU to measure: ``scripts/gpu/l3_decode.py``),
so the L3 line is an upper bound.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

CITYSCAPES_RGB_BYTES = 2048 * 1024 * 3  # the paper's high-resolution workload (§3)


@dataclass(frozen=True)
class PrepPath:
    name: str  # e.g. "PNG (CPU decode)"
    cpu_seconds_per_image: float  # one core
    note: str = ""


def prep_rate(path: PrepPath, cores: int) -> float:
    """Images per second the CPU side can prepare with ``cores`` cores (perfect scaling)."""
    return cores / path.cpu_seconds_per_image


def pipeline_table(paths: list[PrepPath], cores: tuple[int, ...], accelerator_rates: tuple[float, ...]) -> pd.DataFrame:
    """One row per (path, cores, accelerator rate): prep rate, end-to-end rate, and the bottleneck."""
    rows = []
    for p in paths:
        for c in cores:
            for acc in accelerator_rates:
                prep = prep_rate(p, c)
                rows.append(dict(path=p.name, cores=c, accelerator_img_s=acc, cpu_s_per_image=p.cpu_seconds_per_image,
                                 prep_img_s=prep, e2e_img_s=min(prep, acc),
                                 bottleneck="CPU data prep" if prep < acc else "accelerator", note=p.note))
    return pd.DataFrame(rows)


def paths_from_throughput(throughput: pd.DataFrame, image_bytes: int = CITYSCAPES_RGB_BYTES) -> list[PrepPath]:
    """Per-image CPU cost of each path for an image of ``image_bytes`` RGB bytes, from measured one-core MB/s.

    ``throughput`` is :func:`artifact.l3.experiments.decode_throughput`'s output.
    """
    one = throughput[throughput["mode"] == "one core"].set_index(["codec", "decoder"])["mb_per_s"]
    out: list[PrepPath] = []

    def add(name: str, key: tuple[str, str], note: str) -> None:
        if key in one.index:
            out.append(PrepPath(name, image_bytes / (one[key] * 1e6), note))

    add("PNG z6 (CPU decode)", ("png-z6", "libpng"), "measured libpng decode")
    add("QOI (CPU decode)", ("qoi", "imagecodecs"), "measured")
    add("WebP-LL (CPU decode)", ("webp-ll", "imagecodecs"), "measured")
    add("L3 decoded on CPU (torch)", ("l3-p64", "torch-cpu batched"), "measured torch decoder, one thread")
    add("L3 decoded on CPU (torch.compile)", ("l3-p64", "torch-cpu compiled"), "measured compiled torch decoder")
    add("L3 host side only (GPU decodes)", ("l3-p64", "host parse+prefix"),
        "measured CPU part; GPU decode cost not included (needs GPU)")
    return out
