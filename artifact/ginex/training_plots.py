"""Figures of the training experiments (Ginex Figs. 14, 16-19 analogues), from DataFrames only.

Re-exported by :mod:`artifact.ginex.plots`. seaborn/matplotlib are imported lazily so that
``import artifact.ginex`` works on machines without them.
"""
from __future__ import annotations

import pandas as pd

STAGE_ORDER = ["inspect", "switch", "data preparation", "cache update", "compute"]
SYSTEM_LABELS = {"ginex": "Ginex", "pyg_plus": "PyG+", "ginex_pg": "Ginex-PG", "ali_pg": "Ali+PG",
                 "in_memory": "in-memory"}


def plot_breakdown(bd: pd.DataFrame):
    """Fig. 14-style stacked time breakdown (seconds) per system, one panel per mode."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    modes = list(dict.fromkeys(bd["mode"]))
    fig, axes = plt.subplots(1, len(modes), figsize=(5.2 * len(modes), 3.6), squeeze=False)
    colors = dict(zip(STAGE_ORDER, sns.color_palette("deep", len(STAGE_ORDER))))
    for ax, mode in zip(axes[0], modes):
        d = bd[bd["mode"] == mode].pivot_table(index="system", columns="stage", values="seconds", aggfunc="sum")
        d = d.reindex(columns=[s for s in STAGE_ORDER if s in d.columns]).fillna(0.0)
        d = d.loc[[s for s in SYSTEM_LABELS if s in d.index]]
        bottom = None
        for stage in d.columns:
            ax.bar([SYSTEM_LABELS[s] for s in d.index], d[stage], bottom=bottom, label=stage, color=colors[stage])
            bottom = d[stage] if bottom is None else bottom + d[stage]
        ax.set_title(mode.replace("_", " "))
        ax.set_ylabel("seconds (main thread)")
    axes[0][-1].legend(bbox_to_anchor=(1.02, 1), loc="upper left", frameon=False)
    fig.tight_layout()
    return fig


def plot_speedups(sp: pd.DataFrame, paper_avg: float = 2.11, paper_max: float = 2.67):
    """Throughput over PyG+ per system and mode, with the paper's average and maximum."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    d = sp[sp.system != "pyg_plus"].assign(system=lambda x: x.system.map(SYSTEM_LABELS))
    fig, ax = plt.subplots(figsize=(6, 3.6))
    sns.barplot(data=d, x="system", y="speedup", hue="mode", ax=ax)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.axhline(paper_avg, color="C3", ls="--", lw=1, label=f"paper avg {paper_avg}x (V100+NVMe)")
    ax.axhline(paper_max, color="C3", ls=":", lw=1, label=f"paper max {paper_max}x")
    ax.set_ylabel("speedup over PyG+ (same budget)")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def plot_sweep(df: pd.DataFrame, *, x_label: str, y: str = "speedup", title: str = "", logx: bool = False,
               baseline: str | None = "pyg_plus"):
    """A sweep: ``y`` per system vs ``x`` (``speedup`` is computed over ``baseline`` per x)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if y == "speedup":
        from .training import speedups

        d = speedups(df, baseline)
        d = d[d.system != baseline]
    else:
        d = df
    d = d.assign(system=d.system.map(SYSTEM_LABELS))
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    sns.lineplot(data=d, x="x", y=y, hue="system", marker="o", ax=ax)
    if y == "speedup":
        ax.axhline(1.0, color="k", lw=0.8)
    if logx:
        ax.set_xscale("log", base=2)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y.replace("_", " "))
    ax.set_title(title)
    fig.tight_layout()
    return fig
