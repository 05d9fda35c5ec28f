"""A3: approximate attention and its accelerator model.

Reproduces Ham et al., "A^3: Accelerating Attention Mechanisms in Neural Networks with
Approximation", HPCA 2020 (arXiv:2002.10941); spec in ``papers/a3.md``.

Modules: :mod:`~artifact.a3.algorithm` (heap reference: preprocessing, greedy candidate selection,
post-scoring), :mod:`~artifact.a3.batched` (vectorized torch version, identical candidate sets),
:mod:`~artifact.a3.hardware` (cycle/energy model from Table I), :mod:`~artifact.a3.babi` (task
generator), :mod:`~artifact.a3.memn2n` (End-to-End Memory Network), :mod:`~artifact.a3.workloads`
(A3 inside MemN2N hops and all-MiniLM-L6-v2 heads), :mod:`~artifact.a3.experiments` (one function
per figure), :mod:`~artifact.a3.plots`, :mod:`~artifact.a3.sanity`, :mod:`~artifact.a3.bench`.
Importing this package does not import seaborn, matplotlib, papermill or transformers.
"""
from .config import Config
from .sanity import sanity_check

__all__ = ["Config", "sanity_check"]
