"""MiniLM with A3 in every head, Wikipedia sentences, sanity check, benchmark CLI, config."""
import numpy as np
import pytest

from artifact.a3 import Config, sanity_check
from artifact.a3 import bench
from artifact.a3.workloads import (OpRecorder, Setting, embedding_agreement, load_minilm, minilm_embed,
                                   minilm_inputs, wiki_sentences)


def test_wiki_sentences_are_real_and_seeded():
    a = wiki_sentences(20, seed=0)
    assert a == wiki_sentences(20, seed=0) and len(set(a)) == 20
    assert all(s[0].isupper() and s[-1] in ".!?" and "[[" not in s for s in a)


def test_minilm_hook_without_approximation_matches_eager_and_a3_degrades_gracefully():
    cfg = Config.for_scale("smoke", minilm_sentences=4, minilm_max_tokens=10)
    lm = load_minilm()
    sents, ids = minilm_inputs(lm, cfg)
    assert ids.shape == (4, 10)
    exact = minilm_embed(lm, ids, None, cfg)
    np.testing.assert_allclose(np.linalg.norm(exact, axis=1), 1.0, rtol=1e-5)
    rec = OpRecorder(5)
    same = minilm_embed(lm, ids, Setting("off", m_frac=None, T=1e-300), cfg, rec)
    assert embedding_agreement(exact, same)["cosine"] > 0.9999
    ops = rec.frame()
    assert len(ops) == 4 * 12 * 10 * 6  # sentences x heads x query rows x layers
    assert (ops.K == 10).all() and (ops.recall == 1).all()
    rec2 = OpRecorder(5)
    cons = minilm_embed(lm, ids, Setting("cons", 0.5, 5.0), cfg, rec2)
    o = rec2.frame()
    assert (o.M == 5).all() and (o.C <= 10).all() and (o.K <= o.C).all()
    assert 0.5 < embedding_agreement(exact, cons)["cosine"] <= 1.0 + 1e-6


def test_sanity_check_all_ok():
    df = sanity_check()
    assert df.ok.all(), df


def test_bench_tiny_and_cli(tmp_path, monkeypatch):
    df = bench.run(queries=30, n=24, d=8, m_fracs=(0.5,), rounds=1)
    assert bool(df.identical_first_50.all()) and (df.speedup > 0).all()
    out = bench.main(["--queries", "10", "--n", "12", "--d", "4", "--rounds", "1", "--no-save"])
    assert list(out.M) == [6, 2]
    with pytest.raises(SystemExit):
        bench.main(["--queries", "x"])
    with pytest.raises(ValueError, match=">= 1"):
        bench.run(queries=0)


def test_config_presets_and_overrides():
    assert Config.for_scale("smoke").tasks == (1, 15)
    assert len(Config.for_scale("quick").tasks) >= 10 and Config.for_scale("quick").n_train == 1000
    assert Config.for_scale("quick", epochs=3).epochs == 3
    with pytest.raises(TypeError, match="valid fields"):
        Config.for_scale("quick", bogus=1)
    with pytest.raises(ValueError):
        Config.for_scale("huge")
