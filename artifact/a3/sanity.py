"""Kick-the-tires check for A3: the slides' worked example, and the batched version against the
heap reference on one small random key matrix (Ham et al., HPCA 2020, §IV-C; ``papers/a3.md`` §1.4)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from . import algorithm as ref
from .batched import a3_attention_batched
from .hardware import table_i


def sanity_check(seed: int = 0) -> pd.DataFrame:
    """A few rows (check, value, expected, ok); runs in well under a second on a CPU."""
    rows = []
    q = np.array([0.8, -0.5, 0.6])
    K = np.array([[-0.6, 0.1, 0.4], [0.1, 0.4, -0.9], [0.9, -0.6, 0.3]])
    tr = ref.greedy_search(ref.preprocess(K), q, 3, min_skip=False)
    rows.append(dict(check="slides example greedy scores", value=str(np.round(tr.scores, 2).tolist()),
                     expected="[-0.24, -0.74, 1.02]", ok=bool(np.allclose(tr.scores, [-0.24, -0.74, 1.02]))))
    cand = ref.candidate_selection(K, q, 3, min_skip=False)
    rows.append(dict(check="slides example candidates", value=str(cand.tolist()), expected="[2]",
                     ok=cand.tolist() == [2]))
    rng = np.random.default_rng(seed)
    n, d, L = 40, 16, 8
    Kr, Vr, qr = rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=(L, d)) / 2
    res = a3_attention_batched(torch.tensor(Kr)[None], torch.tensor(Vr)[None], torch.tensor(qr)[None], n // 2, 5.0)
    pre = ref.preprocess(Kr)
    same = 0
    err = 0.0
    for l in range(L):
        r = ref.a3_attention(Kr, Vr, qr[l], n // 2, 5.0, pre=pre)
        same += int(np.array_equal(np.flatnonzero(res.candidates[0, l].numpy()), r.candidates)
                    and np.array_equal(np.flatnonzero(res.kept[0, l].numpy()), r.kept))
        err = max(err, float(np.abs(res.output[0, l].numpy() - r.output).max()))
    rows.append(dict(check="batched == heap reference (candidate and kept sets)", value=f"{same}/{L}",
                     expected=f"{L}/{L}", ok=same == L))
    rows.append(dict(check="batched vs reference output max |diff|", value=f"{err:.1e}", expected="<= 1e-12",
                     ok=err <= 1e-12))
    area = float(table_i().set_index("module").loc["A3 total (sum)", "area_mm2"])
    rows.append(dict(check="Table I area sum (mm^2)", value=f"{area:.3f}", expected="2.082", ok=abs(area - 2.082) < 1e-9))
    return pd.DataFrame(rows)
