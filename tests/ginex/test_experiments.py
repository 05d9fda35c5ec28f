"""Cache experiments and plots on a tiny configuration (artifact.ginex.experiments / plots)."""
from __future__ import annotations

import numpy as np
import pytest

from artifact.ginex import experiments as E
from artifact.ginex import plots
from artifact.ginex.config import Config


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("ARTIFACT_GENERATED_DIR", str(tmp_path_factory.mktemp("gen")))
    mp.setenv("ARTIFACT_RESULTS_DIR", str(tmp_path_factory.mktemp("res")))
    cfg = Config.for_scale("smoke", graph_scale=12, max_batches=8, live_batches=4, superbatch_size=3,
                           cache_fractions=(0.1, 0.3))
    ds = E.open_data(cfg)
    trace = E.epoch_trace(cfg, ds)
    yield cfg, ds, trace
    ds.close()
    mp.undo()


def test_epoch_trace_is_cached_and_reproducible(setup):
    cfg, ds, trace = setup
    assert len(trace) == min(8, -(-ds.train_idx.size // cfg.batch_size)) and len(trace) > 3
    assert all(np.unique(t).size == t.size for t in trace)
    again = E.epoch_trace(cfg, ds)
    assert all(np.array_equal(a, b) for a, b in zip(trace, again))
    assert list((ds.path / "traces").glob("*.npz"))


def test_fig5_and_fig15(setup):
    cfg, ds, trace = setup
    f5 = E.fig5_miss_ratio(cfg, ds=ds, trace=trace)
    g = f5.pivot_table(index="cached_fraction", columns="policy", values="miss_ratio")
    assert (g["Belady (whole epoch)"] <= g["PaGraph (static out-degree)"]).all()
    assert (g["Belady (whole epoch)"] <= g["LRU (batch-granular)"]).all()
    assert (g.diff().dropna() <= 0).all().all(), "more cache, fewer misses"
    plots.fig5_miss_ratio(f5)
    f15 = E.fig15_ginex_pg_vs_ginex(cfg, ds=ds, trace=trace)
    for _, grp in f15.groupby("superbatch_size"):
        m = grp.set_index("policy")["miss_ratio"]
        assert m["Ginex"] <= m["Ginex-PG"]
    plots.fig15_ginex_pg_vs_ginex(f15)


def test_bytes_per_policy_accounts_every_byte(setup):
    cfg, ds, trace = setup
    df = E.bytes_per_policy(cfg, ds=ds, trace=trace)
    assert df["agrees_with_simulator"].all()
    assert (df["total_bytes"] == df["sim_bytes"]).all()
    if ds.io_mode == "o_direct" and df["proc_read_bytes"].notna().all():
        assert (df["proc_read_bytes"] == df["total_bytes"]).all()
    assert (df["cache_bytes"] <= df["budget_bytes"]).all()
    plots.bytes_per_policy(df)


def test_io_by_stage_and_throughput_and_optimality(setup):
    cfg, ds, _ = setup
    io = E.io_requests_by_stage(cfg, ds=ds).set_index("stage")
    assert io.loc["gather", "requests"] > 0 and io.loc["sample", "requests"] > 0
    thr = E.changeset_throughput(cfg, ds=ds, repeats=1)
    assert (thr["accesses_per_s"] > 0).all() and thr["accesses"].sum() > 0
    plots.changeset_throughput(thr)
    opt = E.belady_optimality(cfg, trials=30)
    assert (opt["gap"] == 0).all() and opt.loc[opt["kind"] == "heap reference", "per_iteration_equal"].all()


def test_benchmark_cli(setup, capsys):
    E.main(["--scale", "smoke", "--repeats", "1"])
    out = capsys.readouterr().out
    assert "target 5 M accesses/s" in out and "bench_changeset_throughput.csv" in out
    with pytest.raises(SystemExit):
        E.main(["--scale", "huge"])


def test_changeset_throughput_torch_backend_on_cpu(setup):
    pytest.importorskip("torch")
    cfg, ds, trace = setup
    df = E.changeset_throughput(cfg, ds=ds, trace=trace, repeats=1, backend="torch")
    assert (df["backend"] == "torch").all() and (df["accesses_per_s"] > 0).all()
    with pytest.raises(ValueError, match="backend"):
        E.changeset_throughput(cfg, ds=ds, trace=trace, backend="jax")
