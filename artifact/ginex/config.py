"""Scale presets for the Ginex reproduction (Park et al., VLDB 2022; spec ``papers/ginex.md`` §5).

One frozen :class:`Config` per scale; experiments and pipelines read every size from it.

* ``smoke``: R-MAT scale 14 (16 K nodes), F = 64, a few batches: seconds (CI).
* ``quick``: R-MAT scale 20 (1 M nodes, 16.8 M edges before dedup), F = 256 -> a 1 GiB feature file
  built once under ``data/generated/ginex/`` and reused; cache study in minutes on 2 cores.
* ``full``: R-MAT scale 22 (4 M nodes), F = 256 -> 4 GiB of features; hours on 2 cores.
"""

from __future__ import annotations

from dataclasses import dataclass

from artifact import scales

PRESETS: dict[str, dict] = {
    "smoke": dict(graph_scale=14, feat_dim=64, batch_size=100, fanouts=(5, 5, 5), superbatch_size=8,
                  max_batches=16, live_batches=6, hidden=64, epochs=1, io_threads=8),
    "quick": dict(graph_scale=20, feat_dim=256, batch_size=1000, fanouts=(10, 10, 10), superbatch_size=35,
                  max_batches=105, live_batches=10, hidden=256, epochs=1, io_threads=16),
    "full": dict(graph_scale=22, feat_dim=256, batch_size=1000, fanouts=(10, 10, 10), superbatch_size=105,
                 max_batches=None, live_batches=40, hidden=256, epochs=3, io_threads=16),
}


@dataclass(frozen=True)
class Config:
    """All knobs of the Ginex experiments. Sizes come from :data:`PRESETS`; override any by keyword."""

    scale: str = "quick"
    seed: int = 0                       # RNG seed for graph, features, batches and sampling
    # --- synthetic dataset (spec §5.1: R-MAT, Graph500 parameters, random relabelling) ---
    graph_scale: int = 20               # log2(#nodes)
    edge_factor: int = 16               # edges per node before dedup / self-loop removal
    rmat_abcd: tuple[float, float, float, float] = (0.57, 0.19, 0.19, 0.05)
    feat_dim: int = 256                 # F, float32 features (paper default 256)
    num_classes: int = 16               # labels for the learnable signal
    train_fraction: float = 0.10        # of all nodes, drawn from nodes with in-degree > 0
    feature_noise: float = 2.0          # std of the Gaussian noise added to the class centroid
    # --- sampling / batching (paper §5.1: batch 1000, fan-out (10, 10, 10)) ---
    batch_size: int = 1000
    fanouts: tuple[int, ...] = (10, 10, 10)
    superbatch_size: int = 35           # S, batches per superbatch
    max_batches: int | None = None      # cap on batches per epoch (None = the whole epoch)
    live_batches: int = 10              # batches replayed with real O_DIRECT I/O in the cache study
    # --- memory budgets, as fractions of the feature-file bytes / index-file bytes ---
    feature_cache_fraction: float = 0.15    # feature-cache byte budget / feature bytes (incl. address table)
    neighbor_cache_fraction: float = 0.50   # neighbor-cache byte budget / (indices + address-table) bytes
    cache_fractions: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)  # Fig. 5 x-axis (fraction of nodes)
    # --- I/O ---
    io_threads: int = 16                # O_DIRECT reader threads (spec §5.1: ~58 K IOPS at 16 threads)
    allow_buffered: bool = False        # run without O_DIRECT (results labelled "buffered")
    dataset_name: str | None = None     # default: "rmat<graph_scale>_f<feat_dim>_s<seed>"
    # --- model / training (used by the pipeline, issue Ginex II) ---
    hidden: int = 256
    lr: float = 0.003
    dropout: float = 0.5
    epochs: int = 1

    def __post_init__(self) -> None:
        scales.check_scale(self.scale)
        if self.graph_scale < 4 or self.graph_scale > 30:
            raise ValueError(f"graph_scale must be in [4, 30], got {self.graph_scale}")
        if self.feat_dim <= 0 or self.batch_size <= 0 or not self.fanouts:
            raise ValueError("feat_dim, batch_size must be positive and fanouts non-empty")
        if any(f <= 0 for f in self.fanouts):
            raise ValueError(f"fan-outs must be positive, got {self.fanouts}")
        if not 0.0 < self.train_fraction <= 1.0:
            raise ValueError(f"train_fraction must be in (0, 1], got {self.train_fraction}")

    @classmethod
    def for_scale(cls, scale: str, **overrides) -> "Config":
        return scales.for_scale(cls, PRESETS, scale, **overrides)

    @property
    def num_nodes(self) -> int:
        return 1 << self.graph_scale

    @property
    def name(self) -> str:
        """Dataset folder name under ``data/generated/ginex/``."""
        return self.dataset_name or f"rmat{self.graph_scale}_f{self.feat_dim}_s{self.seed}"

    def short_str(self) -> str:
        return (f"ginex[{self.scale}] rmat{self.graph_scale} F={self.feat_dim} B={self.batch_size} "
                f"fanout={','.join(map(str, self.fanouts))} S={self.superbatch_size}")
