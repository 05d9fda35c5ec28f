"""Scale presets for the A3 reproduction (``papers/a3.md`` §5; DESIGN.md "Three scales")."""
from __future__ import annotations

from dataclasses import dataclass

from artifact import scales

__all__ = ["Config", "PRESETS", "M_FRACTIONS", "T_PERCENTS", "CONSERVATIVE", "AGGRESSIVE"]

M_FRACTIONS = (1.0, 0.75, 0.5, 0.25, 0.125)  # Fig. 11: M = n, 3/4 n, 1/2 n, 1/4 n, 1/8 n
T_PERCENTS = (1.0, 2.5, 5.0, 10.0, 20.0)  # Fig. 12
CONSERVATIVE = (0.5, 5.0)  # (M fraction, T %), §VI-B
AGGRESSIVE = (0.125, 10.0)


@dataclass(frozen=True)
class Config:
    scale: str = "quick"
    seed: int = 0
    tasks: tuple[int, ...] = (1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 20)  # bAbI-style tasks
    n_train: int = 1000  # questions per task (bAbI "1k")
    n_test: int = 1000
    epochs: int = 25  # MemN2N training epochs per task
    lr: float = 0.01  # Adam learning rate (halved every 15 epochs)
    emb_dim: int = 64  # d = 64 as in the paper
    hops: int = 3
    minilm_sentences: int = 300  # real sentences from gensim's Wikipedia excerpt
    minilm_max_tokens: int = 32  # every input is cut to exactly this many tokens (n of each head)
    fixed_int_bits: int = 4  # i = f = 4 (§III-B)
    fixed_frac_bits: int = 4
    cpu_timing_reps: int = 2000  # exact single-query attention timings per n
    cpu_power_w: float = 115.0  # power charged to this machine's CPU (assumed: the paper's Xeon TDP)
    bench_queries: int = 1000
    threads: int = 1  # torch intra-op threads inside experiments (the machine is shared)

    @classmethod
    def for_scale(cls, scale: str, **overrides) -> "Config":
        return scales.for_scale(cls, PRESETS, scale, **overrides)


PRESETS: dict[str, dict] = {
    "smoke": dict(tasks=(1, 15), n_train=200, n_test=200, epochs=6, lr=0.02, minilm_sentences=6,
                  minilm_max_tokens=12, cpu_timing_reps=200, bench_queries=50),
    "quick": dict(tasks=(1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 15), epochs=20, minilm_sentences=200,
                  minilm_max_tokens=32),
    "full": dict(epochs=60, minilm_sentences=1000, minilm_max_tokens=48, cpu_timing_reps=20000),
}
