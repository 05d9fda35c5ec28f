"""End-to-end training from disk (artifact.ginex.pipeline): same losses for every system, exact
I/O accounting, Ginex misses = the Belady plan's, interruption and corruption handling."""
from __future__ import annotations

import math

import numpy as np
import pytest

from artifact.ginex import storage
from artifact.ginex.belady import plan
from artifact.ginex.config import Config
from artifact.ginex.model import ModelConfig
from artifact.ginex.pipeline import (
    SYSTEMS, BudgetTooSmallError, RunSpec, RuntimeFileError, feature_cache_rows, minimum_budget, run_system)
from artifact.ginex.pipeline_data import DiskData
from artifact.ginex.sampler import batch_rng, epoch_batches


def _open(tmp_path_factory, feat_dim):
    root = tmp_path_factory.mktemp(f"ginex_f{feat_dim}")
    cfg = Config.for_scale("smoke", graph_scale=11, feat_dim=feat_dim, io_threads=4)
    ds = DiskData(storage.open_dataset(cfg, root=root))
    return ds, root


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    ds, root = _open(tmp_path_factory, 32)
    yield ds, root
    ds.ds.close()


def _spec(ds, **kw):
    base = dict(budget_bytes=int(0.15 * ds.feature_bytes) + minimum_budget(ds.num_nodes, ds.dim),
                fanouts=(4, 4, 4), batch_size=30, superbatch_size=3, max_batches=7, epochs=2, seed=5,
                model=ModelConfig(hidden=16), sample_workers=2, prefetch=3)
    base.update(kw)
    return RunSpec(**base)


def test_budget_is_smaller_than_feature_file(data):
    ds, _ = data
    assert _spec(ds).budget_bytes < ds.feature_bytes


def test_all_systems_give_identical_losses_to_in_memory(data):
    ds, root = data
    spec = _spec(ds)
    ref = run_system(ds, "in_memory", spec)
    ref_losses = [r.losses for r in ref]
    assert all(math.isfinite(x) for e in ref_losses for x in e) and len(ref_losses[1]) == 7
    for system in SYSTEMS:
        if system == "in_memory":
            continue
        got = run_system(ds, system, spec, runtime_root=root / "rt")
        assert [r.losses for r in got] == ref_losses, system  # bit-identical, both epochs
        assert got[0].n_batches == 7
    assert not any((root / "rt").iterdir())  # run-time files deleted after each superbatch


def _ginex_reference_misses(ds, spec, epoch):
    """Re-sample the epoch in RAM and replay the Belady plan of each superbatch: missed ids."""
    from artifact.ginex.pipeline_data import PositionalSampler

    src = ds.in_memory_neighbors(ds.load_indices())
    batches = epoch_batches(ds.train_ids, spec.batch_size, spec.seed, epoch, spec.max_batches)
    ids = [PositionalSampler(ds.indptr, spec.fanouts, src).sample(b, batch_rng(spec.seed, epoch, i)).n_id
           for i, b in enumerate(batches)]
    cap = feature_cache_rows(spec.budget_bytes, ds.num_nodes, ds.dim)
    missed, initial = [], []
    for lo in range(0, len(ids), spec.superbatch_size):
        sb = ids[lo: lo + spec.superbatch_size]
        p = plan(sb, cap)
        initial.append(p.initial)
        cached = np.zeros(ds.num_nodes, bool)
        cached[p.initial] = True
        for i, b in enumerate(sb):
            missed.append(b[~cached[b]])
            ins, ev = p.changesets[i]
            cached[ev], cached[ins] = False, True
        assert sum(len(m) for m in missed[lo:]) == p.total_misses
    return np.concatenate(missed), np.concatenate(initial), sum(len(b) for b in ids)


@pytest.mark.parametrize("feat_dim", [32, 96])  # 384-byte rows (F=96) sometimes straddle a page
def test_ginex_io_counts_equal_plan_and_proc_io(tmp_path_factory, feat_dim):
    ds, root = _open(tmp_path_factory, feat_dim)
    try:
        spec = _spec(ds, epochs=1, compute=False)
        (res,) = run_system(ds, "ginex", spec, runtime_root=root / "rt")
        missed, initial, accesses = _ginex_reference_misses(ds, spec, 0)
        assert (res.accesses, res.misses) == (accesses, len(missed))
        assert res.io["gather"] == (len(missed), int(storage.row_read_bytes(missed, 4 * feat_dim).sum()))
        assert res.io["switch"] == (len(initial), int(storage.row_read_bytes(initial, 4 * feat_dim).sum()))
        if feat_dim == 96:
            assert (storage.row_read_bytes(missed, 4 * feat_dim) == 8192).any()
        counted = sum(b for _, b in res.io.values())
        # O_DIRECT reads show up 1:1 in /proc/self/io; buffered run-time-file reads may add at most their size
        assert counted <= res.proc_read_bytes <= counted + res.runtime_bytes_read
        assert all(math.isnan(x) for x in res.losses) and res.seconds.get("compute", 0) < 0.5
        (pyg,) = run_system(ds, "pyg_plus", spec)
        counted = sum(b for _, b in pyg.io.values())
        assert pyg.proc_read_bytes == counted
        assert pyg.io["gather"][0] == pyg.extra["page_misses_features"]
        assert pyg.io["sample"][0] == pyg.extra["page_misses_indices"]
    finally:
        ds.ds.close()


def test_data_path_only_epoch_does_the_same_io(data):
    ds, root = data
    with_model = run_system(ds, "ginex", _spec(ds, epochs=1), runtime_root=root / "rt")[0]
    without = run_system(ds, "ginex", _spec(ds, epochs=1, compute=False), runtime_root=root / "rt")[0]
    assert with_model.io == without.io and with_model.misses == without.misses
    assert all(math.isnan(x) for x in without.losses)


class Boom(RuntimeError):
    pass


def test_interrupted_run_leaves_nothing_complete_and_is_cleaned(data):
    ds, root = data
    rt = root / "rt_interrupt"
    spec = _spec(ds, epochs=1)

    def fault(stage, j):
        if stage == "gather" and j == 1:
            raise Boom("power cut")

    with pytest.raises(Boom):
        run_system(ds, "ginex", spec, runtime_root=rt, fault=fault)
    leftovers = [p for p in rt.iterdir()]
    assert leftovers and (leftovers[0] / "manifest.json").exists()  # a half-done superbatch is left behind
    again = run_system(ds, "ginex", spec, runtime_root=rt)
    assert again[0].losses == run_system(ds, "in_memory", spec)[0].losses
    assert not any(rt.iterdir())


def test_corrupt_runtime_file_is_detected(data):
    ds, root = data
    rt = root / "rt_corrupt"

    def fault(stage, j):
        if stage == "inspect" and j == 1:
            p = next(rt.iterdir()) / "ids_1.npy"
            p.write_bytes(p.read_bytes()[:-8] + b"\x00" * 8)

    with pytest.raises(RuntimeFileError, match="corrupt"):
        run_system(ds, "ginex", _spec(ds, epochs=1), runtime_root=rt, fault=fault)


def test_budget_below_address_tables_is_a_clear_error(data):
    ds, root = data
    need = minimum_budget(ds.num_nodes, ds.dim)
    with pytest.raises(BudgetTooSmallError, match=f"minimum budget is {need}"):
        run_system(ds, "ginex", _spec(ds, budget_bytes=need - 1), runtime_root=root / "rt")


def test_unknown_system_and_missing_runtime_root(data):
    ds, _ = data
    with pytest.raises(ValueError, match="unknown system"):
        run_system(ds, "dgl", _spec(ds))
    with pytest.raises(ValueError, match="runtime_root"):
        run_system(ds, "ginex", _spec(ds))


def test_speedups_and_breakdown_arithmetic():
    import pandas as pd

    from artifact.ginex.training import breakdown, speedups

    df = pd.DataFrame([
        dict(system="ginex", mode="data_path", wall_s=2.0, t_inspect=0.5, t_switch=0.25, t_data_prep=1.0,
             t_cache_update=0.25, t_compute=0.0),
        dict(system="pyg_plus", mode="data_path", wall_s=6.0, t_inspect=0.0, t_switch=0.0, t_data_prep=6.0,
             t_cache_update=0.0, t_compute=0.0),
        dict(system="ginex", mode="end_to_end", wall_s=5.0, t_inspect=0.5, t_switch=0.25, t_data_prep=0.25,
             t_cache_update=0.0, t_compute=4.0),
        dict(system="pyg_plus", mode="end_to_end", wall_s=7.5, t_inspect=0.0, t_switch=0.0, t_data_prep=3.5,
             t_cache_update=0.0, t_compute=4.0)])
    sp = speedups(df).set_index(["mode", "system"]).speedup
    assert sp[("data_path", "ginex")] == 3.0 and sp[("end_to_end", "ginex")] == 1.5
    assert sp[("data_path", "pyg_plus")] == 1.0
    bd = breakdown(df)
    g = bd[(bd.system == "ginex") & (bd["mode"] == "data_path")].set_index("stage")
    assert g.seconds.sum() == 2.0 and g.fraction.sum() == 1.0 and g.loc["switch", "fraction"] == 0.125


def test_ali_pg_counts_its_cache_loading(data):
    ds, root = data
    (res,) = run_system(ds, "ali_pg", _spec(ds, epochs=1, compute=False))
    assert res.io["switch"][0] > 0 and res.seconds["switch"] > 0
    assert res.proc_read_bytes == sum(b for _, b in res.io.values())
