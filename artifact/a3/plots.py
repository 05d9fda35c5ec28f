"""Figures for the A3 reproduction (Figs. 11-15 analogues), drawn only from experiment DataFrames.

seaborn/matplotlib are imported inside the functions so ``import artifact.a3`` stays light.
"""
from __future__ import annotations

import pandas as pd

__all__ = ["fig11", "fig12", "fig13", "fig14", "fig15", "fig_model_validation"]

_M_ORDER = ["exact", "M=1n", "M=0.75n", "M=0.5n", "M=0.25n", "M=0.125n"]
_T_ORDER = ["exact", "T=1%", "T=2.5%", "T=5%", "T=10%", "T=20%"]


def _plt():
    import matplotlib.pyplot as plt
    import seaborn as sns
    from artifact import plotting
    plotting.set_theme()
    return plt, sns


def _summary(sweep: pd.DataFrame) -> pd.DataFrame:
    return sweep[sweep.task.isin(["mean", "all"])]


def _sweep_fig(sweep: pd.DataFrame, order: list[str], frac_col: str, frac_label: str, title: str):
    plt, sns = _plt()
    d = _summary(sweep)
    d = d[d.setting.isin(order)].copy()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    sns.barplot(data=d, x="setting", y="value", hue="workload", order=order, ax=axes[0])
    axes[0].set(ylabel="task metric (accuracy / NN agreement)", xlabel="", title=f"{title}: task metric")
    axes[0].set_ylim(0, 1.05)
    e = d[d.setting != "exact"]
    sns.barplot(data=e, x="setting", y=frac_col, hue="workload", order=order[1:], ax=axes[1], legend=False)
    axes[1].set(ylabel=frac_label, xlabel="", title=f"{title}: {frac_label}")
    for ax in axes:
        ax.tick_params(axis="x", rotation=30)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def fig11(sweep: pd.DataFrame):
    """Candidate selection only: metric and C/n vs M (paper Fig. 11)."""
    return _sweep_fig(sweep, _M_ORDER, "C_frac", "candidates C / n", "Fig. 11 analogue (M sweep)")


def fig12(sweep: pd.DataFrame):
    """Post-scoring only: metric and K/n vs T (paper Fig. 12)."""
    return _sweep_fig(sweep, _T_ORDER, "K_frac", "kept rows K / n", "Fig. 12 analogue (T sweep)")


def fig13(sweep: pd.DataFrame):
    """Both stages: metric and top-k recall for exact / conservative / aggressive (+ fixed point)."""
    plt, sns = _plt()
    order = ["exact", "conservative", "aggressive", "fixed-point exact", "fixed-point conservative"]
    d = _summary(sweep)
    d = d[d.setting.isin(order)]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    sns.barplot(data=d, x="setting", y="value", hue="workload", order=order, ax=axes[0])
    axes[0].set(ylabel="task metric", xlabel="", title="Fig. 13a analogue")
    axes[0].set_ylim(0, 1.05)
    e = d[~d.setting.str.endswith("exact")]
    sns.barplot(data=e, x="setting", y="recall", hue="workload", order=order[1:3] + order[4:], ax=axes[1], legend=False)
    axes[1].set(ylabel="recall of true top-k (k=2 bAbI, 5 MiniLM)", xlabel="", title="Fig. 13b analogue")
    for ax in axes:
        ax.tick_params(axis="x", rotation=20)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def fig14(perf: pd.DataFrame):
    """Throughput vs this machine's CPU (log) and latency vs base A3 (model on our measured ops)."""
    plt, sns = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    sns.barplot(data=perf, x="workload", y="speedup_vs_this_cpu", hue="config", ax=axes[0])
    axes[0].set_yscale("log")
    axes[0].set(ylabel="throughput / this CPU (exact, 1 query)", xlabel="", title="Fig. 14a analogue (model)")
    sns.barplot(data=perf, x="workload", y="latency_ratio_vs_base", hue="config", ax=axes[1], legend=False)
    axes[1].set(ylabel="latency / base A3", xlabel="", title="Fig. 14b analogue (model)")
    for ax in axes:
        ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    return fig


def fig15(perf: pd.DataFrame, sweep: pd.DataFrame):
    """Energy efficiency vs this CPU (log) and the per-module energy breakdown vs base A3."""
    plt, sns = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    sns.barplot(data=perf, x="workload", y="energy_eff_vs_this_cpu", hue="config", ax=axes[0])
    axes[0].set_yscale("log")
    axes[0].set(ylabel="ops/J relative to this CPU (assumed power)", xlabel="", title="Fig. 15a analogue (model)")
    axes[0].tick_params(axis="x", labelsize=7)
    d = _summary(sweep)
    d = d[d.setting.isin(["conservative", "aggressive"])]
    parts = ["share_memory", "share_output", "share_exponent", "share_dot", "share_candidate_selection"]
    bottom = None
    labels = [f"{w.split('/')[0]}\n{s}" for w, s in zip(d.workload, d.setting)]
    x = range(len(d))
    for p in parts:
        vals = d[p].to_numpy()
        axes[1].bar(x, vals, bottom=bottom, label=p.replace("share_", ""))
        bottom = vals if bottom is None else bottom + vals
    axes[1].set_xticks(list(x), labels, fontsize=7)
    axes[1].set(ylabel="energy / base A3", title="Fig. 15b analogue (model)")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def fig_model_validation(val: pd.DataFrame):
    """The model fed the paper's own C/n and K/n against the paper's Figs. 14a and 15b."""
    plt, sns = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    lab = val.workload + " " + val.config.str[:4]
    for ax, (m, p, t) in zip(axes, [("model_throughput_gain", "paper_throughput_gain", "throughput / base (Fig. 14a)"),
                                    ("model_latency_ratio_implied_K", "paper_latency_ratio", "latency / base (Fig. 14b)"),
                                    ("model_memory_from_implied", "paper_memory", "memory energy slice (Fig. 15b)")]):
        d = pd.DataFrame({"config": list(lab) * 2, "value": list(val[m]) + list(val[p]),
                          "source": ["model"] * len(val) + ["paper"] * len(val)})
        sns.barplot(data=d, x="config", y="value", hue="source", ax=ax)
        ax.set(title=t, xlabel="")
        ax.tick_params(axis="x", rotation=45, labelsize=7)
    fig.tight_layout()
    return fig
