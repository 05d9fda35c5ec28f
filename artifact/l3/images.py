"""Real RGB photographs available offline (``papers/l3.md`` §5.1). Nothing is downloaded at run time.

* ``skimage``: the RGB images shipped inside the scikit-image wheel (``skimage/data``); the ones
  fetched on demand via pooch are not used.
* ``sporco``: the 768 x 512 Kodak-style photos bundled in the sporco wheel (``sporco/data``).
* ``wallpapers``: Debian's KDE wallpapers at 2560 x 1600 (JPEG photos) when present. Install
  them once, outside any experiment::

      apt-get download plasma-workspace-wallpapers        # 94 MB .deb, GPL-2+
      dpkg-deb -x plasma-workspace-wallpapers_*.deb /tmp/pw
      mkdir -p data/generated/l3/wallpapers
      for d in /tmp/pw/usr/share/wallpapers/*/; do
        f="$d/contents/images/2560x1600.jpg"; [ -f "$f" ] && cp "$f" "data/generated/l3/wallpapers/$(basename "$d").jpg"
      done

  (or ``apt-get install plasma-workspace-wallpapers`` as root, which fills /usr/share/wallpapers).
  ``L3_WALLPAPER_DIR`` points elsewhere. When none is found the set is empty and a notebook says so.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from artifact import paths

SKIMAGE_RGB = ("astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "ihc.png",
               "motorcycle_left.png", "motorcycle_right.png", "retina.jpg", "rocket.jpg")
SOURCES = ("skimage", "sporco", "wallpapers")


@dataclass(frozen=True)
class TestImage:
    name: str
    source: str
    pixels: np.ndarray  # (H, W, 3) uint8

    @property
    def shape(self) -> tuple[int, int]:
        return self.pixels.shape[0], self.pixels.shape[1]


def _package_dir(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0], *parts)


def _read_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))


def image_files(source: str) -> list[Path]:
    """Files of one image set that exist on this machine (possibly none)."""
    if source == "skimage":
        folder = _package_dir("skimage", "data")
        return [folder / f for f in SKIMAGE_RGB if folder is not None and (folder / f).exists()]
    if source == "sporco":
        folder = _package_dir("sporco", "data")
        return sorted(folder.glob("*.png")) if folder is not None else []
    if source == "wallpapers":
        found: list[Path] = []
        system = Path("/usr/share/wallpapers")
        if system.is_dir():  # <Name>/contents/images/2560x1600.jpg
            found += sorted(p for p in system.rglob("2560x1600.*") if p.suffix.lower() in (".jpg", ".png"))
        extra = [Path(os.environ["L3_WALLPAPER_DIR"])] if os.environ.get("L3_WALLPAPER_DIR") else []
        for d in extra + [paths.generated_dir("l3", "wallpapers")]:
            if d.is_dir():
                found += sorted(p for p in d.iterdir() if p.suffix.lower() in (".jpg", ".png"))
        return found
    raise ValueError(f"unknown image source {source!r}; choose from {', '.join(SOURCES)}")


def _name(path: Path, source: str) -> str:
    if source == "wallpapers" and path.stem == "2560x1600":  # /usr/share/wallpapers/<Name>/contents/images/
        return path.parents[2].name
    return path.stem


def centre_crop(img: np.ndarray, max_side: int | None) -> np.ndarray:
    if max_side is None:
        return img
    h, w, _ = img.shape
    top, left = max(0, (h - max_side) // 2), max(0, (w - max_side) // 2)
    return np.ascontiguousarray(img[top:top + max_side, left:left + max_side])


def load_images(sources: tuple[str, ...] = ("skimage", "sporco"), max_images: int | None = None,
                max_side: int | None = None) -> list[TestImage]:
    """Load the requested image sets in a fixed order, optionally centre-cropped."""
    out: list[TestImage] = []
    for source in sources:
        for path in image_files(source):
            out.append(TestImage(_name(path, source), source, centre_crop(_read_rgb(path), max_side)))
            if max_images is not None and len(out) >= max_images:
                return out
    return out


def missing_sources(sources: tuple[str, ...]) -> list[str]:
    """Requested image sets with no file on this machine."""
    return [s for s in sources if not image_files(s)]
