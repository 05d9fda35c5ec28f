"""NestedFP II figures (GEMM throughput, modelled serving), drawn only from the DataFrames of
:mod:`artifact.nestedfp.serving_experiments`. seaborn/matplotlib are imported lazily."""

from __future__ import annotations

import pandas as pd

POLICY_LABELS = {
    "fp16_only": "FP16 only",
    "fp8_only": "FP8 only (1 B/param)",
    "nested_fp8_only": "NestedFP, always FP8",
    "nested_fp16_only": "NestedFP, always FP16",
    "nestedfp_dynamic": "NestedFP dynamic (tokens > budget/2)",
    "slo_feedback": "NestedFP SLO-feedback (ours)",
    "codeploy_dynamic": "FP16+FP8 co-deployment (3 B/param)",
}
ARM_LABELS = {
    "cublas_fp16": "cuBLAS FP16 (torch.mm)",
    "scaled_mm_fp8": "FP8 torch._scaled_mm",
    "triton_nested_fp16": "NestedFP16 (Triton)",
    "triton_nested_fp8": "NestedFP8 (Triton)",
}


def plot_gemm_tflops(gemm: pd.DataFrame):
    """TFLOP/s vs M per arm, one panel per (N, K) layer shape (measured CSV only)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    shapes = sorted({(int(n), int(k)) for n, k in zip(gemm["N"], gemm["K"])})
    fig, axes = plt.subplots(1, len(shapes), figsize=(3.6 * len(shapes), 3.2), sharey=True, squeeze=False)
    df = gemm.assign(arm_label=gemm["arm"].map(ARM_LABELS).fillna(gemm["arm"]))
    for ax, (n, k) in zip(axes[0], shapes):
        sub = df[(df["N"] == n) & (df["K"] == k)]
        sns.lineplot(sub, x="M", y="tflops", hue="arm_label", marker="o", ax=ax, legend=ax is axes[0][-1])
        ax.set_xscale("log", base=2)
        ax.set_title(f"N={n}, K={k}")
        ax.set_ylabel("TFLOP/s")
    if axes[0][-1].get_legend() is not None:
        sns.move_legend(axes[0][-1], "upper left", bbox_to_anchor=(1.02, 1), title="")
    fig.tight_layout()
    return fig


def _policy_frame(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(policy_label=df["policy"].map(POLICY_LABELS).fillna(df["policy"]))


def plot_ttft_vs_load(sweep: pd.DataFrame):
    """p90 TTFT (log) and p90 TPOT vs request rate, one line per policy."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = _policy_frame(sweep)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    sns.lineplot(df, x="rate_req_s", y="ttft_p90_s", hue="policy_label", marker="o", ax=axes[0], legend=False)
    axes[0].set_yscale("log")
    axes[0].set(xlabel="request rate (req/s, Azure conv. trace stretched 5-20x)", ylabel="p90 TTFT (s)")
    sns.lineplot(df, x="rate_req_s", y="tpot_p90_s", hue="policy_label", marker="o", ax=axes[1])
    axes[1].set(xlabel="request rate (req/s)", ylabel="p90 TPOT (s)")
    sns.move_legend(axes[1], "upper left", bbox_to_anchor=(1.02, 1), title="")
    fig.tight_layout()
    return fig


def plot_slo_attainment(sweep: pd.DataFrame, ks: tuple[int, ...] = (5, 10, 25)):
    """SLO attainment (TTFT and TPOT within k x light-load mean) vs request rate, per k."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    ks = tuple(k for k in ks if f"slo_k{k}" in sweep.columns)
    df = _policy_frame(sweep)
    fig, axes = plt.subplots(1, len(ks), figsize=(3.8 * len(ks), 3.4), sharey=True, squeeze=False)
    for i, (ax, k) in enumerate(zip(axes[0], ks)):
        sns.lineplot(df, x="rate_req_s", y=f"slo_k{k}", hue="policy_label", marker="o", ax=ax,
                     legend=i == len(ks) - 1)
        ax.set(title=f"SLO = {k} x light-load mean", xlabel="request rate (req/s)", ylabel="SLO attainment")
    sns.move_legend(axes[0][-1], "upper left", bbox_to_anchor=(1.02, 1), title="")
    fig.tight_layout()
    return fig


def plot_fp8_timeline(timeline: pd.DataFrame):
    """Arrival rate (top) and fraction of iterations run in FP8 (bottom) over the surge replay."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = _policy_frame(timeline)
    fig, axes = plt.subplots(2, 1, figsize=(8, 4.6), sharex=True)
    rate = df.drop_duplicates("t_s")
    axes[0].step(rate["t_s"], rate["arrival_rate_req_s"], where="post", color="0.3")
    axes[0].set_ylabel("arrivals (req/s)")
    sns.lineplot(df, x="t_s", y="fp8_fraction", hue="policy_label", drawstyle="steps-post", ax=axes[1])
    axes[1].set(xlabel="time (s)", ylabel="FP8 fraction of iterations", ylim=(-0.02, 1.02))
    sns.move_legend(axes[1], "upper left", bbox_to_anchor=(1.02, 1), title="")
    fig.tight_layout()
    return fig


def plot_throughput_mode(thr: pd.DataFrame):
    """Throughput-mode speedup over FP16 per policy, batch on x, one panel per model."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = _policy_frame(thr[thr["policy"] != "fp16_only"])
    df = df.assign(shape=df["prompt"].astype(str) + "+" + df["output"].astype(str))
    models = list(dict.fromkeys(df["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 3.4), sharey=True, squeeze=False)
    for i, (ax, model) in enumerate(zip(axes[0], models)):
        sns.lineplot(df[df["model"] == model], x="batch", y="speedup_vs_fp16", hue="policy_label", style="shape",
                     marker="o", ax=ax, legend=i == len(models) - 1)
        ax.axhline(1.55, color="0.5", ls=":", lw=1)
        ax.set(xscale="log", title=model, ylabel="throughput vs FP16 (x)", xlabel="batch (requests at once)")
    sns.move_legend(axes[0][-1], "upper left", bbox_to_anchor=(1.02, 1), title="")
    fig.tight_layout()
    return fig
