"""NestedFP: dual-precision (FP16 / FP8) weights from one 16-bit copy.

Reproduction of Haeun Lee, Omin Kwon, Yeonhong Park, Jae W. Lee, "NestedFP: High-Performance,
Memory-Efficient Dual-Precision Floating Point Support for LLMs", NeurIPS 2025 (arXiv 2506.02024).
Spec: ``papers/nestedfp.md``. Modules: ``format`` (split/merge/fp8 view), ``linear``
(``NestedLinear``, ``convert``, ``set_precision``), ``quality`` (FP8 quality arms on real models),
``experiments`` / ``plots``; ``kernels`` (Triton GEMMs) and ``serving`` are imported on demand only.

Example::

    >>> from artifact.nestedfp import Config, convert, set_precision
    >>> report = convert(model)            # nn.Linear -> NestedLinear (2 bytes/param), lm_head kept
    >>> set_precision(model, "fp8")        # same planes, FP8 GEMMs; "fp16" is bit-exact
"""

from artifact.nestedfp.config import Config
from artifact.nestedfp.format import fp8_view, fp8_weight, merge, split
from artifact.nestedfp.linear import ConversionReport, NestedLinear, convert, precision, set_precision
from artifact.nestedfp.sanity import sanity_check

__all__ = [
    "Config",
    "split",
    "merge",
    "fp8_view",
    "fp8_weight",
    "NestedLinear",
    "ConversionReport",
    "convert",
    "set_precision",
    "precision",
    "sanity_check",
]
