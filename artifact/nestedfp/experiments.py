"""NestedFP experiments: one function per figure/table, each returning a tidy DataFrame.

Sections: NestedFP I (format, FP16 exactness, FP8 quality, memory; papers/nestedfp.md §1-§3) and
NestedFP II (kernels, serving), appended by that issue. Functions that need the real models take a
``models`` dict from :func:`load_models`, so a notebook loads each model once.
"""

from __future__ import annotations

import copy

import pandas as pd
import torch
from torch import nn

from artifact.nestedfp.config import Config

# =============================================================================================
# NestedFP I: format, FP16-mode exactness, FP8 quality, memory
# =============================================================================================

ModelDict = dict[str, tuple[nn.Module, object]]


def format_exhaustive(cfg: Config) -> pd.DataFrame:
    """Every one of the 65,536 FP16 bit patterns through split/merge/fp8_view, by magnitude zone (§1.1)."""
    from artifact.nestedfp.format import bits_to_fp16, fp8_view, merge, representable, split

    w = bits_to_fp16(torch.arange(65536, dtype=torch.int32))  # (65536,) every pattern
    mag = w.float().abs()
    ok = representable(w)
    hi, lo = split(w[ok])
    exact = merge(hi, lo).view(torch.int16) == w[ok].view(torch.int16)
    ref8 = (w[ok].float() * 256).clamp(-448, 448).to(torch.float8_e4m3fn).view(torch.uint8)
    view_ok = fp8_view(hi).view(torch.uint8) == ref8
    zones = [
        ("|w| < 2^-14 (E4M3-subnormal view)", (mag < 2.0**-14)),
        ("2^-14 <= |w| < 1.75", (mag >= 2.0**-14) & (mag < 1.75)),
        ("1.75 <= |w| < 1.875 (view saturates at 448)", (mag >= 1.75) & (mag < 1.875)),
        ("1.875 <= |w| < 2 (NaN code / carry into sign)", (mag >= 1.875) & (mag < 2)),
        ("|w| >= 2, finite", (mag >= 2) & torch.isfinite(mag)),
        ("non-finite (Inf/NaN)", ~torch.isfinite(mag)),
    ]
    rows = []
    for name, mask in zones:
        acc = mask[ok]
        rows.append(
            dict(
                zone=name,
                patterns=int(mask.sum()),
                accepted=int((mask & ok).sum()),
                rejected=int((mask & ~ok).sum()),
                round_trip_exact=int((exact & acc).sum()),
                fp8_view_is_rne_cast=int((view_ok & acc).sum()),
            )
        )
    df = pd.DataFrame(rows)
    total = df.drop(columns="zone").sum()
    return pd.concat([df, pd.DataFrame([{"zone": "all patterns", **total.to_dict()}])], ignore_index=True)


def load_models(cfg: Config) -> ModelDict:
    """The models this scale uses: MiniLM always, SmolLM2 when ``cfg.lm_tokens > 0``, and the small
    byte-level GPT trained here when ``cfg.gpt_steps > 0`` (and ``lm_tokens > 0``)."""
    from artifact.nestedfp import quality

    models: ModelDict = {"all-MiniLM-L6-v2": quality.load_minilm()}
    if cfg.lm_tokens > 0:
        models["SmolLM2-135M-Instruct (Q4_1 GGUF)"] = quality.load_smollm2()
        if cfg.gpt_steps > 0:
            models[TINY_GPT] = quality.train_tiny_gpt(cfg.gpt_steps, seed=cfg.seed)
    return models


TINY_GPT = "tiny GPT (bytes, trained here)"


def _is_causal(model: nn.Module) -> bool:
    return hasattr(model, "lm_head")


def _probe_inputs(cfg: Config, model: nn.Module, tok) -> dict[str, torch.Tensor]:
    from artifact.nestedfp import quality

    if _is_causal(model):
        ids = tok(quality.heldout_text(4000), return_tensors="pt").input_ids[:, : min(cfg.lm_ctx, 128)]
        return {"input_ids": ids}
    sents = quality.wiki_sentences(min(cfg.n_sentences, 6), seed=cfg.seed)  # bit-exactness needs few inputs
    return dict(tok(sents, padding=True, truncation=True, max_length=128, return_tensors="pt"))


@torch.no_grad()
def fp16_mode_exactness(cfg: Config, models: ModelDict) -> pd.DataFrame:
    """Max |Δ| between each model and its NestedFP conversion in FP16 mode (expected: exactly 0)."""
    from artifact.nestedfp.linear import convert

    rows = []
    for name, (model, tok) in models.items():
        inputs = _probe_inputs(cfg, model, tok)
        dtypes = [torch.float32] + ([] if _is_causal(model) else [torch.float16])  # CPU fp16 LLM: too slow
        for dtype in dtypes:
            base = copy.deepcopy(model).to(dtype)
            ref = base(**inputs)
            conv = copy.deepcopy(base)
            report = convert(conv, threshold=cfg.threshold)
            out = conv(**inputs)
            key = "logits" if _is_causal(model) else "last_hidden_state"
            a, b = getattr(ref, key), getattr(out, key)
            rows.append(
                dict(
                    model=name,
                    compute_dtype=str(dtype).removeprefix("torch."),
                    output=key,
                    converted_layers=len(report.converted),
                    max_abs_diff=float((a.float() - b.float()).abs().max()),
                    bit_identical=bool(torch.equal(a, b)),
                )
            )
    return pd.DataFrame(rows)


def conversion_summary(cfg: Config, models: ModelDict) -> pd.DataFrame:
    """Per model and threshold (1.75 HF prototype, cfg.threshold vLLM): converted layers, fallbacks."""
    from artifact.nestedfp.linear import HF_THRESHOLD, plan_conversion

    rows = []
    for name, (model, _tok) in models.items():
        for th in sorted({HF_THRESHOLD, cfg.threshold}):
            rep = plan_conversion(model, threshold=th)
            cand = rep.converted + rep.fallbacks
            params = sum(r.in_features * r.out_features for r in cand)
            rows.append(
                dict(
                    model=name,
                    threshold=th,
                    candidate_layers=len(cand),
                    converted_layers=len(rep.converted),
                    fallback_layers=len(rep.fallbacks),
                    fallback_rate_layers=rep.fallback_rate,
                    fallback_rate_params=1 - rep.converted_params / params if params else float("nan"),
                    skipped=", ".join(r.name for r in rep.layers if r.reason == "skipped by name") or "-",
                )
            )
    return pd.DataFrame(rows)


def layer_stats(cfg: Config, models: ModelDict) -> pd.DataFrame:
    """Per-layer max |w|, fallback flag, weight SQNR per FP8 encoding, subnormal/flush fractions."""
    from artifact.nestedfp.quality import weight_stats

    frames = [weight_stats(m, cfg.threshold).assign(model=name) for name, (m, _t) in models.items()]
    return pd.concat(frames, ignore_index=True)


def embedding_quality(cfg: Config, models: ModelDict) -> pd.DataFrame:
    """MiniLM sentence-embedding drift per arm: cosine to FP16 and nearest-neighbour agreement."""
    from artifact.nestedfp.quality import embedding_arms, wiki_sentences

    name = "all-MiniLM-L6-v2"
    model, tok = models[name]
    sents = wiki_sentences(cfg.n_sentences, seed=cfg.seed)
    enc = dict(tok(sents, padding=True, truncation=True, max_length=128, return_tensors="pt"))
    return embedding_arms(model, enc, cfg.arms, cfg.threshold).assign(model=name)


def lm_perplexity(cfg: Config, models: ModelDict) -> pd.DataFrame:
    """SmolLM2 perplexity per arm on ``cfg.lm_tokens`` held-out Wikipedia tokens (empty if 0)."""
    from artifact.nestedfp.quality import heldout_text, perplexity_arms

    causal = [(n, m, t) for n, (m, t) in models.items() if _is_causal(m)]
    if cfg.lm_tokens == 0 or not causal:
        return pd.DataFrame(columns=["model", "arm", "ppl", "ppl_rel_to_fp16_pct"])
    frames = []
    for name, model, tok in causal:
        ids = tok(heldout_text(8 * cfg.lm_tokens), return_tensors="pt").input_ids[0]  # (T,)
        if ids.numel() < cfg.lm_tokens:
            raise ValueError(f"held-out text gives {ids.numel()} tokens < lm_tokens={cfg.lm_tokens}")
        df = perplexity_arms(model, ids[: cfg.lm_tokens], cfg.lm_ctx, cfg.arms, cfg.threshold)
        frames.append(df.assign(model=name))
    return pd.concat(frames, ignore_index=True)


LLAMA31_8B_LINEARS = {  # (N, K) per decoder layer after vLLM fusion, papers/nestedfp.md §1.6
    "qkv_proj": (6144, 4096),
    "o_proj": (4096, 4096),
    "gate_up_proj": (28672, 4096),
    "down_proj": (4096, 14336),
}
LLAMA31_8B_OTHER = 2 * 128256 * 4096 + 32 * 2 * 4096 + 4096  # embed + untied lm_head + norms (FP16 in every scheme)


def _storage_bytes(model: nn.Module) -> int:
    """Bytes as served: floating tensors at 2 B (FP16), uint8 planes at 1 B; integer index buffers ignored."""
    total = 0
    seen: set[int] = set()
    for t in list(model.parameters()) + list(model.buffers()):
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.is_floating_point():
            total += 2 * t.numel()
        elif t.dtype == torch.uint8:
            total += t.numel()
    return total


def memory_accounting(cfg: Config, models: ModelDict) -> pd.DataFrame:
    """Weight memory to serve both precisions: FP16 only, FP16 + FP8 co-deployed, NestedFP (§2.4).

    Real models: bytes counted on the actual tensors after :func:`linear.convert` (the FP16 copy of
    each converted layer is gone). Co-deployment adds an FP8 copy (1 B/param + one fp32 scale per
    output channel) of every non-skipped Linear. Llama-3.1-8B: analytic from its layer shapes,
    assuming all 128 layers convert (the authors' log).
    """
    from artifact.nestedfp.linear import convert

    rows = []
    for name, (model, _tok) in models.items():
        fp16 = _storage_bytes(model)
        conv = copy.deepcopy(model)
        rep = convert(conv, threshold=cfg.threshold)
        nested = _storage_bytes(conv)
        cand = rep.converted + rep.fallbacks
        fp8_copy = sum(r.in_features * r.out_features + 4 * r.out_features for r in cand)
        lin_params = sum(r.in_features * r.out_features for r in cand)
        rows += _memory_rows(name, "measured on tensors", fp16, fp16 + fp8_copy, nested, lin_params)
    lin = 32 * sum(n * k for n, k in LLAMA31_8B_LINEARS.values())
    fp16 = 2 * (lin + LLAMA31_8B_OTHER)
    fp8_copy = lin + 4 * 32 * sum(n for n, _ in LLAMA31_8B_LINEARS.values())
    rows += _memory_rows("Llama-3.1-8B", "analytic (layer shapes)", fp16, fp16 + fp8_copy, fp16, lin)
    return pd.DataFrame(rows)


def _memory_rows(model: str, how: str, fp16: int, codeploy: int, nested: int, lin_params: int) -> list[dict]:
    out = []
    for scheme, b, serves in (
        ("FP16 only", fp16, "fp16"),
        ("FP16 + FP8 co-deployed", codeploy, "fp16+fp8"),
        ("NestedFP", nested, "fp16+fp8"),
    ):
        out.append(
            dict(
                model=model,
                how=how,
                scheme=scheme,
                serves=serves,
                weight_bytes=b,
                extra_bytes_vs_fp16=b - fp16,
                ratio_vs_fp16=b / fp16,
                linear_params=lin_params,
                bytes_per_linear_param=2 + (b - fp16) / lin_params if lin_params else float("nan"),
            )
        )
    return out


# =============================================================================================
# NestedFP II: kernels and serving (appended by the NestedFP II issue)
# =============================================================================================
