"""One seaborn theme and one way to save figures (PNG + PDF), each captioned with scale and hardware.

seaborn/matplotlib are imported lazily so that ``import artifact`` works on GPU machines without them.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

from . import envinfo, paths


def set_theme() -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind", font_scale=0.95)
    matplotlib.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight"})


def caption_text(caption: str, *, scale: str, hardware: str | None = None) -> str:
    hw = hardware or envinfo.hardware_label()
    head = f"{caption} — " if caption else ""
    return f"{head}scale={scale}; {hw}"


def savefig(fig, paper: str, name: str, *, scale: str, caption: str = "", hardware: str | None = None) -> Path:
    """Caption ``fig`` and save ``figures/<paper>/<name>.png`` and ``.pdf``; return the PNG path."""
    text = "\n".join(textwrap.wrap(caption_text(caption, scale=scale, hardware=hardware), 110))
    fig.text(0.0, -0.02, text, ha="left", va="top", fontsize=7, color="0.3", transform=fig.transFigure)
    out = paths.figures_dir(paper)
    png = out / f"{name}.png"
    for suffix in (".png", ".pdf"):
        target = out / f"{name}{suffix}"
        tmp = target.with_name(f".{target.stem}.tmp{suffix}")
        fig.savefig(tmp, bbox_inches="tight")
        tmp.replace(target)
    return png
