"""On-disk dataset: build/resume/verify, O_DIRECT reads, I/O accounting vs /proc/self/io."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from artifact.ginex import storage
from artifact.ginex.config import Config
from artifact.ginex.storage import PAGE


def test_manifest_and_files(smoke_ds, smoke_cfg):
    m = smoke_ds.manifest
    assert m["params"]["graph_scale"] == smoke_cfg.graph_scale and m["feat_dim"] == smoke_cfg.feat_dim
    for name, meta in m["files"].items():
        assert (smoke_ds.path / name).stat().st_size % PAGE == 0, "files are padded to 4 KiB"
        assert {"crc32", "sampled_crc32", "dtype", "shape"} <= set(meta)
    assert smoke_ds.indptr[-1] == smoke_ds.num_edges
    assert np.array_equal(smoke_ds.indices_memmap(), smoke_ds.load_indices())


def test_build_is_idempotent(ginex_root, smoke_cfg, smoke_ds):
    mtimes = {p.name: p.stat().st_mtime_ns for p in smoke_ds.path.iterdir()}
    storage.build_dataset(smoke_cfg, root=ginex_root, progress=False)
    assert mtimes == {p.name: p.stat().st_mtime_ns for p in smoke_ds.path.iterdir()}


def test_build_resumes_after_interruption(tmp_path, monkeypatch, ginex_root, smoke_cfg, smoke_ds):
    from artifact.ginex import graph as G
    monkeypatch.setattr(storage, "FEATURE_CHUNK_BYTES", 64 * 256 * 4)   # 256-row chunks
    real, calls = G.feature_chunk, []

    def flaky(*a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt("simulated crash")
        return real(*a, **k)
    monkeypatch.setattr(G, "feature_chunk", flaky)
    with pytest.raises(KeyboardInterrupt):
        storage.build_dataset(smoke_cfg, root=tmp_path, progress=False)
    out = tmp_path / smoke_cfg.name
    assert not (out / "manifest.json").exists() and (out / "features.dat.partial").exists()
    state = json.loads((out / "build_state.json").read_text())
    assert state["feature_rows_done"] == 512
    storage.build_dataset(smoke_cfg, root=tmp_path, progress=False)
    assert len(calls) == 3 + (smoke_cfg.num_nodes - 512) // 256, "resumed chunks, not restarted"
    for name in ("features.dat", "indices.dat", "indptr.dat"):
        assert (out / name).read_bytes() == (smoke_ds.path / name).read_bytes()


def test_corrupt_or_missing_file_is_reported(tmp_path, smoke_ds):
    dst = tmp_path / "copy"
    shutil.copytree(smoke_ds.path, dst)
    with open(dst / "indices.dat", "r+b") as f:
        f.seek(0)
        f.write(b"\xff" * 16)
    with pytest.raises(storage.DatasetError, match="indices.dat.*corrupt|checksum mismatch in .*indices.dat"):
        storage.DiskDataset(dst)
    shutil.copy(smoke_ds.path / "indices.dat", dst / "indices.dat")
    assert storage.DiskDataset(dst).num_nodes == smoke_ds.num_nodes   # repaired copy opens
    (dst / "labels.dat").unlink()
    with pytest.raises(storage.DatasetError, match="labels.dat is missing.*rebuild"):
        storage.DiskDataset(dst)
    shutil.copy(smoke_ds.path / "labels.dat", dst / "labels.dat")
    os.truncate(dst / "features.dat", 4096)
    with pytest.raises(storage.DatasetError, match="features.dat"):
        storage.DiskDataset(dst, verify="sampled")


def test_other_params_in_folder_is_an_error(ginex_root, smoke_cfg, smoke_ds):
    cfg = Config.for_scale("smoke", graph_scale=12, feat_dim=64, feature_noise=1.0)
    with pytest.raises(storage.DatasetError, match="other parameters"):
        storage.build_dataset(cfg, root=ginex_root, progress=False)


def test_disk_space_checked_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(storage.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10, 9, 1))
    cfg = Config.for_scale("smoke", graph_scale=11)
    with pytest.raises(storage.DiskSpaceError, match="needs about .* GiB"):
        storage.build_dataset(cfg, root=tmp_path, progress=False)
    assert not any((tmp_path / cfg.name).glob("*.dat"))


def test_o_direct_probe_failure_names_filesystem_and_escape_hatch(tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "probe_o_direct", lambda d: (False, "EINVAL"))
    with pytest.raises(storage.ODirectUnavailableError, match="filesystem .* ARTIFACT_GENERATED_DIR.*allow_buffered"):
        storage.require_o_direct(tmp_path, allow_buffered=False)
    with pytest.warns(RuntimeWarning, match="buffered"):
        assert storage.require_o_direct(tmp_path, allow_buffered=True) == "buffered"


def test_probe_works_on_this_disk(tmp_path):
    ok, reason = storage.probe_o_direct(tmp_path)
    assert isinstance(ok, bool) and reason
    assert not list(tmp_path.iterdir()), "probe file removed"


@pytest.mark.parametrize("which", ["smoke_ds", "straddle_ds"])
def test_read_rows_equal_file_and_requests_are_page_exact(which, request):
    ds = request.getfixturevalue(which)
    rng = np.random.default_rng(0)
    ids = rng.choice(ds.num_nodes, min(500, ds.num_nodes), replace=False)
    ds.counter.reset()
    x = ds.read_rows(ids)
    assert np.array_equal(x, ds.features_memmap()[ids])
    off = ids * ds.row_bytes
    straddles = (off // PAGE) != ((off + ds.row_bytes - 1) // PAGE)
    st = ds.counter.get("gather")
    assert st.requests == ids.size
    assert st.bytes == PAGE * ids.size + PAGE * int(straddles.sum())
    if ds.feat_dim == 768:
        assert straddles.mean() > 0.4, "3 KiB rows straddle pages about half the time"


def test_counter_equals_proc_read_bytes(smoke_ds):
    if smoke_ds.io_mode != "o_direct" or storage.proc_read_bytes() is None:
        pytest.skip("needs O_DIRECT and /proc/self/io")
    rng = np.random.default_rng(1)
    ids = rng.choice(smoke_ds.num_nodes, 300, replace=False)
    smoke_ds.read_rows(ids[:5])   # warm up code paths
    smoke_ds.counter.reset()
    r0 = storage.proc_read_bytes()
    smoke_ds.read_rows(ids, stage="gather")
    smoke_ds.read_neighbors(ids, stage="sample")
    smoke_ds.read_pages(np.arange(10), stage="pages")
    r1 = storage.proc_read_bytes()
    assert smoke_ds.counter.total().bytes == r1 - r0
    # O_DIRECT bypasses the page cache: reading the same rows again costs the same bytes again
    r2 = storage.proc_read_bytes()
    smoke_ds.read_rows(ids)
    assert storage.proc_read_bytes() - r2 == smoke_ds.counter.get("gather").bytes // 2


def test_read_neighbors_equal_csc(smoke_ds):
    ind = smoke_ds.indices_memmap()
    nodes = np.arange(0, smoke_ds.num_nodes, 7)
    smoke_ds.counter.reset()
    flat, ptr = smoke_ds.read_neighbors(nodes)
    for k, v in enumerate(nodes):
        assert np.array_equal(flat[ptr[k]:ptr[k + 1]], ind[smoke_ds.indptr[v]:smoke_ds.indptr[v + 1]])
    assert smoke_ds.counter.get("sample").requests == int((smoke_ds.in_degree[nodes] > 0).sum())


def test_bad_ids_rejected(smoke_ds):
    with pytest.raises(IndexError):
        smoke_ds.read_rows(np.array([smoke_ds.num_nodes]))


def test_buffered_escape_hatch_is_labelled_and_still_exact(monkeypatch, smoke_ds):
    monkeypatch.setattr(storage, "probe_o_direct", lambda d: (False, "EINVAL (simulated tmpfs)"))
    with pytest.raises(storage.ODirectUnavailableError, match="allow_buffered=True"):
        storage.DiskDataset(smoke_ds.path, verify="none")
    with pytest.warns(RuntimeWarning, match="buffered"):
        ds = storage.DiskDataset(smoke_ds.path, verify="none", allow_buffered=True, io_threads=2)
    try:
        assert ds.io_mode == "buffered"
        ids = np.arange(0, ds.num_nodes, 97)
        assert np.array_equal(ds.read_rows(ids), ds.features_memmap()[ids])
        assert ds.counter.get("gather").requests == ids.size
    finally:
        ds.close()


@pytest.mark.parametrize("feat_dim", [100, 1500])   # 400 B rows; 6000 B rows spanning 2-3 pages
def test_odd_and_wide_rows(tmp_path, feat_dim):
    cfg = Config.for_scale("smoke", graph_scale=8, feat_dim=feat_dim)
    with storage.DiskDataset(storage.build_dataset(cfg, root=tmp_path, progress=False), io_threads=3) as ds:
        ids = np.random.default_rng(feat_dim).permutation(ds.num_nodes)[:120]
        assert np.array_equal(ds.read_rows(ids), ds.features_memmap()[ids])
        assert ds.counter.get("gather").bytes == int(storage.row_read_bytes(ids, ds.row_bytes).sum())
        spans = storage.row_read_bytes(ids, ds.row_bytes) // PAGE
        assert spans.max() == (3 if feat_dim == 1500 else 2)
        from artifact.ginex.caches import PageLRUCache
        lru = PageLRUCache(ds, ds.feature_bytes // 5)
        for part in (ids[:60], ids[30:]):
            assert np.array_equal(lru.gather(part)[0], ds.features_memmap()[part])
