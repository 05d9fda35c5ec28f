"""Kick-the-tires check for NestedFP: the format and one NestedLinear, on a tiny input, in < 5 s."""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn


@torch.no_grad()
def sanity_check() -> pd.DataFrame:
    """Rows (check, value, expected, ok): exhaustive split/merge, FP8 view, FP16/FP8 NestedLinear."""
    from artifact.nestedfp.format import bits_to_fp16, fp8_weight, merge, representable, split
    from artifact.nestedfp.linear import convert, nested_fp8_linear_reference, precision

    rows = []
    w = bits_to_fp16(torch.arange(65536, dtype=torch.int32))  # every FP16 pattern
    ok = representable(w)
    hi, lo = split(w[ok])
    mism = int((merge(hi, lo).view(torch.int16) != w[ok].view(torch.int16)).sum())
    rows.append(("FP16 patterns accepted by split", int(ok.sum()), 32512, int(ok.sum()) == 32512))
    rows.append(("split/merge mismatches (accepted set)", mism, 0, mism == 0))
    ref = (w[ok].float() * 256).clamp(-448, 448).to(torch.float8_e4m3fn).float() / 256
    bad_view = int((fp8_weight(hi) != ref).sum())
    rows.append(("FP8 view != RNE E4M3(w*256)/256", bad_view, 0, bad_view == 0))

    g = torch.Generator().manual_seed(0)
    lin = nn.Linear(64, 32, bias=False)
    with torch.no_grad():
        lin.weight.copy_((torch.randn(32, 64, generator=g) * 0.05).half().float())
    model = nn.Sequential(lin)
    x = torch.randn(8, 64, generator=g)
    y_ref = model(x)
    report = convert(model)
    y16 = model(x)
    d16 = float((y16 - y_ref).abs().max())
    rows.append(("NestedLinear FP16 mode max |diff| vs nn.Linear", d16, 0.0, d16 == 0.0))
    with precision(model, "fp8"):
        y8 = model(x)
    d8 = float((y8 - nested_fp8_linear_reference(x, model[0].hi)).abs().max())
    rel = float((y8 - y_ref).norm() / y_ref.norm())
    rows.append(("NestedLinear FP8 mode vs emulation max |diff|", d8, 0.0, d8 == 0.0))
    rows.append(("NestedLinear FP8 relative error vs FP16 (< 0.05)", rel, 0.05, rel < 0.05))
    rows.append(("layers converted", len(report.converted), 1, len(report.converted) == 1))
    return pd.DataFrame(rows, columns=["check", "value", "expected", "ok"])
