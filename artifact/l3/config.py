"""Scale presets for the L3 experiments (``papers/l3.md`` §5).

``smoke``: 2 scikit-image photos cropped to 256 x 256, one repeat (CI, well under a minute).
``quick``: every offline RGB photo of scikit-image and sporco at full size (minutes on 2 cores).
``full``: adds Debian's 2560 x 1600 KDE wallpapers when installed (see :mod:`artifact.l3.images`).
"""
from __future__ import annotations

from dataclasses import dataclass

from artifact import scales


@dataclass(frozen=True)
class Config:
    scale: str = "quick"
    seed: int = 0
    sources: tuple[str, ...] = ("skimage", "sporco")  # image sets, see artifact.l3.images
    max_images: int | None = None  # keep the first N images (None = all)
    max_side: int | None = None  # centre-crop each image to at most this side (None = full size)
    patches: tuple[int, ...] = (32, 64)  # L3 patch sizes compared
    png_levels: tuple[int, ...] = (1, 6, 9)  # zlib levels of the PNG baselines
    include_lossy: bool = True  # JPEG q90 / WebP q90 as lossy decode-speed references
    repeats: int = 3  # timing repeats (the minimum is reported)
    threads: int | None = None  # "all cores" worker count (None = os.cpu_count())
    torch_compile: bool = False  # also time the torch.compile'd torch decoder (one-off compile: minutes on a CPU)
    fuzz_cases: int = 300  # mutated streams in the hardening experiment
    triton_side: int = 16  # side of the crops decoded by the Triton interpreter on CPU
    triton_images: int = 2  # how many images the Triton round trip covers on CPU
    pipeline_cores: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)  # CPU cores in the pipeline model
    accelerator_rates: tuple[float, ...] = (50.0, 200.0, 800.0)  # accelerator images/s (model parameter)

    @classmethod
    def for_scale(cls, scale: str, **overrides) -> "Config":
        return scales.for_scale(cls, PRESETS, scale, **overrides)


PRESETS: dict[str, dict] = {
    "smoke": dict(sources=("skimage",), max_images=2, max_side=256, png_levels=(6,), include_lossy=False,
                  repeats=1, fuzz_cases=60, triton_side=16, triton_images=1),
    "quick": dict(sources=("skimage", "sporco"), repeats=2, fuzz_cases=300, triton_side=32, triton_images=2),
    "full": dict(sources=("skimage", "sporco", "wallpapers"), repeats=5, fuzz_cases=2000, triton_side=64,
                 triton_images=3, torch_compile=True),
}
