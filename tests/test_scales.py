from dataclasses import dataclass

import pytest

from artifact import scales


@dataclass(frozen=True)
class Cfg:
    scale: str = "quick"
    seed: int = 0
    n: int = 1


PRESETS = {"smoke": {"n": 2}, "quick": {"n": 20}, "full": {"n": 2000}}


def test_for_scale_presets_and_overrides():
    assert scales.for_scale(Cfg, PRESETS, "smoke") == Cfg("smoke", 0, 2)
    assert scales.for_scale(Cfg, PRESETS, "full", seed=3, n=None) == Cfg("full", 3, 2000)


def test_errors_name_the_choices():
    with pytest.raises(ValueError, match="smoke, quick, full"):
        scales.for_scale(Cfg, PRESETS, "medium")
    with pytest.raises(TypeError, match="valid fields: n, scale, seed"):
        scales.for_scale(Cfg, PRESETS, "smoke", m=1)
