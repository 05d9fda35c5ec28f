"""End-to-End Memory Network (Sukhbaatar et al., NeurIPS 2015) for the bAbI-style tasks, with a
pluggable attention so that A3 can replace every hop's softmax at inference (Ham et al., HPCA 2020,
§VI-A: MemN2N on bAbI, d = 64; ``papers/a3.md`` §5.2 item 3).

Model: 3 hops, embedding 64, position encoding (PE) of the words of each sentence, learned temporal
encoding (T_A, T_C), adjacent weight tying (A_{k+1} = C_k, B = A_1, W^T = C_K). Trained with Adam
on the CPU with exact attention; approximation is applied only at inference, as in the paper.

Attention hook: ``attend(keys, values, u) -> o`` with keys/values (B, n, d) and u (B, d); it is
called once per hop. Evaluation groups test questions by memory size n, so no padding enters A3.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .babi import MAX_MEMORY, Example, tokenize

__all__ = ["Vocab", "EncodedTask", "encode", "MemN2N", "train_memn2n", "Attend", "exact_attend", "evaluate"]

Attend = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Vocab:
    words: list[str]

    @classmethod
    def build(cls, examples: Sequence[Example]) -> "Vocab":
        ws = set()
        for e in examples:
            for s in (*e.story, e.question):
                ws.update(tokenize(s))
            ws.add(e.answer)
        return cls(["<pad>"] + sorted(ws))

    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}


@dataclass
class EncodedTask:
    stories: list[np.ndarray]  # per example (n, J) int64 word ids, oldest first
    queries: np.ndarray  # (N, J)
    answers: np.ndarray  # (N,)
    sentence_len: int


def encode(examples: Sequence[Example], vocab: Vocab, sentence_len: int) -> EncodedTask:
    idx = vocab.index()
    def sent(s: str) -> np.ndarray:
        ids = [idx[w] for w in tokenize(s)][:sentence_len]
        return np.pad(np.array(ids, dtype=np.int64), (0, sentence_len - len(ids)))
    stories = [np.stack([sent(s) for s in e.story]) for e in examples]
    return EncodedTask(stories, np.stack([sent(e.question) for e in examples]),
                       np.array([idx[e.answer] for e in examples], dtype=np.int64), sentence_len)


def position_encoding(J: int, d: int) -> torch.Tensor:
    """l_kj = (1 - j/J) - (k/d)(1 - 2j/J), 1-based j (word) and k (dimension); (J, d)."""
    j = torch.arange(1, J + 1, dtype=torch.float32)[:, None]
    k = torch.arange(1, d + 1, dtype=torch.float32)[None, :]
    return (1 - j / J) - (k / d) * (1 - 2 * j / J)


def exact_attend(keys: torch.Tensor, values: torch.Tensor, u: torch.Tensor, mask: torch.Tensor | None = None):
    s = torch.einsum("bnd,bd->bn", keys, u)  # (B, n)
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    return torch.einsum("bn,bnd->bd", torch.softmax(s, dim=-1), values)


class MemN2N(nn.Module):
    def __init__(self, vocab_size: int, sentence_len: int, dim: int = 64, hops: int = 3, max_memory: int = MAX_MEMORY):
        super().__init__()
        self.hops = hops
        self.emb = nn.ModuleList(nn.Embedding(vocab_size, dim, padding_idx=0) for _ in range(hops + 1))
        self.temporal = nn.ParameterList(nn.Parameter(torch.randn(max_memory, dim) * 0.1) for _ in range(hops + 1))
        for e in self.emb:
            nn.init.normal_(e.weight, std=0.1)
        self.register_buffer("pe", position_encoding(sentence_len, dim))

    def _memories(self, k: int, stories: torch.Tensor, n_mem: torch.Tensor) -> torch.Tensor:
        m = (self.emb[k](stories) * self.pe).sum(2)  # (B, n, d)
        n = stories.shape[1]
        age = (n_mem[:, None] - 1 - torch.arange(n)[None, :]).clamp(min=0)  # most recent statement = 0
        return m + self.temporal[k][age]

    def forward(self, stories: torch.Tensor, n_mem: torch.Tensor, queries: torch.Tensor,
                attend: Attend | None = None) -> torch.Tensor:
        """stories (B, n, J), n_mem (B,) real statements (padding after them), queries (B, J) -> logits (B, V)."""
        mask = torch.arange(stories.shape[1])[None, :] < n_mem[:, None]  # (B, n)
        u = (self.emb[0](queries) * self.pe).sum(1)  # (B, d)
        for k in range(self.hops):
            keys = self._memories(k, stories, n_mem)
            values = self._memories(k + 1, stories, n_mem)
            o = exact_attend(keys, values, u, mask) if attend is None else attend(keys, values, u)
            u = u + o
        return u @ self.emb[self.hops].weight.T


def _batch(task: EncodedTask, idx: np.ndarray):
    n = max(task.stories[i].shape[0] for i in idx)
    st = np.zeros((len(idx), n, task.sentence_len), dtype=np.int64)
    for r, i in enumerate(idx):
        st[r, : task.stories[i].shape[0]] = task.stories[i]
    n_mem = np.array([task.stories[i].shape[0] for i in idx])
    return torch.from_numpy(st), torch.from_numpy(n_mem), torch.from_numpy(task.queries[idx]), torch.from_numpy(task.answers[idx])


def train_memn2n(train: EncodedTask, vocab_size: int, *, dim: int = 64, hops: int = 3, epochs: int = 40,
                 batch_size: int = 32, lr: float = 5e-3, seed: int = 0, desc: str = "MemN2N") -> MemN2N:
    """Adam, gradient-norm clip 40, learning rate halved every 15 epochs; exact attention."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = MemN2N(vocab_size, train.sentence_len, dim, hops)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=15, gamma=0.5)
    N = len(train.answers)
    for _ in tqdm(range(epochs), desc=desc, leave=False):
        perm = rng.permutation(N)
        for b in range(0, N, batch_size):
            st, nm, q, a = _batch(train, perm[b:b + batch_size])
            loss = nn.functional.cross_entropy(model(st, nm, q), a)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 40.0)
            opt.step()
        sched.step()
    return model.eval()


@torch.no_grad()
def evaluate(model: MemN2N, test: EncodedTask, attend: Attend | None = None) -> np.ndarray:
    """Per-question correctness (N,) bool. Questions are grouped by memory size n (no padding)."""
    sizes = np.array([s.shape[0] for s in test.stories])
    correct = np.zeros(len(sizes), dtype=bool)
    for n in np.unique(sizes):
        idx = np.flatnonzero(sizes == n)
        st, nm, q, a = _batch(test, idx)
        pred = model(st, nm, q, attend).argmax(-1)
        correct[idx] = (pred == a).numpy()
    return correct
