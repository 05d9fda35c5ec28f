"""Discrete-event continuous-batching simulator for NestedFP precision switching.

``papers/nestedfp.md`` §1.9 (switching rule), §3.5 (Azure trace, SLO tooling), §5.1 item 4.
A vLLM-V1-like scheduler, one GPU, one model:

* every iteration has a token budget (``max_num_batched_tokens``) and a sequence cap
  (``max_num_seqs``); running requests are scheduled first (each decoding request 1 token,
  prefilling requests a chunk of what is left: **chunked prefill**), then waiting requests FCFS;
* KV-cache capacity (tokens) is the GPU memory left after the deployment's weights
  (:func:`serving_latency.kv_capacity_tokens`); new requests are admitted only while a 1 %
  watermark stays free; when decoding requests outgrow it the most recently admitted request is
  preempted and later recomputed (vLLM's recompute preemption);
* a request whose prompt + output exceeds the capacity or ``max_model_len`` is rejected;
* the policy picks the iteration's mode; its latency comes from :class:`LatencyModel`.

Decode progress is tracked by a global iteration counter and a heap of finishing iterations,
so one iteration costs O(1) Python work plus O(events): the 20-minute Azure trace at 1x
(89,617 requests) replays in well under a minute on one core.

Metrics follow the authors' client (§3.5): TTFT, TPOT (mean inter-token latency of a request),
percentiles over the **middle 70 %** of requests by arrival, SLO attainment at k x a light-load
mean. Every number is *modelled*, never measured: label it with ``LatencyModel.source``.

Example::

    >>> from artifact.nestedfp import serving, serving_trace as st, serving_latency as sl, serving_policy as sp
    >>> tr = st.scale_by_time_compression(st.load_azure_trace(), 10).head(60)
    >>> lat = sl.LatencyModel.roofline(sl.MODELS["llama-3.1-8b"])
    >>> res = serving.simulate(tr, sp.nestedfp_dynamic(), lat)
    >>> summary = serving.summarize(res)      # dict: ttft_p90_s, tpot_p90_s, fp8_fraction, ...
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from artifact.nestedfp.serving_latency import FP8_MODES, LatencyModel, kv_capacity_tokens, weight_bytes
from artifact.nestedfp.serving_policy import IterationInfo, Policy
from artifact.nestedfp.serving_trace import Trace

__all__ = ["SchedulerConfig", "SimResult", "simulate", "summarize", "slo_attainment", "middle_mask"]


@dataclass(frozen=True)
class SchedulerConfig:
    """vLLM-like knobs (the paper's server uses ``max_num_batched_tokens = 8192``)."""

    max_num_batched_tokens: int = 8192
    max_num_seqs: int = 256
    max_model_len: int = 32768
    gpu_memory_utilization: float = 0.9
    activation_reserve_gib: float = 4.0  # activations, CUDA graphs, workspaces (assumed)
    kv_watermark: float = 0.01  # vLLM's block-manager watermark: new requests leave this fraction free

    def __post_init__(self) -> None:
        if self.max_num_batched_tokens < 1 or self.max_num_seqs < 1:
            raise ValueError("max_num_batched_tokens and max_num_seqs must be >= 1")
        if not 0 <= self.kv_watermark < 1:
            raise ValueError(f"kv_watermark must be in [0, 1), got {self.kv_watermark}")


@dataclass
class SimResult:
    """Per-request arrays (R,) and per-iteration arrays (I,) of one replay."""

    policy: str
    deployment: str
    latency_source: str
    kv_capacity_tokens: int
    weight_gib: float
    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    first_token_s: np.ndarray  # NaN if never served
    finish_s: np.ndarray  # NaN if never finished
    rejected: np.ndarray  # bool
    preemptions: np.ndarray  # int
    iter_start_s: np.ndarray
    iter_dur_s: np.ndarray
    iter_tokens: np.ndarray
    iter_fp8: np.ndarray  # bool

    @property
    def ttft_s(self) -> np.ndarray:
        return self.first_token_s - self.arrival_s

    @property
    def tpot_s(self) -> np.ndarray:
        """Mean inter-token latency per request; NaN for single-token outputs."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.output_tokens > 1, (self.finish_s - self.first_token_s) / (self.output_tokens - 1),
                            np.nan)


def simulate(trace: Trace, policy: Policy, latency: LatencyModel, sched: SchedulerConfig = SchedulerConfig(),
             *, kv_capacity: int | None = None, max_iterations: int = 20_000_000) -> SimResult:
    """Replay ``trace`` under ``policy``; runs until every admitted request finishes."""
    budget, max_seqs = sched.max_num_batched_tokens, sched.max_num_seqs
    if kv_capacity is None:
        kv_capacity = kv_capacity_tokens(latency.model, latency.hw, policy.deployment,
                                         gpu_memory_utilization=sched.gpu_memory_utilization,
                                         activation_reserve_gib=sched.activation_reserve_gib)
    arr = trace.arrival_s.tolist()
    prompt = trace.prompt_tokens.tolist()
    out_len = trace.output_tokens.tolist()
    n_req = len(arr)
    first_tok = [math.nan] * n_req
    finish = [math.nan] * n_req
    rejected = [False] * n_req
    preempt = [0] * n_req
    target = list(prompt)  # tokens to prefill (prompt, or prompt + produced after a preemption)
    done_pf = [0] * n_req  # prefill tokens computed so far
    produced = [0] * n_req  # output tokens produced before the current decode stretch
    p_iter = [0] * n_req  # iteration that completed the prefill (start of the decode stretch)
    epoch = [0] * n_req  # invalidates heap entries of preempted requests
    limit = min(kv_capacity, sched.max_model_len)
    admit_limit = kv_capacity - int(sched.kv_watermark * kv_capacity)  # headroom for decode growth

    waiting: deque[int] = deque()
    running: dict[int, bool] = {}  # admitted requests in admission order -> True if decoding
    prefilling: list[int] = []  # running requests still prefilling, admission order
    heap: list[tuple[int, int, int]] = []  # (finish iteration, epoch, request)
    kv_used = decode_kv = n_dec = backlog = 0
    info = IterationInfo()
    info.budget = budget
    low_mode = policy.low_mode
    t_full = latency.iteration_time(low_mode, budget, 1, 1, 0, 0.0) if policy.needs_prediction else 0.0
    info.t_full_fp16_s = t_full
    starts: list[float] = []
    durs: list[float] = []
    toks: list[int] = []
    fp8: list[bool] = []
    now, nxt, it = 0.0, 0, 0

    def preempt_last() -> None:
        nonlocal kv_used, decode_kv, n_dec, backlog
        r = next(reversed(running))
        decoding = running.pop(r)
        if decoding:
            made = produced[r] + (it - 1 - p_iter[r])  # tokens out by the end of the last iteration
            footprint = target[r] + (it - 1 - p_iter[r])
            decode_kv -= footprint
            kv_used -= footprint
            n_dec -= 1
            epoch[r] += 1
            produced[r] = made
            target[r] = prompt[r] + made
            backlog += target[r]  # the whole context is recomputed
        else:
            kv_used -= done_pf[r]
            prefilling.remove(r)
            backlog += done_pf[r]  # its uncomputed rest is already in the backlog
        done_pf[r] = 0
        preempt[r] += 1
        waiting.appendleft(r)

    while it < max_iterations:
        # 1. arrivals (jump the clock when the GPU would idle)
        if not running and not waiting:
            if nxt >= n_req:
                break
            now = max(now, arr[nxt])
        while nxt < n_req and arr[nxt] <= now:
            if prompt[nxt] + out_len[nxt] > limit:
                rejected[nxt] = True
            else:
                waiting.append(nxt)
                backlog += prompt[nxt]
            nxt += 1
        if not running and not waiting:
            continue
        # 2. make room for this iteration's decode tokens (recompute preemption)
        while n_dec and kv_used + n_dec > kv_capacity:
            preempt_last()
        left = budget - n_dec
        kv_used += n_dec
        decode_kv += n_dec
        n_tok, n_logits, attn, kv_read = n_dec, n_dec, 0.0, decode_kv
        completing: list[int] = []
        # 3. running prefills (chunked), then waiting requests FCFS
        for r in prefilling:
            if left <= 0:
                break
            chunk = min(target[r] - done_pf[r], left, kv_capacity - kv_used)
            if chunk <= 0:
                continue
            attn += chunk * (done_pf[r] + (chunk + 1) / 2)
            kv_read += done_pf[r]
            done_pf[r] += chunk
            kv_used += chunk
            left -= chunk
            n_tok += chunk
            if done_pf[r] == target[r]:
                completing.append(r)
        while waiting and left > 0 and len(running) < max_seqs:
            r = waiting[0]
            chunk = min(target[r], left)
            if kv_used + chunk > (admit_limit if running else kv_capacity):
                break
            waiting.popleft()
            running[r] = False
            prefilling.append(r)
            attn += chunk * (chunk + 1) / 2
            done_pf[r] = chunk
            kv_used += chunk
            left -= chunk
            n_tok += chunk
            if chunk == target[r]:
                completing.append(r)
        if n_tok == 0:  # KV full with only prefills running: free the newest one
            preempt_last()
            continue
        backlog -= n_tok - n_dec
        n_logits += len(completing)
        n_seqs = n_dec + len(prefilling)
        # 4. pick the mode, advance the clock
        info.n_tokens = n_tok
        if policy.needs_prediction:
            info.backlog_tokens = backlog
            oldest = waiting[0] if waiting else (prefilling[0] if prefilling else -1)
            info.oldest_wait_s = now - arr[oldest] if oldest >= 0 and math.isnan(first_tok[oldest]) else 0.0
            info.t_fp16_s = latency.iteration_time(low_mode, n_tok, n_logits, n_seqs, kv_read, attn)
        mode = policy.choose(info)
        dt = latency.iteration_time(mode, n_tok, n_logits, n_seqs, kv_read, attn)
        starts.append(now)
        durs.append(dt)
        toks.append(n_tok)
        fp8.append(mode in FP8_MODES)
        now += dt
        # 5. completed prefills emit their first (next) token and start decoding
        for r in completing:
            prefilling.remove(r)
            if math.isnan(first_tok[r]):
                first_tok[r] = now
            produced[r] += 1
            remaining = out_len[r] - produced[r]
            if remaining <= 0:
                finish[r] = now
                kv_used -= target[r]
                del running[r]
                continue
            running[r] = True
            p_iter[r] = it
            n_dec += 1
            decode_kv += target[r]
            heapq.heappush(heap, (it + remaining, epoch[r], r))
        # 6. decodes that produced their last token in this iteration
        while heap and heap[0][0] <= it:
            _, ep, r = heapq.heappop(heap)
            if ep != epoch[r]:
                continue
            finish[r] = now
            footprint = target[r] + (it - p_iter[r])
            kv_used -= footprint
            decode_kv -= footprint
            n_dec -= 1
            del running[r]
        it += 1
    else:
        raise RuntimeError(f"simulation did not finish within {max_iterations} iterations; raise max_iterations")

    return SimResult(
        policy=policy.name, deployment=policy.deployment, latency_source=latency.source,
        kv_capacity_tokens=int(kv_capacity), weight_gib=weight_bytes(latency.model, policy.deployment) / 2**30,
        arrival_s=np.asarray(arr), prompt_tokens=trace.prompt_tokens, output_tokens=trace.output_tokens,
        first_token_s=np.asarray(first_tok), finish_s=np.asarray(finish), rejected=np.asarray(rejected, dtype=bool),
        preemptions=np.asarray(preempt), iter_start_s=np.asarray(starts), iter_dur_s=np.asarray(durs),
        iter_tokens=np.asarray(toks, dtype=np.int64), iter_fp8=np.asarray(fp8, dtype=bool),
    )


def middle_mask(n: int, middle: float = 0.7) -> np.ndarray:
    """Bool mask of the middle ``middle`` fraction of ``n`` arrival-ordered requests."""
    if not 0 < middle <= 1:
        raise ValueError(f"middle must be in (0, 1], got {middle}")
    lo = int(round(n * (1 - middle) / 2))
    mask = np.zeros(n, dtype=bool)
    mask[lo:n - lo] = True
    return mask


def _pct(x: np.ndarray, q: float) -> float:
    x = x[~np.isnan(x)]
    return float(np.percentile(x, q)) if len(x) else float("nan")


def summarize(res: SimResult, middle: float = 0.7) -> dict:
    """TTFT/TPOT p50/p90/p99 and means over the middle requests, throughput, FP8 fraction."""
    m = middle_mask(len(res.arrival_s), middle)
    ttft, tpot = res.ttft_s[m], res.tpot_s[m]
    done = ~np.isnan(res.finish_s)
    span = (np.nanmax(res.finish_s) - res.arrival_s[0]) if done.any() else float("nan")
    busy = float(res.iter_dur_s.sum())
    row = {"policy": res.policy, "deployment": res.deployment, "n_requests": int(len(res.arrival_s)),
           "n_finished": int(done.sum()), "n_rejected": int(res.rejected.sum()),
           "preemptions": int(res.preemptions.sum()), "kv_capacity_tokens": res.kv_capacity_tokens,
           "weight_gib": res.weight_gib}
    for name, x in (("ttft", ttft), ("tpot", tpot)):
        row[f"{name}_mean_s"] = float(np.nanmean(x)) if np.isfinite(x).any() else float("nan")
        for q in (50, 90, 99):
            row[f"{name}_p{q}_s"] = _pct(x, q)
    row["output_tok_per_s"] = float(res.output_tokens[done].sum() / span) if done.any() else float("nan")
    row["total_tok_per_busy_s"] = float(res.iter_tokens.sum() / busy) if busy > 0 else float("nan")
    row["n_iterations"] = int(len(res.iter_dur_s))
    row["fp8_fraction"] = float(res.iter_fp8.mean()) if len(res.iter_fp8) else 0.0
    row["makespan_s"] = float(span)
    row["latency_source"] = res.latency_source
    return row


def slo_attainment(res: SimResult, ttft_slo_s: float, tpot_slo_s: float, middle: float = 0.7) -> float:
    """Fraction of the middle requests that finished with TTFT <= and TPOT <= their SLOs
    (single-token outputs need only the TTFT SLO; rejected or unfinished requests miss)."""
    m = middle_mask(len(res.arrival_s), middle)
    ttft, tpot = res.ttft_s[m], res.tpot_s[m]
    ok_tpot = np.isnan(tpot) | (tpot <= tpot_slo_s)
    ok = (ttft <= ttft_slo_s) & ok_tpot & ~np.isnan(res.finish_s[m])
    return float(ok.mean()) if len(ok) else float("nan")
