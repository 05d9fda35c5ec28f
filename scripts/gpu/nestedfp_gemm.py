"""One-shot GPU benchmark of NestedFP's GEMMs against cuBLAS FP16 and torch._scaled_mm FP8.

NestedFP (Lee et al., NeurIPS 2025), ``papers/nestedfp.md`` §1.6-§1.7, §3.3, §5.2. For the
Llama-3.1-8B layer shapes (N, K) and token counts M it times four arms:

  cublas_fp16         torch.mm(x, W.T)                      FP16 weights, the baseline
  scaled_mm_fp8       torch._scaled_mm(x8, W8.T, 1, 2^-8)   standard FP8 GEMM (per-tensor scales)
  triton_nested_fp16  kernels.nested_fp16_matmul(x, hi, lo) NestedFP FP16 mode (in-register merge)
  triton_nested_fp8   kernels.nested_fp8_matmul(x8, s, hi)   NestedFP FP8 mode (per-token epilogue)

Correctness is checked first (every shape, every M; the run aborts on a mismatch), then each arm
is timed with ``triton.testing.do_bench`` (median and 20/80 % quantiles; L2 flushed between runs).
Prints a TFLOP/s table and writes ``nestedfp_gemm.csv`` (+ ``nestedfp_gemm_env.json``) with
device, driver and versions under ``--out`` (default ``$OUT`` or ``results/gpu``). About 2-3
minutes on one H100 (Triton autotuning included). To feed the serving simulator and the notebook,
commit the CSV as ``data/measured/<device>/nestedfp_gemm.csv`` (``--measured`` writes it there).

    PYTHONPATH=. python3 scripts/gpu/nestedfp_gemm.py --measured --config-sweep   # on an H100, ~2 min
    PYTHONPATH=. python3 scripts/gpu/nestedfp_gemm.py --dry-run  # CPU: plan + interpreter check
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ARMS = ("cublas_fp16", "scaled_mm_fp8", "triton_nested_fp16", "triton_nested_fp8")
SHAPE_PRESETS = {
    "llama-3.1-8b": ((6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336)),
    "tiny": ((64, 96), (48, 40)),  # CPU dry run
}
DEFAULT_M = (16, 32, 64, 128, 256, 512, 1024, 2048)
REPO_ROOT = Path(__file__).resolve().parents[2]


class KernelMismatchError(RuntimeError):
    """An arm's output disagrees with its reference: the run stops before timing anything."""


def _int_list(text: str) -> tuple[int, ...]:
    try:
        vals = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from e
    if not vals or any(v <= 0 for v in vals):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return vals


def _shapes(text: str) -> tuple[tuple[int, int], ...]:
    if text in SHAPE_PRESETS:
        return SHAPE_PRESETS[text]
    out = []
    for item in text.split(","):
        m = re.fullmatch(r"\s*(\d+)[:xX](\d+)\s*", item)
        if not m or int(m.group(1)) <= 0 or int(m.group(2)) <= 0:
            raise argparse.ArgumentTypeError(
                f"shapes must be a preset ({', '.join(SHAPE_PRESETS)}) or 'N:K,N:K', got {text!r}")
        out.append((int(m.group(1)), int(m.group(2))))
    return tuple(out)


def _arms(text: str) -> tuple[str, ...]:
    arms = tuple(a.strip() for a in text.split(",") if a.strip())
    bad = [a for a in arms if a not in ARMS]
    if bad or not arms:
        raise argparse.ArgumentTypeError(f"unknown arm(s) {bad}; choose from {', '.join(ARMS)}")
    return arms


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", type=_shapes, default=SHAPE_PRESETS["llama-3.1-8b"],
                   help="preset name or 'N:K,...' (default: llama-3.1-8b layer shapes)")
    p.add_argument("--m", type=_int_list, default=DEFAULT_M, help="token counts M, comma-separated")
    p.add_argument("--arms", type=_arms, default=ARMS, help=f"subset of {','.join(ARMS)}")
    p.add_argument("--out", type=Path, default=None, help="output folder (default $OUT or results/gpu)")
    p.add_argument("--measured", action="store_true",
                   help="also write data/measured/<device>/nestedfp_gemm.csv in the repository")
    p.add_argument("--warmup-ms", type=int, default=25, help="do_bench warmup per arm (ms)")
    p.add_argument("--rep-ms", type=int, default=100, help="do_bench measurement time per arm (ms)")
    p.add_argument("--config-sweep", action="store_true",
                   help="also time every candidate tile config of both Triton kernels at M = min, 256, max "
                        "(nestedfp_gemm_configs.csv; about +60 s on an H100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dry-run", action="store_true",
                   help="no GPU needed: print the plan and check the kernels at tiny shapes (Triton interpreter)")
    args = p.parse_args(argv)
    if args.warmup_ms < 1 or args.rep_ms < 1:
        p.error("--warmup-ms and --rep-ms must be >= 1")
    if args.out is None:
        args.out = Path(os.environ["OUT"]) if os.environ.get("OUT") else REPO_ROOT / "results" / "gpu"
    return args


def plan(args: argparse.Namespace) -> list[tuple[int, int, int]]:
    """(N, K, M) triples in run order."""
    return [(n, k, m) for n, k in args.shapes for m in args.m]


def estimate_seconds(args: argparse.Namespace) -> float:
    """Rough wall time on an H100: timing plus autotuning plus compilation."""
    n_points = len(plan(args))
    timed = n_points * len(args.arms) * (args.warmup_ms + args.rep_ms + 40) / 1e3
    tuned = n_points * 2 * 4 * 0.06 + 14 * 2.0  # ~4 pruned configs x (5+20 ms) per point, ~14 compiles
    swept = len(args.shapes) * len(sweep_ms(args)) * 14 * 0.06 + 14 * 2.0 if args.config_sweep else 0.0
    return timed + tuned + swept


def sweep_ms(args: argparse.Namespace) -> list[int]:
    """Token counts of the optional config sweep: the smallest, 256 and the largest requested M."""
    return sorted({min(args.m), 256, max(args.m)})


def add_speedups(df):
    """Speedup of every row over cuBLAS FP16 and over torch._scaled_mm at the same (N, K, M)."""
    keyed = df.set_index(["N", "K", "M"])
    for col, arm in (("speedup_vs_cublas_fp16", "cublas_fp16"), ("speedup_vs_scaled_mm_fp8", "scaled_mm_fp8")):
        base = keyed[keyed["arm"] == arm]["ms_median"]
        ref = [base.get(key, float("nan")) for key in zip(df["N"], df["K"], df["M"])]
        df[col] = [r / t for r, t in zip(ref, df["ms_median"])]
    return df


def config_sweep(torch, triton, args: argparse.Namespace, meta: dict, dev=None) -> list[dict]:
    """Time every candidate tile config (no autotuning) to show what the autotuner chose from."""
    from artifact.nestedfp import kernels

    rows = []
    dev = dev if dev is not None else torch.device("cuda")
    for n, k in args.shapes:
        weights = make_weights(torch, n, k, dev, args.seed)
        for m in sweep_ms(args):
            ops = {**weights, **make_activations(torch, m, k, dev, args.seed)}
            ref16 = ops["x"].float() @ ops["w"].float().T
            ref8 = kernels.nested_fp8_matmul_reference(ops["x8"], ops["xs"], ops["hi"]).float()
            for kind, configs in (("fp16", kernels.FP16_CONFIGS), ("fp8", kernels.FP8_CONFIGS)):
                for c in configs:
                    if kind == "fp16":
                        fn = lambda c=c: kernels.nested_fp16_matmul(ops["x"], ops["hi"], ops["lo"], config=c)
                    else:
                        fn = lambda c=c: kernels.nested_fp8_matmul(ops["x8"], ops["xs"], ops["hi"], config=c)
                    row = {**meta, "N": n, "K": k, "M": m, "kernel": kind, "config": c.short_str()}
                    try:
                        ref = ref16 if kind == "fp16" else ref8
                        row["rel_err"] = float((fn().float() - ref).norm() / ref.norm())
                        row["ms_median"] = float(triton.testing.do_bench(fn, warmup=5, rep=20, return_mode="median"))
                        row["tflops"] = 2.0 * m * n * k / (row["ms_median"] * 1e-3) / 1e12
                    except Exception as exc:  # noqa: BLE001 - a config that does not compile is a result too
                        row["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
                    rows.append(row)
            print(f"  config sweep N={n} K={k} M={m}: done")
    return rows


def device_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "unknown-device"


def env_metadata(torch, triton) -> dict:
    meta = {"date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "torch": torch.__version__, "triton": triton.__version__, "cuda": torch.version.cuda,
            "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:])}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        meta.update(device=props.name, capability=f"{props.major}.{props.minor}",
                    sm_count=props.multi_processor_count, memory_gib=round(props.total_memory / 2**30, 1))
        try:
            meta["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                            capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            meta["driver"] = "unknown"
    else:
        meta.update(device="cpu (Triton interpreter)", capability="", driver="")
    return meta


def make_weights(torch, n: int, k: int, device, seed: int) -> dict:
    """Random FP16 weight (clamped to +-1.75 like the authors' ncu.py) and its planes, built on ``device``."""
    from artifact.nestedfp.format import split

    g = torch.Generator(device=device).manual_seed(seed + 7919 * n + 104729 * k)
    w = (torch.randn(n, k, generator=g, device=device) * 0.05).clamp(-1.75, 1.75).half()  # (N, K)
    hi, lo = split(w)  # (N, K) uint8 each
    return {"w": w, "hi": hi, "lo": lo}


def make_activations(torch, m: int, k: int, device, seed: int) -> dict:
    from artifact.nestedfp.kernels import quantize_per_token_e4m3

    g = torch.Generator(device=device).manual_seed(seed + 31 * m + k)
    x = torch.randn(m, k, generator=g, device=device).half()  # (M, K)
    x8, xs = quantize_per_token_e4m3(x)  # (M, K) e4m3, (M,) fp32 dequant scale
    return {"x": x, "x8": x8, "xs": xs}


def make_operands(torch, n: int, k: int, m: int, device, seed: int) -> dict:
    return {**make_weights(torch, n, k, device, seed), **make_activations(torch, m, k, device, seed)}


def arm_functions(torch, ops: dict, arms: tuple[str, ...]) -> dict:
    from artifact.nestedfp import kernels

    w_t = ops["w"].t()  # (K, N) column-major view: cuBLAS "TN"
    w8_t = ops["hi"].view(torch.float8_e4m3fn).t()  # (K, N) column-major, as _scaled_mm wants
    one = torch.ones((), device=ops["x"].device, dtype=torch.float32)
    w_scale = torch.full((), 2.0**-8, device=ops["x"].device, dtype=torch.float32)
    xs_col = ops["xs"].reshape(-1, 1)
    fns = {
        "cublas_fp16": lambda: torch.mm(ops["x"], w_t),
        "scaled_mm_fp8": lambda: torch._scaled_mm(ops["x8"], w8_t, scale_a=one, scale_b=w_scale,
                                                  out_dtype=torch.float16),
        "triton_nested_fp16": lambda: kernels.nested_fp16_matmul(ops["x"], ops["hi"], ops["lo"]),
        "triton_nested_fp8": lambda: kernels.nested_fp8_matmul(ops["x8"], xs_col, ops["hi"]),
    }
    return {a: fns[a] for a in arms}


def check_correctness(torch, ops: dict, fns: dict) -> dict[str, float]:
    """Relative Frobenius error of each arm vs its exact FP32 reference; raises on a mismatch."""
    from artifact.nestedfp import kernels

    ref16 = ops["x"].float() @ ops["w"].float().T  # (M, N)
    ref8_unscaled = kernels.nested_fp8_matmul_reference(ops["x8"], torch.ones_like(ops["xs"]), ops["hi"]).float()
    refs = {"cublas_fp16": ref16, "triton_nested_fp16": ref16, "scaled_mm_fp8": ref8_unscaled,
            "triton_nested_fp8": kernels.nested_fp8_matmul_reference(ops["x8"], ops["xs"], ops["hi"]).float()}
    errs = {}
    for arm, fn in fns.items():
        y = fn().float()
        ref = refs[arm]
        err = float((y - ref).norm() / ref.norm().clamp_min(1e-30))
        if not err <= 5e-3:  # FP16 output rounding is ~5e-4; a broken kernel is O(1)
            raise KernelMismatchError(f"{arm}: relative error {err:.3g} vs its reference exceeds 5e-3; not timing a wrong kernel")
        errs[arm] = err
    return errs


def dry_run(args: argparse.Namespace) -> int:
    import torch
    import triton

    meta = env_metadata(torch, triton)
    print(f"plan: {len(args.shapes)} shapes x {len(args.m)} M x {len(args.arms)} arms = "
          f"{len(plan(args)) * len(args.arms)} timings, about {estimate_seconds(args):.0f} s on an H100")
    tiny = [a for a in args.arms if a.startswith("triton")]
    for n, k in SHAPE_PRESETS["tiny"]:
        for m in (5, 33):
            ops = make_operands(torch, n, k, m, torch.device("cpu"), args.seed)
            errs = check_correctness(torch, ops, arm_functions(torch, ops, tuple(tiny)))
            print(f"  interpreter check N={n} K={k} M={m}: " + ", ".join(f"{a} rel.err {e:.2e}" for a, e in errs.items()))
    print(f"needs GPU: timing skipped on {meta['device']}; run without --dry-run on a CUDA machine")
    return 0


def run(args: argparse.Namespace) -> int:
    import torch
    import triton

    from artifact.nestedfp import kernels

    if not torch.cuda.is_available():
        print("needs GPU: no CUDA device found. Use --dry-run for the CPU plan/interpreter check.", file=sys.stderr)
        return 2
    meta = env_metadata(torch, triton)
    if torch.cuda.get_device_capability() < (8, 9) and any("fp8" in a for a in args.arms):
        print(f"warning: {meta['device']} has no FP8 tensor cores; FP8 arms use fallbacks or fail", file=sys.stderr)
    print(f"{meta['device']} (driver {meta['driver']}, CUDA {meta['cuda']}, torch {meta['torch']}, "
          f"triton {meta['triton']}); about {estimate_seconds(args):.0f} s")
    t0 = time.time()
    rows = []
    dev = torch.device("cuda")
    for n, k in args.shapes:
        weights = make_weights(torch, n, k, dev, args.seed)  # once per shape, on the GPU
        for m in args.m:
            ops = {**weights, **make_activations(torch, m, k, dev, args.seed)}
            fns = arm_functions(torch, ops, args.arms)
            errs = check_correctness(torch, ops, fns)  # also triggers compilation + autotuning
            for arm, fn in fns.items():
                med, p20, p80 = triton.testing.do_bench(fn, warmup=args.warmup_ms, rep=args.rep_ms,
                                                        quantiles=[0.5, 0.2, 0.8])
                cfg = kernels.best_config("fp16" if arm == "triton_nested_fp16" else "fp8", m, n, k) \
                    if arm.startswith("triton") else ""
                rows.append({**meta, "N": n, "K": k, "M": m, "arm": arm, "ms_median": med, "ms_p20": p20,
                             "ms_p80": p80, "tflops": 2.0 * m * n * k / (med * 1e-3) / 1e12,
                             "rel_err": errs[arm], "config": cfg})
            print(f"  N={n:>5} K={k:>5} M={m:>4}: " + "  ".join(
                f"{r['arm']} {r['tflops']:7.1f}" for r in rows[-len(fns):]) + " TFLOP/s")
    import pandas as pd

    df = add_speedups(pd.DataFrame(rows))
    sweep = pd.DataFrame(config_sweep(torch, triton, args, meta)) if args.config_sweep else None
    summary = summarize(df)
    meta.update(summary=summary, wall_s=round(time.time() - t0, 1))
    args.out.mkdir(parents=True, exist_ok=True)
    targets = [args.out]
    if args.measured:
        targets.append(REPO_ROOT / "data" / "measured" / device_slug(meta["device"]))
    for folder in targets:
        folder.mkdir(parents=True, exist_ok=True)
        df.to_csv(folder / "nestedfp_gemm.csv", index=False, float_format="%.9g")
        if sweep is not None:
            sweep.to_csv(folder / "nestedfp_gemm_configs.csv", index=False, float_format="%.9g")
        (folder / "nestedfp_gemm_env.json").write_text(json.dumps(meta, indent=2) + "\n")
        print(f"wrote {folder / 'nestedfp_gemm.csv'}")
    print(pd.pivot_table(df, index=["N", "K", "M"], columns="arm", values="tflops").round(1).to_string())
    print(json.dumps(summary, indent=2))
    print(f"done in {time.time() - t0:.0f} s")
    return 0


def summarize(df) -> dict:
    """Headline ratios: NestedFP16 overhead vs cuBLAS at M >= 256, NestedFP8 speedups at M >= 1024."""
    out = {}
    n16 = df[(df["arm"] == "triton_nested_fp16") & (df["M"] >= 256)]
    if len(n16):
        out["nested_fp16_overhead_pct_mean_m_ge_256"] = float((1.0 / n16["speedup_vs_cublas_fp16"] - 1).mean() * 100)
    n8 = df[(df["arm"] == "triton_nested_fp8") & (df["M"] >= 1024)]
    if len(n8):
        out["nested_fp8_speedup_vs_cublas_m_ge_1024_mean"] = float(n8["speedup_vs_cublas_fp16"].mean())
        out["nested_fp8_vs_scaled_mm_m_ge_1024_mean"] = float(n8["speedup_vs_scaled_mm_fp8"].mean())
    n8all = df[df["arm"] == "triton_nested_fp8"]
    if len(n8all):
        out["nested_fp8_speedup_vs_cublas_max"] = float(n8all["speedup_vs_cublas_fp16"].max())
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from artifact.gpu import configure_triton

    configure_triton()  # before the first `import triton`: interpreter mode when there is no GPU
    return dry_run(args) if args.dry_run else run(args)


if __name__ == "__main__":
    sys.exit(main())
