"""L3: an accelerator-friendly lossless image format.

Reproduction of Jonghyun Bae, Woohyeon Baek, Tae Jun Ham, Jae W. Lee, "L3: Accelerator-Friendly
Lossless Image Format for High-Resolution, High-Throughput DNN Training", ECCV 2022
(arXiv 2208.08711). Spec: ``papers/l3.md``. The format follows the authors' prototype
(SNU-ARC/L3 @3b8e52c) bit for bit, with its six known bugs repaired and sizes that are not
multiples of the patch supported by edge padding (documented in :mod:`artifact.l3.header`).

Modules: ``header`` (container parse, prefix sums, row walk: the host-side part), ``codec``
(numpy encoder and reference decoder), ``reference`` (scalar transcription used as the test
oracle), ``decode_torch`` (batched decoder, CPU/CUDA), ``decode_triton`` (GPU kernel; imported on
demand), ``baselines`` (imagecodecs peers), ``images`` (offline photos), ``pipeline`` (data-prep
model), ``experiments`` / ``plots``, ``bench`` and ``sanity``.

Example::

    >>> import numpy as np, artifact.l3 as l3
    >>> img = np.arange(48 * 40 * 3, dtype=np.uint8).reshape(48, 40, 3)
    >>> bool((l3.decode(l3.encode(img, patch=16)) == img).all())
    True
"""

from artifact.l3.codec import decode, default_patch, encode
from artifact.l3.config import Config
from artifact.l3.header import DEFAULT_MAX_PIXELS, L3FormatError, parse_header
from artifact.l3.sanity import sanity_check

__all__ = ["encode", "decode", "default_patch", "L3FormatError", "parse_header", "DEFAULT_MAX_PIXELS",
           "Config", "sanity_check"]
