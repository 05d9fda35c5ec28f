"""artifact: from-scratch reproductions of four SNU ARC-lab systems papers.

Subpackages (one per paper, each with the same shape ``Config -> system -> experiments -> plots``):

* :mod:`artifact.nestedfp` -- NestedFP (NeurIPS'25), dual-precision FP16/FP8 weights.
* :mod:`artifact.ginex`    -- Ginex (VLDB'22), SSD-based GNN training with a Belady cache.
* :mod:`artifact.l3`       -- L3 (ECCV'22), a lossless image format for accelerator decoding.
* :mod:`artifact.a3`       -- A3 (HPCA'20), approximate attention and its accelerator model.

Shared machinery: :mod:`artifact.scales`, :mod:`artifact.paths`, :mod:`artifact.io`,
:mod:`artifact.claims`, :mod:`artifact.envinfo`, :mod:`artifact.plotting`, :mod:`artifact.runner`
and the ``artifact`` command line (:mod:`artifact.cli`). The package imports without papermill or
Jupyter, so GPU scripts run on machines that only have torch/triton/numpy/pandas.
"""

__version__ = "0.1.0"

PAPERS = ("nestedfp", "ginex", "l3", "a3")
