"""NestedFP figures, drawn only from the DataFrames of :mod:`artifact.nestedfp.experiments`.

seaborn/matplotlib are imported inside each function so that ``import artifact.nestedfp`` works on
a GPU box that has only torch/triton/numpy/pandas. Sections: NestedFP I (quality, layers, memory);
NestedFP II (kernels, serving) appended by that issue.
"""

from __future__ import annotations

import pandas as pd

# =============================================================================================
# NestedFP I: FP8 quality, per-layer ranges, memory
# =============================================================================================

ARM_LABELS = {
    "fp16": "FP16 (= NestedFP16)",
    "nestedfp8_per_token": "NestedFP8 per-token",
    "nestedfp8_per_tensor": "NestedFP8 per-tensor",
    "std_fp8": "standard FP8 (FP8_DYNAMIC)",
    "std_fp8_same_layers": "standard FP8, NestedFP's layers only",
    "nestedfp8_no_fallback": "NestedFP8 view, no fallback (clamped)",
    "e4m3_cast": "plain E4M3 cast",
    "e5m2_cast": "plain E5M2 cast",
}


def plot_quality(ppl: pd.DataFrame, emb: pd.DataFrame):
    """Left: perplexity change vs FP16 per arm (causal LM). Right: 1 − cosine to FP16 (MiniLM)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    panels = [p for p in (("ppl", ppl), ("emb", emb)) if not p[1].empty]
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4.5), squeeze=False)
    for ax, (kind, df) in zip(axes[0], panels):
        d = df.assign(label=df["arm"].map(ARM_LABELS))
        if kind == "ppl":
            sns.barplot(data=d, y="label", x="ppl_rel_to_fp16_pct", hue="model", ax=ax)
            if d["ppl_rel_to_fp16_pct"].abs().max() > 50:  # keep small changes visible next to a blow-up
                ax.set_xscale("symlog", linthresh=1.0)
            for container in ax.containers:
                ax.bar_label(container, fmt="%+.2f", fontsize=7, padding=2)
            ax.set_xlabel("perplexity change vs FP16 (%)")
            ax.set_title(f"{', '.join(d['model'].unique())}: perplexity (held-out Wikipedia)", fontsize=10)
        else:
            d = d.assign(drift=1 - d["mean_cosine_vs_fp16"])
            sns.barplot(data=d, y="label", x="drift", hue="model", ax=ax)
            for container in ax.containers:
                ax.bar_label(container, fmt="%.4f", fontsize=7, padding=2)
            ax.set_xlabel("1 − mean cosine to FP16 embedding")
            ax.set_title(f"{', '.join(d['model'].unique())}: sentence-embedding drift", fontsize=10)
        ax.set_ylabel("")
        if ax.get_legend() is not None:  # the model goes in the title instead
            ax.get_legend().remove()
    fig.tight_layout()
    return fig


def plot_layer_maxabs(layers: pd.DataFrame, threshold: float):
    """Per-layer max |w| per model against the fallback thresholds (log scale)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(9, 4.5))
    d = layers.assign(kind=layers["layer"].str.split(".").str[-2:].str.join("."))  # e.g. self_attn.q_proj
    sns.stripplot(data=d, x="model", y="max_abs", hue="kind", ax=ax, jitter=0.3, size=4)
    ax.set_yscale("log")
    ax.axhline(threshold, color="red", ls="--", lw=1, label=f"threshold {threshold}")
    ax.axhline(1.75, color="gray", ls=":", lw=1, label="1.75 (FP8 view saturates)")
    ax.set_ylabel("max |w| of the layer")
    ax.set_xlabel("")
    ax.legend(fontsize=7, ncol=1, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def plot_layer_sqnr(layers: pd.DataFrame):
    """Weight SQNR (dB) per FP8 encoding across layers (layers above the threshold shown clamped)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    cols = {
        "sqnr_nestedfp8_db": "NestedFP8 (fixed 2^-8)",
        "sqnr_std_fp8_db": "standard FP8 (per-channel)",
        "sqnr_e4m3_cast_db": "E4M3 cast",
        "sqnr_e5m2_cast_db": "E5M2 cast",
    }
    d = layers.melt(id_vars=["model", "layer", "above_threshold"], value_vars=list(cols), var_name="encoding", value_name="sqnr_db")
    d["encoding"] = d["encoding"].map(cols)
    fig, ax = plt.subplots(figsize=(8, 4))
    sns.boxplot(data=d, x="encoding", y="sqnr_db", hue="model", ax=ax, fliersize=2)
    ax.set_ylabel("weight SQNR (dB)")
    ax.set_xlabel("")
    fig.tight_layout()
    return fig


def plot_memory(mem: pd.DataFrame):
    """Weight memory relative to FP16 for the three ways of serving FP16 and FP8."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(9, 3.5))
    sns.barplot(data=mem, y="model", x="ratio_vs_fp16", hue="scheme", ax=ax)
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xlabel("weight memory / FP16 model")
    ax.set_ylabel("")
    ax.legend(title="scheme", fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


# =============================================================================================
# NestedFP II: kernels and serving (appended by the NestedFP II issue)
# =============================================================================================
