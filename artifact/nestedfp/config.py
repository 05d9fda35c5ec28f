"""Scale presets for the NestedFP reproduction (papers/nestedfp.md §5).

NestedFP I (format, NestedLinear, FP8 quality) uses the fields in the first block; the NestedFP II
issue (kernels, serving) may add its own fields below, each with a default.
"""

from __future__ import annotations

from dataclasses import dataclass

from artifact import scales

#: Every quality arm, in display order (quality.py implements each).
ARMS = (
    "fp16",
    "nestedfp8_per_token",
    "nestedfp8_per_tensor",
    "std_fp8",
    "std_fp8_same_layers",
    "nestedfp8_no_fallback",
    "e4m3_cast",
    "e5m2_cast",
)

PRESETS: dict[str, dict] = {
    # smoke: format tables, MiniLM on a few sentences, memory; no causal-LM perplexity (loading
    # SmolLM2's GGUF alone takes 20-50 s on 2 cores).
    "smoke": dict(lm_tokens=0, lm_ctx=256, n_sentences=16, gpt_steps=0),
    # quick: SmolLM2-135M perplexity on 2,048 held-out tokens per arm, MiniLM on 200 sentences.
    "quick": dict(lm_tokens=2048, lm_ctx=512, n_sentences=200, gpt_steps=0),
    # full: 32k tokens per arm at a 2,048-token context (the original's WikiText chunk length), plus
    # a small byte-level GPT trained here (real FP16-cast training weights; ~1-5 min of training).
    "full": dict(lm_tokens=32768, lm_ctx=2048, n_sentences=1000, gpt_steps=3000),
}


@dataclass(frozen=True)
class Config:
    """Sizes of one NestedFP run; build with :meth:`Config.for_scale`."""

    scale: str = "quick"
    seed: int = 0  # sentence sampling; everything else is deterministic
    lm_tokens: int = 2048  # held-out tokens per arm for perplexity (0 = skip the causal-LM study)
    lm_ctx: int = 512  # tokens per perplexity window (non-overlapping)
    n_sentences: int = 200  # sentences for the MiniLM embedding study
    gpt_steps: int = 0  # training steps of the optional byte-level GPT trained here (0 = skip it)
    threshold: float = 1.8192  # per-layer fallback threshold on max |w| (vLLM path; HF prototype: 1.75)
    arms: tuple[str, ...] = ARMS  # quality arms evaluated (see quality.py)

    def __post_init__(self) -> None:
        scales.check_scale(self.scale)
        if self.gpt_steps < 0:
            raise ValueError(f"gpt_steps must be >= 0 (0 skips the small GPT), got {self.gpt_steps}")
        if self.lm_tokens < 0 or self.lm_ctx < 2 or self.n_sentences < 2:
            raise ValueError(
                f"need lm_tokens >= 0, lm_ctx >= 2, n_sentences >= 2; got {self.lm_tokens}, {self.lm_ctx}, {self.n_sentences}"
            )
        if 0 < self.lm_tokens < self.lm_ctx:
            raise ValueError(f"lm_tokens ({self.lm_tokens}) must be 0 or at least lm_ctx ({self.lm_ctx})")
        if not 0 < self.threshold < 1.875:
            raise ValueError(f"threshold must be in (0, 1.875) for an exact split, got {self.threshold}")
        from artifact.nestedfp.quality import ARMS  # local import: quality pulls in pandas/tqdm

        unknown = [a for a in self.arms if a not in ARMS]
        if unknown:
            raise ValueError(f"unknown arms {unknown}; valid arms: {', '.join(ARMS)}")

    @classmethod
    def for_scale(cls, scale: str, **overrides) -> "Config":
        if isinstance(overrides.get("arms"), list):
            overrides["arms"] = tuple(overrides["arms"])
        return scales.for_scale(cls, PRESETS, scale, **overrides)
