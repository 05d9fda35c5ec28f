"""Scale presets shared by every paper (DESIGN.md, "Three scales").

``smoke`` runs in CI (well under a minute of compute per notebook), ``quick`` is the default of
``artifact reproduce`` (minutes per notebook on a 2-core laptop, no GPU), ``full`` is paper-like
(hours and/or a GPU). A scale is a preset of a frozen dataclass ``Config``, never a fork of the code.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, TypeVar

SCALES = ("smoke", "quick", "full")
DEFAULT_SCALE = "quick"

T = TypeVar("T")


def check_scale(scale: str) -> str:
    """Return ``scale`` if it is one of :data:`SCALES`, else raise ``ValueError`` listing them."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of: {', '.join(SCALES)}")
    return scale


def for_scale(cls: type[T], presets: Mapping[str, Mapping[str, Any]], scale: str, **overrides: Any) -> T:
    """Build the frozen dataclass ``cls`` from ``presets[scale]`` plus non-``None`` overrides.

    ``None`` overrides are ignored so that a papermill ``parameters`` cell can default every
    optional knob to ``None``. Unknown names raise ``TypeError`` naming the valid fields.
    """
    check_scale(scale)
    if scale not in presets:
        raise ValueError(f"{cls.__name__} has no preset for scale {scale!r}; presets: {', '.join(presets)}")
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = sorted(set(given) - fields)
    if unknown:
        raise TypeError(
            f"{cls.__name__} has no field(s) {', '.join(unknown)}; valid fields: {', '.join(sorted(fields))}"
        )
    kwargs = {**presets[scale], **given}
    if "scale" in fields:
        kwargs["scale"] = scale
    return cls(**kwargs)
