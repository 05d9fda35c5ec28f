"""One-shot GPU benchmark of the L3 decoders vs all-core CPU PNG decoding and nvJPEG (``papers/l3.md`` §2, §5.3).

L3 (Bae et al., ECCV 2022) claims 9.29x the data-preparation throughput of PNG on an A100. For a
batch of high-resolution RGB images (default 16 x 2048 x 1024, P = 64, like Cityscapes) it:

1. encodes them with the numpy L3 encoder (and PNG / JPEG on the CPU when a library is present);
2. checks bit-exactness of the Triton and torch decoders on the device against the originals
   (the run aborts on any mismatch);
3. times, as images/s and output GB/s:
     triton_e2e     host parse + prefix sums + H2D copy + Triton kernel  (the paper's L3 path)
     triton_kernel  Triton kernel only (inputs already on the device)
     torch_e2e      the batched pure-PyTorch decoder, same inputs (``--torch-compile`` adds a
                    torch.compile'd variant, torch_compiled_e2e)
     png_cpu_all    PNG decode on all CPU cores of this machine (thread pool; libpng through
                    imagecodecs, Pillow or torchvision, whichever is installed)
     nvjpeg         torchvision.io.decode_jpeg on the GPU (lossy JPEG q90), if torchvision exists
4. prints a table and writes ``l3_decode.csv`` + ``l3_decode_env.json`` (device, driver, versions)
   under ``--out`` (default ``$OUT`` or ``results/gpu``).

Images: ``--source auto`` tiles the offline scikit-image / sporco photos into 2048 x 1024 mosaics
when Pillow and those packages are installed, else falls back to ``synthetic`` (smooth random
fields plus noise, labelled as such in the CSV). ``--source DIR`` tiles the images of a folder.
About 1-3 minutes on one H100. Commit the CSV as ``data/measured/<device>/l3_decode.csv``.

    PYTHONPATH=. python3 scripts/gpu/l3_decode.py              # on a GPU machine
    PYTHONPATH=. python3 scripts/gpu/l3_decode.py --dry-run    # CPU: tiny images, interpreter
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from e
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _patch(text: str) -> int:
    v = _positive(text)
    if not 8 <= v <= 128:
        raise argparse.ArgumentTypeError(f"patch size must be in 8..128, got {v}")
    return v


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="L3 GPU decode throughput vs CPU PNG and nvJPEG (needs a GPU).")
    ap.add_argument("--batch", type=_positive, default=16, help="images per batch (default 16)")
    ap.add_argument("--height", type=_positive, default=1024, help="image height (default 1024)")
    ap.add_argument("--width", type=_positive, default=2048, help="image width (default 2048)")
    ap.add_argument("--patch", type=_patch, default=None, help="L3 patch size P (default: 32 below HD, 64 from HD)")
    ap.add_argument("--iters", type=_positive, default=10, help="timed iterations per arm (median reported)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed warm-up iterations per arm")
    ap.add_argument("--source", default="auto", help="auto | synthetic | a folder of images (default auto)")
    ap.add_argument("--cpu-workers", type=_positive, default=None, help="threads for CPU PNG decode (default: all cores)")
    ap.add_argument("--no-triton", action="store_true", help="skip the Triton arms")
    ap.add_argument("--torch-compile", action="store_true", help="add a torch.compile'd torch decoder arm")
    ap.add_argument("--out", default=None, help="output folder (default $OUT or results/gpu)")
    ap.add_argument("--dry-run", action="store_true",
                    help="CPU smoke path: 2 images of 24x20, P=16, 1 iteration, Triton interpreter; no GPU needed")
    args = ap.parse_args(argv)
    if args.warmup < 0:
        ap.error("--warmup must be >= 0")
    if args.dry_run:
        args.batch, args.height, args.width, args.patch, args.iters, args.warmup = 2, 24, 20, 16, 1, 0
        if args.source == "auto":
            args.source = "synthetic"
    return args


# -- images --------------------------------------------------------------------------------------

def synthetic_images(n: int, h: int, w: int, seed: int = 0) -> list[np.ndarray]:
    """Smooth random fields with mild noise (photo-like statistics; NOT real photos)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        coarse = rng.integers(0, 256, (h // 32 + 2, w // 32 + 2, 3)).astype(np.float32)
        ys, xs = np.linspace(0, coarse.shape[0] - 1.001, h), np.linspace(0, coarse.shape[1] - 1.001, w)
        y0, x0 = ys.astype(int), xs.astype(int)
        fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
        c = coarse
        img = ((1 - fy) * ((1 - fx) * c[y0][:, x0] + fx * c[y0][:, x0 + 1])
               + fy * ((1 - fx) * c[y0 + 1][:, x0] + fx * c[y0 + 1][:, x0 + 1]))
        img += rng.normal(0, 3, img.shape)
        out.append(np.ascontiguousarray(np.clip(img, 0, 255).astype(np.uint8)))
    return out


def _mosaic(photos: list[np.ndarray], n: int, h: int, w: int) -> list[np.ndarray]:
    out = []
    k = 0
    for _ in range(n):
        canvas = np.zeros((h, w, 3), np.uint8)
        y = 0
        while y < h:
            x, row_h = 0, 0
            while x < w:
                p = photos[k % len(photos)]
                k += 1
                ph, pw = min(p.shape[0], h - y), min(p.shape[1], w - x)
                canvas[y:y + ph, x:x + pw] = p[:ph, :pw]
                x += pw
                row_h = max(row_h, ph)
            y += row_h
        out.append(canvas)
    return out


def load_images(source: str, n: int, h: int, w: int) -> tuple[list[np.ndarray], str]:
    if source == "synthetic":
        return synthetic_images(n, h, w), "synthetic"
    try:
        from PIL import Image
    except ImportError:
        if source != "auto":
            raise SystemExit("--source DIR needs Pillow to read the images (pip install pillow)")
        return synthetic_images(n, h, w), "synthetic (Pillow missing)"
    if source == "auto":
        try:
            from artifact.l3.images import load_images as offline

            photos = [im.pixels for im in offline(("skimage", "sporco"))]
        except Exception:  # noqa: BLE001 - any missing package means: no offline photos here
            photos = []
        if not photos:
            return synthetic_images(n, h, w), "synthetic (no offline photos installed)"
        return _mosaic(photos, n, h, w), "mosaic of scikit-image + sporco photos"
    folder = Path(source)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))
    if not files:
        raise SystemExit(f"no .png/.jpg/.webp images in {folder}")
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in files]
    return _mosaic(photos, n, h, w), f"mosaic of {len(files)} images from {folder}"


# -- CPU PNG / GPU JPEG baselines ------------------------------------------------------------------

def png_codec():
    """(name, encode, decode) of the first available PNG library, or None."""
    try:
        import imagecodecs

        return "libpng (imagecodecs)", lambda a: imagecodecs.png_encode(a, level=6), imagecodecs.png_decode
    except ImportError:
        pass
    try:
        import io

        from PIL import Image

        def enc(a):
            buf = io.BytesIO()
            Image.fromarray(a).save(buf, format="PNG", compress_level=6)
            return buf.getvalue()

        return "libpng (Pillow)", enc, lambda b: np.asarray(Image.open(io.BytesIO(b)).convert("RGB"))
    except ImportError:
        pass
    try:
        import torch
        import torchvision.io as tio

        return ("libpng (torchvision)", lambda a: tio.encode_png(torch.from_numpy(a).permute(2, 0, 1)).numpy().tobytes(),
                lambda b: tio.decode_png(torch.frombuffer(bytearray(b), dtype=torch.uint8)))
    except ImportError:
        return None


def _median_time(fn, iters: int, warmup: int, sync) -> float:
    for _ in range(warmup):
        fn()
    sync()
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def env_info(device) -> dict:
    import torch

    info = dict(date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), python=platform.python_version(),
                torch=torch.__version__, cpu=platform.processor() or platform.machine(), cpu_cores=os.cpu_count(),
                device=str(device), command=" ".join(sys.argv))
    try:
        import triton

        info["triton"] = triton.__version__
    except ImportError:
        info["triton"] = None
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        info.update(gpu=p.name, gpu_mem_gib=round(p.total_memory / 2**30, 1), cuda=torch.version.cuda,
                    driver=_driver_version())
    return info


def _driver_version() -> str | None:
    try:
        import subprocess

        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    except Exception:  # noqa: BLE001
        return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import pandas as pd
    import torch

    from artifact.l3.codec import default_patch, encode
    from artifact.l3.decode_torch import decode_batch_torch

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type != "cuda" and not args.dry_run:
        print("needs GPU: no CUDA device found; use --dry-run for the CPU smoke path", file=sys.stderr)
        return 2
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    imgs, source = load_images(args.source, args.batch, args.height, args.width)
    patch = args.patch or default_patch(args.height, args.width)
    blobs = [encode(im, patch) for im in imgs]
    raw = sum(im.nbytes for im in imgs)
    print(f"{len(imgs)} x {args.height}x{args.width} ({source}), P={patch}, L3 ratio {raw / sum(map(len, blobs)):.2f}, "
          f"device {device}")

    # 1) correctness first
    arms = {"torch_e2e": lambda: decode_batch_torch(blobs, device=device)}
    if args.torch_compile:
        arms["torch_compiled_e2e"] = lambda: decode_batch_torch(blobs, device=device, compile=True)
    if not args.no_triton:
        from artifact.l3.decode_triton import _l3_decode_kernel, _launch_tables, decode_batch_triton
        from artifact.l3.decode_torch import plan_batch

        arms["triton_e2e"] = lambda: decode_batch_triton(blobs, device=device)
    for name, fn in arms.items():
        for out, im in zip(fn(), imgs):
            if not np.array_equal(out.cpu().numpy(), im):
                print(f"MISMATCH: {name} is not bit-exact; aborting before timing", file=sys.stderr)
                return 1
    print("bit-exact:", ", ".join(arms))

    # 2) timing
    rows = []

    def record(arm: str, seconds: float, note: str = "") -> None:
        rows.append(dict(arm=arm, images=len(imgs), height=args.height, width=args.width, patch=patch, source=source,
                         seconds_per_batch=seconds, images_per_s=len(imgs) / seconds, output_gb_s=raw / seconds / 1e9,
                         note=note))

    for name, fn in arms.items():
        record(name, _median_time(fn, args.iters, args.warmup, sync),
               "host parse + prefix sums + H2D + decode" if name.endswith("e2e") else "")
    if not args.no_triton:
        import triton

        plan = plan_batch(blobs)
        in_start, out_base, stride, _, out_off = _launch_tables(plan)
        d = [torch.from_numpy(a).to(device) for a in (plan.buffer[:plan.size], in_start, out_base, stride)]
        out = torch.empty(out_off[-1], dtype=torch.uint8, device=device)
        end = torch.empty((in_start.shape[0], 3), dtype=torch.int64, device=device)
        bad = torch.empty_like(end)
        block = triton.next_power_of_2(patch)

        def kernel_only():
            _l3_decode_kernel[(in_start.shape[0],)](d[0], d[1], out, d[2], d[3], end, bad, plan.size, P=patch,
                                                    BLOCK=block, num_warps=max(1, block // 32))

        record("triton_kernel", _median_time(kernel_only, args.iters, args.warmup, sync), "inputs already on device")
    png = png_codec()
    if png is not None:
        pname, penc, pdec = png
        pblobs = [penc(im) for im in imgs]
        workers = args.cpu_workers or os.cpu_count() or 1
        with ThreadPoolExecutor(workers) as pool:
            t = _median_time(lambda: list(pool.map(pdec, pblobs)), args.iters, args.warmup, lambda: None)
        record("png_cpu_all", t, f"{pname}, {workers} threads, ratio {raw / sum(map(len, pblobs)):.2f}")
    else:
        print("PNG baseline skipped: no imagecodecs, Pillow or torchvision")
    try:
        import torchvision.io as tio

        jpegs = [tio.encode_jpeg(torch.from_numpy(im).permute(2, 0, 1).contiguous(), quality=90) for im in imgs]
        if device.type == "cuda":
            record("nvjpeg", _median_time(lambda: tio.decode_jpeg(jpegs, device=device), args.iters, args.warmup, sync),
                   "torchvision.io.decode_jpeg on GPU, lossy q90")
    except Exception as exc:  # noqa: BLE001 - optional baseline
        print(f"nvJPEG baseline skipped: {type(exc).__name__}: {exc}")

    df = pd.DataFrame(rows)
    if "png_cpu_all" in set(df["arm"]):
        df["speedup_vs_png_cpu_all"] = df["images_per_s"] / float(df.loc[df["arm"] == "png_cpu_all", "images_per_s"].iloc[0])
    print(df[[c for c in df.columns if c not in ("source", "note")]].to_string(index=False, float_format="%.4g"))
    out_dir = Path(args.out or os.environ.get("OUT") or REPO_ROOT / "results" / "gpu")
    out_dir.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_dir / "l3_decode.csv", index=False)
    (out_dir / "l3_decode_env.json").write_text(json.dumps(env_info(device), indent=2))
    print("wrote", out_dir / "l3_decode.csv")
    if device.type != "cuda":
        print("needs GPU: dry run on the CPU only checked the code path; timings above are not GPU numbers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
