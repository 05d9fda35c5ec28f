"""Training experiments (Ginex II): Ginex vs PyG+ at equal memory, breakdown and sweeps (Figs. 14-19).

Every function takes a :class:`~artifact.ginex.config.Config` and returns a tidy DataFrame; they
are re-exported by :mod:`artifact.ginex.experiments`. All systems train the same GraphSAGE on
the same on-disk dataset (``O_DIRECT`` reads) with the same byte budget ``B`` =
``cfg.feature_cache_fraction`` x feature-file bytes (the feature file is always larger than
``B``; :func:`check_budget` enforces it). Two modes per configuration:

* ``data_path``: the model step removed (the paper's GPU step is short next to I/O; on this CPU it
  is not) -- Ginex's wall time includes inspect, switch, gather and cache update;
* ``end_to_end``: the model step (CPU, overlapped with the next gather) included.

Sweeps run in ``data_path`` mode to stay within minutes on 2 cores. Scale presets for the
number of batches per run are in :data:`TRAIN_PRESETS` (a full epoch only at ``full``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from .model import ModelConfig
from .pipeline import BudgetTooSmallError, RunSpec, run_system

TRAIN_PRESETS: dict[str, dict] = {
    # batches per measured run, superbatch size S (batches), and the points of each sweep
    "smoke": dict(batches=2, superbatch=2, loss_batches=2, sweep_batches=2, superbatch_sweep=(1, 2),
                  dim_graph_scale=12, dims=(128, 768), batch_sizes=(100, 200), budget_fractions=(0.2,),
                  seeds_per_superbatch=200, split_shares=(0.0, 1.0)),
    "quick": dict(batches=12, superbatch=12, loss_batches=3, sweep_batches=6, superbatch_sweep=(2, 4, 8, 16),
                  dim_graph_scale=18, dims=(128, 256, 512, 768), batch_sizes=(250, 500, 1000, 2000, 4000),
                  budget_fractions=(0.05, 0.1, 0.2), seeds_per_superbatch=8000,
                  split_shares=(0.0, 0.25, 0.5, 0.75, 1.0)),
    "full": dict(batches=None, superbatch=None, loss_batches=4, sweep_batches=40, superbatch_sweep=(5, 10, 20, 40),
                 dim_graph_scale=20, dims=(128, 256, 512, 768), batch_sizes=(250, 500, 1000, 2000, 4000),
                 budget_fractions=(0.05, 0.1, 0.2, 0.4), seeds_per_superbatch=20000,
                 split_shares=(0.0, 0.25, 0.5, 0.75, 1.0)),
}
MODES = ("data_path", "end_to_end")


def _preset(cfg, key: str):
    return TRAIN_PRESETS[cfg.scale][key]


def open_data(cfg):
    """Build-or-reuse the dataset of ``cfg`` and wrap it for the pipelines."""
    from . import storage
    from .pipeline_data import DiskData

    return DiskData(storage.open_dataset(cfg))


def budget_bytes(cfg, data, fraction: float | None = None) -> int:
    """``B`` = fraction x feature bytes (default ``cfg.feature_cache_fraction``)."""
    return int((cfg.feature_cache_fraction if fraction is None else fraction) * data.feature_bytes)


def check_budget(budget: int, data) -> None:
    """The point of the study: the feature file must not fit in the budget."""
    if budget >= data.feature_bytes:
        raise BudgetTooSmallError(  # misuse of the knob, not a too-small budget, but same remedy family
            f"budget {budget} B >= feature file {data.feature_bytes} B: everything would fit in memory; "
            "use feature_cache_fraction < 1")


def train_spec(cfg, data, *, compute: bool, batches: int | None = None, superbatch: int | None = None,
               fraction: float | None = None, **kw) -> RunSpec:
    """The :class:`RunSpec` of ``cfg`` at this scale (overrides by keyword)."""
    nb = batches if batches is not None else _preset(cfg, "batches")
    nb = nb if nb is not None else cfg.max_batches
    S = superbatch or _preset(cfg, "superbatch") or cfg.superbatch_size
    budget = kw.pop("budget_bytes", None) or budget_bytes(cfg, data, fraction)
    check_budget(budget, data)
    return RunSpec(budget_bytes=budget, fanouts=tuple(kw.pop("fanouts", cfg.fanouts)),
                   batch_size=kw.pop("batch_size", cfg.batch_size), superbatch_size=S, max_batches=nb,
                   epochs=1, seed=cfg.seed, model=ModelConfig(hidden=cfg.hidden, num_layers=len(cfg.fanouts),
                                                              dropout=cfg.dropout, lr=cfg.lr),
                   compute=compute, **kw)


def warm_up(data, spec: RunSpec) -> None:
    """A few untimed model steps on a random block, so first-call costs (torch / PyG kernels)
    land in no system's measurement."""
    if not spec.compute:
        return
    from .model import build_model, to_hops, train_step

    rng = np.random.default_rng(0)
    model, opt = build_model(data.dim, data.num_classes, spec.model, seed=0)
    n, d = 2000, 200
    L = len(spec.fanouts)
    dst = [n] * (L - 1) + [d]  # every hop keeps all n nodes except the last one
    hops = [(np.stack([rng.integers(0, n, 5 * m), np.repeat(np.arange(m), 5)]), (n, m)) for m in dst]
    x = rng.standard_normal((n, data.dim)).astype(np.float32)
    for s in range(3):
        train_step(model, opt, x, to_hops(hops), rng.integers(0, data.num_classes, d), seed=s)


def _run(data, system: str, spec: RunSpec, runtime_root: Path, **labels) -> dict:
    (res,) = run_system(data, system, spec, runtime_root=runtime_root)
    row = res.row()
    row.update(budget_bytes=spec.budget_bytes, feature_bytes=data.feature_bytes, batch_size=spec.batch_size,
               superbatch_size=spec.superbatch_size, feat_dim=data.dim, num_nodes=data.num_nodes,
               mode="end_to_end" if spec.compute else "data_path", **labels)
    return row


def _runtime_root(cfg) -> Path:
    from artifact import paths

    return paths.generated_dir("ginex", "runtime", f"{cfg.name}")


def training_comparison(cfg, systems: tuple[str, ...] = ("ginex", "pyg_plus", "ginex_pg", "ali_pg"),
                        modes: tuple[str, ...] = MODES, batches: int | None = None) -> pd.DataFrame:
    """Fig. 14 analogue: one (partial) epoch per system and mode at the same budget, with the
    stage breakdown, miss ratio and I/O per stage (one row per system x mode)."""
    data = open_data(cfg)
    rows = []
    try:
        for mode in modes:
            spec = train_spec(cfg, data, compute=(mode == "end_to_end"), batches=batches)
            warm_up(data, spec)
            for system in systems:
                rows.append(_run(data, system, spec, _runtime_root(cfg)))
    finally:
        data.ds.close()
    return pd.DataFrame(rows)


def speedups(df: pd.DataFrame, baseline: str = "pyg_plus") -> pd.DataFrame:
    """Throughput of each system over ``baseline`` (wall-time ratio) per mode and configuration."""
    keys = [k for k in ("mode", "sweep", "x") if k in df.columns]
    out = []
    for key, g in df.groupby(keys, dropna=False, sort=False):
        base = g[g.system == baseline]
        if base.empty:
            continue
        bt = float(base.wall_s.iloc[0])
        for _, r in g.iterrows():
            d = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
            d.update(system=r.system, wall_s=r.wall_s, speedup=bt / r.wall_s)
            out.append(d)
    return pd.DataFrame(out)


def breakdown(df: pd.DataFrame) -> pd.DataFrame:
    """Long table of the Fig. 14 stages (seconds and fraction of the wall time) per system x mode."""
    stages = {"t_inspect": "inspect", "t_switch": "switch", "t_data_prep": "data preparation",
              "t_cache_update": "cache update", "t_compute": "compute"}
    rows = []
    for _, r in df.iterrows():
        for col, name in stages.items():
            rows.append(dict(system=r.system, mode=r["mode"], stage=name, seconds=float(r.get(col, 0.0) or 0.0),
                             fraction=float(r.get(col, 0.0) or 0.0) / r.wall_s))
    return pd.DataFrame(rows)


def io_by_stage(df: pd.DataFrame) -> pd.DataFrame:
    """Requests and bytes per stage and system (counted) next to ``/proc/self/io`` read_bytes."""
    rows = []
    for _, r in df.iterrows():
        for col in df.columns:
            if col.startswith("io_") and col.endswith("_requests") and col != "io_requests":
                stage = col[3:-9]
                if pd.notna(r[col]):
                    rows.append(dict(system=r.system, mode=r["mode"], stage=stage, requests=int(r[col]),
                                     bytes=int(r[f"io_{stage}_bytes"])))
        rows.append(dict(system=r.system, mode=r["mode"], stage="total (counted)", requests=int(r.io_requests),
                         bytes=int(r.io_bytes)))
        rows.append(dict(system=r.system, mode=r["mode"], stage="/proc/self/io read_bytes", requests=np.nan,
                         bytes=int(r.proc_read_bytes)))
    return pd.DataFrame(rows)


def loss_equivalence(cfg, systems: tuple[str, ...] = ("in_memory", "ginex", "pyg_plus", "ginex_pg", "ali_pg"),
                     batches: int | None = None) -> pd.DataFrame:
    """Per-batch losses of every system for the same seed and batches (must be identical)."""
    batches = batches or _preset(cfg, "loss_batches")
    data = open_data(cfg)
    rows = []
    try:
        spec = train_spec(cfg, data, compute=True, batches=batches, superbatch=max(1, batches // 2))
        for system in systems:
            (res,) = run_system(data, system, spec, runtime_root=_runtime_root(cfg))
            rows += [dict(system=system, batch=i, loss=l) for i, l in enumerate(res.losses)]
    finally:
        data.ds.close()
    df = pd.DataFrame(rows)
    ref = df[df.system == "in_memory"].set_index("batch").loss
    df["equal_to_in_memory"] = [l == ref.get(b, np.nan) for b, l in zip(df.batch, df.loss)]
    return df


# ---------------------------------------------------------------------------------- sweeps


def sweep_superbatch(cfg, sizes: tuple[int, ...] | None = None, batches: int | None = None) -> pd.DataFrame:
    """Fig. 16 analogue: Ginex data-path time vs superbatch size S over the same batches."""
    sizes = sizes or _preset(cfg, "superbatch_sweep")
    nb = batches or max(sizes)
    data = open_data(cfg)
    rows = []
    try:
        for S in sizes:
            spec = train_spec(cfg, data, compute=False, batches=nb, superbatch=S)
            rows.append(_run(data, "ginex", spec, _runtime_root(cfg), sweep="superbatch", x=S))
    finally:
        data.ds.close()
    df = pd.DataFrame(rows)
    ref = df.loc[df.x == sorted(sizes)[len(sizes) // 2], "wall_s"].iloc[0]
    df["time_normalized"] = df.wall_s / ref
    return df


def sweep_budget(cfg, fractions: tuple[float, ...] | None = None, batches: int | None = None,
                 systems: tuple[str, ...] = ("ginex", "pyg_plus", "ali_pg")) -> pd.DataFrame:
    """Fig. 18 analogue: data-path time of each system vs the memory budget (fraction of features)."""
    fractions = fractions or _preset(cfg, "budget_fractions")
    data = open_data(cfg)
    rows = []
    try:
        for f in fractions:
            spec = train_spec(cfg, data, compute=False, batches=batches or _preset(cfg, "sweep_batches"), fraction=f)
            for system in systems:
                rows.append(_run(data, system, spec, _runtime_root(cfg), sweep="budget", x=f))
    finally:
        data.ds.close()
    return pd.DataFrame(rows)


def sweep_batch_size(cfg, sizes: tuple[int, ...] | None = None, systems: tuple[str, ...] = ("ginex", "pyg_plus", "ali_pg")
                     ) -> pd.DataFrame:
    """Fig. 19 analogue: data-path time vs batch size over the same number of seed nodes; the
    superbatch holds a fixed number of seeds (as a fixed run-time-file budget would)."""
    sizes = sizes or _preset(cfg, "batch_sizes")
    seeds = _preset(cfg, "seeds_per_superbatch")
    data = open_data(cfg)
    rows = []
    try:
        for bs in sizes:
            nb = max(1, seeds // bs)
            spec = train_spec(cfg, data, compute=False, batches=nb, superbatch=nb, batch_size=bs)
            for system in systems:
                rows.append(_run(data, system, spec, _runtime_root(cfg), sweep="batch_size", x=bs))
    finally:
        data.ds.close()
    df = pd.DataFrame(rows)
    df["inspect_fraction"] = df.t_inspect / df.wall_s
    return df


def sweep_feature_dim(cfg, dims: tuple[int, ...] | None = None, graph_scale: int | None = None,
                      systems: tuple[str, ...] = ("ginex", "pyg_plus", "ali_pg")) -> pd.DataFrame:
    """Fig. 17 analogue: data-path time vs feature dimension at the same budget fraction. 768-d rows
    (3 KiB) often straddle two pages: Ginex reads 8 KiB for them (``bytes_per_gather_request``)."""
    scale = graph_scale or _preset(cfg, "dim_graph_scale")
    dims = dims or _preset(cfg, "dims")
    rows = []
    for F in dims:
        c = dataclasses.replace(cfg, graph_scale=scale, feat_dim=F, dataset_name=None)
        data = open_data(c)
        try:
            spec = train_spec(c, data, compute=False, batches=_preset(cfg, "sweep_batches"))
            for system in systems:
                rows.append(_run(data, system, spec, _runtime_root(c), sweep="feat_dim", x=F))
        finally:
            data.ds.close()
    df = pd.DataFrame(rows)
    df["bytes_per_gather_request"] = df.io_gather_bytes / df.io_gather_requests
    return df


def sweep_ali_split(cfg, shares: tuple[float, ...] | None = None, batches: int | None = None) -> pd.DataFrame:
    """Ali+PG's neighbor:feature memory split (0:100 ... 100:0), data path; the paper reports the best."""
    shares = shares or _preset(cfg, "split_shares")
    data = open_data(cfg)
    rows = []
    try:
        for s in shares:
            spec = train_spec(cfg, data, compute=False, batches=batches or _preset(cfg, "sweep_batches"),
                              neighbor_share=s)
            rows.append(_run(data, "ali_pg", spec, _runtime_root(cfg), sweep="ali_split", x=s))
    finally:
        data.ds.close()
    return pd.DataFrame(rows)
