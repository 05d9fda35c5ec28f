"""Seaborn figures for the L3 experiments; each function reads only an experiments DataFrame.

matplotlib/seaborn are imported inside the functions so that ``import artifact.l3`` works on GPU
machines that only have torch/triton/numpy/pandas.
"""
from __future__ import annotations

import pandas as pd

CODEC_ORDER = ("l3-p32", "l3-p64", "png-z1", "png-z6", "png-z9", "qoi", "webp-ll", "jpegls", "jxl-ll",
               "jpeg-q90", "webp-q90")


def _order(names) -> list[str]:
    present = list(dict.fromkeys(names))
    return [c for c in CODEC_ORDER if c in present] + [c for c in present if c not in CODEC_ORDER]


def plot_compression(comp: pd.DataFrame):
    """Compression ratio (raw / encoded) per lossless codec: bars = mean over images, dots = images."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = comp[comp["lossless"]]
    order = _order(df["codec"])
    fig, ax = plt.subplots(figsize=(9, 4))
    sns.barplot(df, x="codec", y="ratio", hue="family", order=order, errorbar=None, alpha=0.6, ax=ax, legend=False)
    sns.stripplot(df, x="codec", y="ratio", order=order, color="k", size=3, ax=ax)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set(ylabel="compression ratio (raw RGB / file)", xlabel="")
    ax.set_title("Lossless compression ratio per codec (higher is smaller files)")
    return fig


def plot_throughput(thr: pd.DataFrame):
    """Decode throughput (MB/s of decoded RGB) per codec and decoder, one core vs all cores; log scale."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = thr[thr["op"] == "decode"].copy()
    df["label"] = df["codec"] + " / " + df["decoder"]
    order = list(dict.fromkeys(df.sort_values("mb_per_s", ascending=False)["label"]))
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(order) + 1.5))
    sns.barplot(df, y="label", x="mb_per_s", hue="mode", order=order, ax=ax)
    ax.set_xscale("log")
    ax.set(xlabel="MB/s of decoded RGB (log)", ylabel="")
    ax.set_title("Decode throughput on this CPU (L3 host-side rows: CPU work only, no pixel decode)")
    return fig


def plot_host_vs_png(hv: pd.DataFrame):
    """Per image: how many times more CPU time a PNG decode takes than L3's host-side work."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = hv.melt(id_vars=["image", "patch"], value_vars=["png_over_host", "png_over_host_and_walk"],
                 var_name="L3 CPU work", value_name="ratio")
    df["L3 CPU work"] = df["L3 CPU work"].map({"png_over_host": "parse + prefix sum",
                                               "png_over_host_and_walk": "parse + prefix + row walk"})
    fig, ax = plt.subplots(figsize=(9, 4))
    sns.barplot(df, x="image", y="ratio", hue="L3 CPU work", ax=ax, errorbar=None)
    ax.axhline(9.29, color="red", ls="--", lw=1, label="paper's 9.29x (A100, data prep)")
    ax.set_yscale("log")
    ax.set(ylabel="PNG decode CPU time / L3 CPU time (log)", xlabel="")
    ax.tick_params(axis="x", rotation=30)
    fig.subplots_adjust(bottom=0.3)
    ax.legend(fontsize=8)
    ax.set_title("CPU work per image: full PNG decode vs what L3 leaves on the host")
    return fig


def plot_pipeline(pipe: pd.DataFrame):
    """End-to-end images/s vs CPU cores for each data-prep path, one panel per accelerator rate."""
    import seaborn as sns

    g = sns.relplot(pipe, x="cores", y="e2e_img_s", hue="path", col="accelerator_img_s", kind="line", marker="o",
                    height=3.2, aspect=1.0, facet_kws=dict(sharey=False))
    g.set(xscale="log", yscale="log")
    g.set_axis_labels("CPU cores", "end-to-end images/s (2048x1024)")
    g.set_titles("accelerator {col_name:g} img/s")
    return g.figure
