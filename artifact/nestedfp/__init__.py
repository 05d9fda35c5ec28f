"""NestedFP: dual-precision (FP16 / FP8) weights from one 16-bit copy.

Reproduction of Haeun Lee, Omin Kwon, Yeonhong Park, Jae W. Lee, "NestedFP: High-Performance,
Memory-Efficient Dual-Precision Floating Point Support for LLMs", NeurIPS 2025 (arXiv 2506.02024).
Spec: ``papers/nestedfp.md``. Modules: ``format`` (split/merge/fp8 view), ``linear``
(``NestedLinear``, ``convert``, ``set_precision``), ``quality`` (FP8 quality arms on real models),
``experiments`` / ``plots``; ``kernels`` (Triton GEMMs) and ``serving`` are imported on demand only.
"""

from artifact.nestedfp.format import fp8_view, fp8_weight, merge, split

__all__ = ["split", "merge", "fp8_view", "fp8_weight"]
