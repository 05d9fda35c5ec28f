"""Precision policies for the serving simulator (``papers/nestedfp.md`` §1.9, §2.4, §5.1 item 4).

A policy names the *deployment* (which weights are resident: ``fp16`` 2 B/param, ``fp8``
1 B/param, ``nestedfp`` 2 B/param holding both modes, ``codeploy`` FP16 + FP8 copies, 3 B/param)
and picks a latency mode for every iteration from :class:`IterationInfo`. Switching is free in
NestedFP (both modes read the resident planes), so a per-iteration choice costs nothing.

* :func:`fp16_only`, :func:`fp8_only`, :func:`nested_fp8_only` — static.
* :func:`nestedfp_dynamic` — the authors' scheduler rule: FP8 iff scheduled tokens > budget // 2.
* :func:`codeploy_dynamic` — the same rule over two resident models (cuBLAS FP16 / scaled_mm FP8).
* :class:`SloFeedbackPolicy` — ours: FP8 when the predicted TTFT or TPOT slack falls below
  ``margin`` of the SLO, FP16 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "IterationInfo",
    "Policy",
    "StaticPolicy",
    "TokenBudgetPolicy",
    "SloFeedbackPolicy",
    "fp16_only",
    "fp8_only",
    "nested_fp8_only",
    "nestedfp_dynamic",
    "codeploy_dynamic",
]


class IterationInfo:
    """What the scheduler knows when it picks the mode of one iteration (reused, filled in place).

    ``n_tokens`` scheduled tokens, ``budget`` the token budget, ``oldest_wait_s`` how long the oldest
    request without a first token has waited, ``backlog_tokens`` prefill tokens not yet computed,
    ``t_fp16_s`` the predicted latency of this iteration in the policy's FP16 mode, ``t_full_fp16_s``
    that of a full-budget FP16 iteration.
    """

    __slots__ = ("n_tokens", "budget", "oldest_wait_s", "backlog_tokens", "t_fp16_s", "t_full_fp16_s")

    def __init__(self) -> None:
        self.n_tokens = 0
        self.budget = 1
        self.oldest_wait_s = 0.0
        self.backlog_tokens = 0
        self.t_fp16_s = 0.0
        self.t_full_fp16_s = 0.0


class Policy:
    """Base. Subclasses provide ``name``, ``deployment``, ``low_mode`` / ``high_mode`` (the modes
    it may pick) and :meth:`choose`."""

    needs_prediction: ClassVar[bool] = False  # True: the simulator fills t_fp16_s / backlog fields

    def choose(self, info: IterationInfo) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class StaticPolicy(Policy):
    name: str
    deployment: str
    mode: str

    @property
    def low_mode(self) -> str:
        return self.mode

    @property
    def high_mode(self) -> str:
        return self.mode

    def choose(self, info: IterationInfo) -> str:
        return self.mode


@dataclass(frozen=True)
class TokenBudgetPolicy(Policy):
    """FP8 iff ``n_tokens > budget // 2`` (the repository's scheduler.py rule, no hysteresis)."""

    name: str
    deployment: str
    low_mode: str
    high_mode: str

    def choose(self, info: IterationInfo) -> str:
        return self.high_mode if info.n_tokens > info.budget // 2 else self.low_mode


@dataclass(frozen=True)
class SloFeedbackPolicy(Policy):
    """FP8 when predicted slack is short (ours). Predictions, FP16 mode:

    * TTFT of the oldest waiting request ~ ``oldest_wait + ceil(backlog / budget) * t_full_fp16``;
    * TPOT ~ this iteration's FP16 latency.

    FP8 if either exceeds ``margin`` x its SLO; otherwise FP16.
    """

    ttft_slo_s: float
    tpot_slo_s: float
    margin: float = 0.5
    name: str = "slo_feedback"
    deployment: str = "nestedfp"
    low_mode: str = "nested_fp16"
    high_mode: str = "nested_fp8"
    needs_prediction: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.ttft_slo_s <= 0 or self.tpot_slo_s <= 0 or not 0 < self.margin <= 1:
            raise ValueError("SloFeedbackPolicy needs positive SLOs and 0 < margin <= 1")

    def choose(self, info: IterationInfo) -> str:
        if info.t_fp16_s > self.margin * self.tpot_slo_s:
            return self.high_mode
        iters_ahead = -(-info.backlog_tokens // max(info.budget, 1))
        if info.oldest_wait_s + iters_ahead * info.t_full_fp16_s > self.margin * self.ttft_slo_s:
            return self.high_mode
        return self.low_mode


def fp16_only() -> StaticPolicy:
    return StaticPolicy("fp16_only", "fp16", "fp16")


def fp8_only() -> StaticPolicy:
    return StaticPolicy("fp8_only", "fp8", "fp8")


def nested_fp8_only() -> StaticPolicy:
    return StaticPolicy("nested_fp8_only", "nestedfp", "nested_fp8")


def nestedfp_dynamic() -> TokenBudgetPolicy:
    return TokenBudgetPolicy("nestedfp_dynamic", "nestedfp", "nested_fp16", "nested_fp8")


def codeploy_dynamic() -> TokenBudgetPolicy:
    return TokenBudgetPolicy("codeploy_dynamic", "codeploy", "fp16", "fp8")
