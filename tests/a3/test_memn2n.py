"""MemN2N: position encoding, shapes, attention hook equivalence, and that it learns task 1."""
import numpy as np
import torch

from artifact.a3 import Config
from artifact.a3.babi import generate_task, tokenize
from artifact.a3.memn2n import MemN2N, Vocab, encode, evaluate, position_encoding, train_memn2n
from artifact.a3.workloads import OpRecorder, Setting, make_attend, torch_threads


def _task(n_train=200, n_test=100):
    tr, te = generate_task(1, n_train, 0), generate_task(1, n_test, 1)
    v = Vocab.build(tr + te)
    J = max(len(tokenize(s)) for e in tr + te for s in (*e.story, e.question))
    return encode(tr, v, J), encode(te, v, J), len(v.words)


def test_position_encoding_formula():
    pe = position_encoding(4, 8)
    j, k, J, d = 2, 3, 4, 8
    assert torch.isclose(pe[j - 1, k - 1], torch.tensor((1 - j / J) - (k / d) * (1 - 2 * j / J)))


def test_trains_on_task1_and_a3_hook_with_no_approximation_matches():
    torch.manual_seed(0)
    etr, ete, V = _task(n_train=300)
    with torch_threads(1):
        model = train_memn2n(etr, V, dim=32, epochs=12, seed=0, lr=0.02)
    exact = evaluate(model, ete)
    assert exact.mean() > 0.6  # chance is 1/6 (6 locations)
    cfg = Config.for_scale("smoke")
    hook = evaluate(model, ete, make_attend(Setting("exact"), cfg, None))
    assert (hook == exact).mean() >= 0.99
    rec = OpRecorder(2)
    off = evaluate(model, ete, make_attend(Setting("no-approx", m_frac=None, T=1e-300), cfg, rec))
    assert (off == exact).mean() >= 0.99  # T -> 0 keeps every row
    ops = rec.frame()
    assert len(ops) == 3 * len(exact)  # one op per hop per question
    assert (ops.K == ops.n).all()
    rec2 = OpRecorder(2)
    evaluate(model, ete, make_attend(Setting("cons", 0.5, 5.0), cfg, rec2))
    o2 = rec2.frame()
    assert (o2.C <= o2.n).all() and (o2.K <= o2.C).all() and (o2.K >= 1).all()
    assert ((o2.recall >= 0) & (o2.recall <= 1)).all()


def test_forward_shapes():
    m = MemN2N(vocab_size=20, sentence_len=5, dim=16, hops=3)
    st = torch.randint(1, 20, (4, 7, 5))
    logits = m(st, torch.tensor([7, 3, 1, 7]), torch.randint(1, 20, (4, 5)))
    assert logits.shape == (4, 20)
