"""Seaborn figures for the Ginex experiments; each reads only a DataFrame from :mod:`.experiments`.

matplotlib/seaborn are imported inside the functions so ``import artifact.ginex`` stays light.
Every function returns the figure; the notebook saves it with ``artifact.plotting.savefig``.
"""

from __future__ import annotations

import pandas as pd


def _plt():
    import matplotlib.pyplot as plt
    import seaborn as sns

    from artifact import plotting
    plotting.set_theme()
    return plt, sns


def fig5_miss_ratio(df: pd.DataFrame):
    """Fig. 5 analogue: miss ratio vs cached fraction, one line per policy."""
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    sns.lineplot(data=df, x="cached_fraction", y="miss_ratio", hue="policy", style="policy", markers=True,
                 dashes=False, ax=ax)
    ax.set(xlabel="cached fraction of node features", ylabel="feature-cache miss ratio", ylim=(0, None))
    ax.legend(fontsize=8, title=None)
    return fig


def fig15_ginex_pg_vs_ginex(df: pd.DataFrame):
    """Fig. 15 analogue: Ginex-PG vs Ginex miss ratio, per superbatch size."""
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    sns.barplot(data=df, x="superbatch_size", y="miss_ratio", hue="policy", ax=ax)
    for c in ax.containers:
        ax.bar_label(c, fmt="%.3f", fontsize=7)
    ax.set(xlabel="superbatch size S (batches)", ylabel="feature-cache miss ratio (gather)")
    return fig


def bytes_per_policy(df: pd.DataFrame):
    """Bytes read per policy at one budget (live O_DIRECT replay), split gather vs cache fill."""
    plt, _ = _plt()
    d = df.set_index("policy")[["bytes", "init_bytes"]] / 2**20
    d.columns = ["gather misses", "cache fill (switch)"]
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    d.plot.barh(stacked=True, ax=ax)
    ax.set(xlabel="MiB read with O_DIRECT", ylabel="")
    ax.invert_yaxis()
    return fig


def changeset_throughput(df: pd.DataFrame, target: float = 5e6):
    """Changeset precomputation throughput per budget, with the 5 M accesses/s target."""
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(5.0, 3.5))
    d = pd.concat([df.assign(clock="wall", m=df["accesses_per_s"] / 1e6),
                   df.assign(clock="CPU (thread)", m=df["accesses_per_cpu_s"] / 1e6)])
    sns.barplot(data=d, x="budget_fraction", y="m", hue="clock", ax=ax, errorbar=("pi", 100))
    ax.axhline(target / 1e6, color="k", ls="--", lw=1, label=f"target {target / 1e6:g} M/s")
    ax.set(xlabel="feature-cache budget (fraction of feature bytes)", ylabel="M node accesses / s (1 core)")
    ax.legend(fontsize=8)
    return fig


# ---------------------------------------------------------------- training (issue Ginex II)
from .training_plots import plot_breakdown, plot_speedups, plot_sweep  # noqa: E402,F401
