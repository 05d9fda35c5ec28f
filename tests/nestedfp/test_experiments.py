"""Experiments, config, plots and the sanity hook of artifact.nestedfp (NestedFP I parts)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
import torch

import artifact.nestedfp as nfp
from artifact.nestedfp import experiments as E
from artifact.nestedfp import plots
from artifact.nestedfp.config import Config

from .test_quality import tiny_bert, tiny_llama


class _Tok:
    """Stand-in tokenizer for the tiny random models (maps characters to ids)."""

    def __init__(self, vocab: int) -> None:
        self.vocab = vocab

    def __call__(self, text, return_tensors="pt", padding=False, truncation=False, max_length=None):
        texts = [text] if isinstance(text, str) else list(text)
        n = min(max(len(t) for t in texts), max_length or 10**9, 40)
        ids = torch.tensor([[1 + ord(c) % (self.vocab - 1) for c in t[:n].ljust(n)] for t in texts])
        out = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        return type("Enc", (dict,), {"input_ids": property(lambda s: s["input_ids"])})(out)


@pytest.fixture(scope="module")
def models() -> E.ModelDict:
    return {"all-MiniLM-L6-v2": (tiny_bert(), _Tok(80)), "tiny-llama": (tiny_llama(), _Tok(64))}


def test_config_presets_and_validation() -> None:
    smoke = Config.for_scale("smoke")
    assert smoke.lm_tokens == 0 and smoke.scale == "smoke"
    assert Config.for_scale("quick", lm_tokens=1024, arms=["fp16", "std_fp8"]).arms == ("fp16", "std_fp8")
    with pytest.raises(ValueError, match="scale"):
        Config.for_scale("huge")
    with pytest.raises(TypeError, match="valid fields"):
        Config.for_scale("quick", n_tokens=3)
    with pytest.raises(ValueError, match="valid arms"):
        Config.for_scale("quick", arms=("fp4",))
    with pytest.raises(ValueError, match="threshold"):
        Config.for_scale("quick", threshold=1.9)
    with pytest.raises(ValueError, match="lm_ctx"):
        Config.for_scale("quick", lm_tokens=100, lm_ctx=512)


def test_format_exhaustive_table() -> None:
    df = E.format_exhaustive(Config.for_scale("smoke")).set_index("zone")
    total = df.loc["all patterns"]
    assert total.patterns == 65536 and total.accepted == 32512
    assert total.round_trip_exact == total.accepted == total.fp8_view_is_rne_cast
    assert df.loc["non-finite (Inf/NaN)", "accepted"] == 0


def test_fp16_mode_exactness_is_zero(models: E.ModelDict) -> None:
    cfg = Config.for_scale("smoke", n_sentences=4, lm_ctx=16)
    df = E.fp16_mode_exactness(cfg, models)
    assert (df.max_abs_diff == 0).all() and df.bit_identical.all()
    assert set(df.compute_dtype) == {"float32", "float16"} and (df.converted_layers > 0).all()


def test_conversion_summary_and_layer_stats(models: E.ModelDict) -> None:
    cfg = Config.for_scale("smoke")
    conv = E.conversion_summary(cfg, models)
    assert set(conv.threshold) == {1.75, 1.8192}
    llama = conv[conv.model == "tiny-llama"].iloc[0]
    assert llama.candidate_layers == 14 and llama.skipped == "lm_head" and llama.fallback_rate_layers == 0
    layers = E.layer_stats(cfg, models)
    assert len(layers) == 14 + 12 and (layers.sqnr_nestedfp8_db > 25).all()


def test_memory_accounting_nestedfp_has_no_extra_bytes(models: E.ModelDict) -> None:
    df = E.memory_accounting(Config.for_scale("smoke"), models)
    nested = df[df.scheme == "NestedFP"]
    assert (nested.extra_bytes_vs_fp16 == 0).all()
    co = df[df.scheme == "FP16 + FP8 co-deployed"].set_index("model")
    assert (co.bytes_per_linear_param > 3.0).all() and (co.bytes_per_linear_param < 3.2).all()  # + fp32 channel scales
    llama8b = co.loc["Llama-3.1-8B"]
    assert llama8b.linear_params == 32 * (6144 + 4096 + 28672) * 4096 + 32 * 4096 * 14336
    assert 1.4 < llama8b.ratio_vs_fp16 < 1.5  # embeddings and lm_head are not duplicated


def test_embedding_and_perplexity_experiments(models: E.ModelDict) -> None:
    cfg = Config.for_scale("quick", n_sentences=6, lm_tokens=32, lm_ctx=16, arms=("fp16", "nestedfp8_per_token"))
    emb = E.embedding_quality(cfg, models)
    assert list(emb.arm) == ["fp16", "nestedfp8_per_token"] and (emb.sentences == 6).all()
    ppl = E.lm_perplexity(cfg, models)
    assert list(ppl.arm) == ["fp16", "nestedfp8_per_token"] and (ppl.model == "tiny-llama").all()
    assert E.lm_perplexity(Config.for_scale("smoke"), models).empty


def test_plots_draw_from_dataframes(models: E.ModelDict) -> None:
    import matplotlib.pyplot as plt

    cfg = Config.for_scale("smoke")
    emb = pd.DataFrame({"arm": ["fp16", "std_fp8"], "mean_cosine_vs_fp16": [1.0, 0.99], "model": ["m", "m"]})
    ppl = pd.DataFrame({"arm": ["fp16", "std_fp8"], "ppl_rel_to_fp16_pct": [0.0, 1.2], "model": ["m", "m"]})
    for fig in (
        plots.plot_quality(ppl, emb),
        plots.plot_quality(ppl.iloc[0:0], emb),
        plots.plot_layer_maxabs(E.layer_stats(cfg, models), cfg.threshold),
        plots.plot_layer_sqnr(E.layer_stats(cfg, models)),
        plots.plot_memory(E.memory_accounting(cfg, models)),
    ):
        assert fig.axes
        plt.close(fig)


def test_sanity_check_passes() -> None:
    df = nfp.sanity_check()
    assert list(df.columns) == ["check", "value", "expected", "ok"] and df.ok.all() and len(df) >= 5


def test_package_import_does_not_pull_heavy_modules() -> None:
    import subprocess
    import sys

    code = "import sys, artifact.nestedfp; print(any(m in sys.modules for m in ('triton', 'seaborn', 'transformers')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
