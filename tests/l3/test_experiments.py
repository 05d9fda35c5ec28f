"""Config presets, images, baselines, pipeline model, experiments on a tiny config, the GPU script's CLI."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from artifact.l3 import experiments
from artifact.l3.baselines import all_codecs, unavailable_codecs
from artifact.l3.config import PRESETS, Config
from artifact.l3.images import centre_crop, image_files, load_images, missing_sources
from artifact.l3.pipeline import PrepPath, paths_from_throughput, pipeline_table

TINY = dict(max_images=2, max_side=64, png_levels=(6,), include_lossy=False, repeats=1, fuzz_cases=20,
            triton_side=16, triton_images=1, patches=(16, 32))


def test_config_presets_and_overrides():
    assert set(PRESETS) == {"smoke", "quick", "full"}
    cfg = Config.for_scale("smoke", repeats=5, max_images=None)
    assert cfg.scale == "smoke" and cfg.repeats == 5 and cfg.max_images == PRESETS["smoke"]["max_images"]
    with pytest.raises(TypeError, match="valid fields"):
        Config.for_scale("quick", bogus=1)
    with pytest.raises(ValueError):
        Config.for_scale("huge")


def test_offline_images_are_real_rgb_photos():
    imgs = load_images(("skimage", "sporco"))
    assert len(imgs) >= 10 and {"astronaut", "kodim23"} <= {i.name for i in imgs}
    for im in imgs:
        assert im.pixels.dtype == np.uint8 and im.pixels.ndim == 3 and im.pixels.shape[2] == 3
    assert centre_crop(imgs[0].pixels, 100).shape == (100, 100, 3)
    assert len(load_images(("skimage",), max_images=2)) == 2
    assert isinstance(missing_sources(("wallpapers",)), list)
    with pytest.raises(ValueError, match="unknown image source"):
        image_files("imagenet")


def test_wallpapers_found_in_configured_folder(tmp_path, monkeypatch):
    from PIL import Image

    Image.fromarray(np.zeros((16, 24, 3), np.uint8)).save(tmp_path / "TestWallpaper.jpg")
    monkeypatch.setenv("L3_WALLPAPER_DIR", str(tmp_path))
    found = [p for p in image_files("wallpapers") if p.parent == tmp_path]
    assert [p.name for p in found] == ["TestWallpaper.jpg"]
    imgs = load_images(("wallpapers",), max_side=8)
    assert "TestWallpaper" in [i.name for i in imgs] and all(i.shape[0] <= 8 for i in imgs)


def test_every_available_baseline_is_lossless_and_all_peers_present():
    img = load_images(("skimage",), max_images=1, max_side=48)[0].pixels
    codecs = all_codecs((32,), (1, 9), include_lossy=True)
    assert unavailable_codecs() == [] or set(unavailable_codecs()) <= {"QOI", "WebP-LL", "JPEG-LS", "JPEG-XL-LL"}
    for name, c in codecs.items():
        out = np.asarray(c.decode(c.encode(img)))
        assert out.shape == img.shape, name
        if c.lossless:
            np.testing.assert_array_equal(out, img, err_msg=name)
        else:
            assert np.abs(out.astype(int) - img).mean() < 10, name


def test_pipeline_model_arithmetic():
    paths = [PrepPath("slow", 0.1), PrepPath("fast", 0.001)]
    df = pipeline_table(paths, (1, 4), (20.0,))
    slow = df[df.path == "slow"].set_index("cores")
    assert slow.loc[1, "prep_img_s"] == pytest.approx(10) and slow.loc[1, "e2e_img_s"] == pytest.approx(10)
    assert slow.loc[4, "e2e_img_s"] == pytest.approx(20) and slow.loc[4, "bottleneck"] == "accelerator"
    assert slow.loc[1, "bottleneck"] == "CPU data prep"
    assert (df[df.path == "fast"]["e2e_img_s"] == 20).all()
    thr = pd.DataFrame([dict(codec="png-z6", decoder="libpng", mode="one core", mb_per_s=100.0),
                        dict(codec="png-z6", decoder="libpng", mode="all cores", mb_per_s=1.0)])
    (p,) = paths_from_throughput(thr, image_bytes=50_000_000)
    assert p.cpu_seconds_per_image == pytest.approx(0.5)


@pytest.fixture(scope="module")
def tiny_results():
    cfg = Config.for_scale("smoke", **TINY)
    enc = experiments.encode_all(cfg)
    rt = experiments.roundtrip(cfg, enc)
    comp = experiments.compression(cfg, enc)
    thr = experiments.decode_throughput(cfg, enc)
    hv = experiments.host_vs_png(cfg, enc)
    fz = experiments.fuzz(cfg, side=32)
    return cfg, enc, rt, comp, thr, hv, fz


def test_experiments_on_tiny_config(tiny_results):
    cfg, enc, rt, comp, thr, hv, fz = tiny_results
    assert rt["exact"].all() and rt["header_bytes_ok"].all()
    assert set(rt["decoder"]) == {"numpy", "torch-cpu", "triton-interpreter (crop)"}
    assert comp["verified_exact"].dropna().all() and (comp["ratio"] > 0).all()
    assert set(comp["codec"]) == set(enc.codecs)
    assert {"numpy reference", "torch-cpu batched", "host parse+prefix", "encoder"} <= set(thr["decoder"])
    assert (thr["mb_per_s"] > 0).all()
    assert (hv["png_over_host"] > 0).all()
    assert not fz["outcome"].str.startswith("other").any() and fz["count"].sum() == 2 * cfg.fuzz_cases
    pipe = experiments.pipeline_model(cfg, thr)
    assert set(pipe["path"]) >= {"PNG z6 (CPU decode)"}
    wc = experiments.worst_case(cfg)
    assert wc["file_bytes"].iloc[0] == 6_491_149 and wc["lossless"].iloc[0]
    vals = experiments.claim_values(rt, wc, comp, hv, fz)
    assert vals["lossless_all_decoders"] == 0 and vals["worst_case_file_bytes"] == 6_491_149
    assert vals["fuzz_only_l3formaterror"] == 0 and set(vals) >= {"l3_ratio_vs_raw", "cpu_work_vs_png"}


def test_plots_build_from_experiment_frames(tiny_results):
    import matplotlib

    matplotlib.use("Agg")
    from artifact.l3 import plots

    cfg, enc, rt, comp, thr, hv, fz = tiny_results
    figs = [plots.plot_compression(comp), plots.plot_throughput(thr), plots.plot_host_vs_png(hv),
            plots.plot_pipeline(experiments.pipeline_model(cfg, thr))]
    assert all(f.axes for f in figs)


def test_sanity_check_passes():
    from artifact.l3 import sanity_check

    df = sanity_check()
    assert df["ok"].all(), df


# -- scripts/gpu/l3_decode.py ------------------------------------------------------------------------

def _gpu_script():
    path = Path(__file__).resolve().parents[2] / "scripts" / "gpu" / "l3_decode.py"
    spec = importlib.util.spec_from_file_location("l3_decode_script", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gpu_script_arguments():
    mod = _gpu_script()
    a = mod.parse_args([])
    assert (a.batch, a.height, a.width, a.patch, a.source) == (16, 1024, 2048, None, "auto")
    d = mod.parse_args(["--dry-run"])
    assert (d.batch, d.patch, d.iters, d.source) == (2, 16, 1, "synthetic")
    for bad in (["--patch", "7"], ["--patch", "200"], ["--batch", "0"], ["--iters", "x"], ["--warmup", "-1"]):
        with pytest.raises(SystemExit):
            mod.parse_args(bad)


def test_gpu_script_refuses_without_gpu_and_dry_run_writes_csv(tmp_path):
    import torch

    mod = _gpu_script()
    if not torch.cuda.is_available():
        assert mod.main(["--out", str(tmp_path)]) == 2  # says "needs GPU"
    assert mod.main(["--dry-run", "--no-triton", "--out", str(tmp_path)]) == 0
    df = pd.read_csv(tmp_path / "l3_decode.csv")
    assert {"torch_e2e", "png_cpu_all"} <= set(df["arm"]) and (df["images_per_s"] > 0).all()
    assert (tmp_path / "l3_decode_env.json").exists()
    imgs = mod.synthetic_images(2, 20, 30)
    assert imgs[0].shape == (20, 30, 3) and imgs[0].flags["C_CONTIGUOUS"]
    mosaic = mod._mosaic([np.full((7, 9, 3), 5, np.uint8)], 1, 20, 30)[0]
    assert (mosaic == 5).all()


def test_bench_cli_writes_csv(tmp_path, monkeypatch, capsys):
    from artifact.l3 import bench

    monkeypatch.setenv("ARTIFACT_RESULTS_DIR", str(tmp_path))
    assert bench.main(["--scale", "smoke", "--max-images", "1", "--lossless-only", "--repeats", "1",
                       "--sources", "skimage"]) == 0
    df = pd.read_csv(tmp_path / "l3" / "bench_cpu.csv")
    assert {"l3-p32", "png-z6"} <= set(df["codec"]) and (df["mb_per_s"] > 0).all()
    assert "torch-cpu batched" in capsys.readouterr().out
