"""Shared test setup: Triton in interpreter mode on CPU machines, hypothesis profile, temp results."""
from __future__ import annotations

import os

from artifact.gpu import configure_triton

configure_triton()  # before any test module imports triton

from hypothesis import settings  # noqa: E402

settings.register_profile("ci", deadline=None, max_examples=50, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
