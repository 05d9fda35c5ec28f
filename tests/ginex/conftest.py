"""Fixtures for the Ginex storage/sampler/cache tests: tiny datasets built once per session."""
from __future__ import annotations

import pytest

from artifact.ginex import storage
from artifact.ginex.config import Config


@pytest.fixture(scope="session")
def ginex_root(tmp_path_factory):
    return tmp_path_factory.mktemp("ginex_data")


@pytest.fixture(scope="session")
def smoke_cfg():
    return Config.for_scale("smoke", graph_scale=12, feat_dim=64)


@pytest.fixture(scope="session")
def smoke_ds(ginex_root, smoke_cfg):
    ds = storage.DiskDataset(storage.build_dataset(smoke_cfg, root=ginex_root, progress=False), io_threads=4)
    yield ds
    ds.close()


@pytest.fixture(scope="session")
def straddle_ds(ginex_root):
    """F = 768: 3 KiB rows, most straddle two 4 KiB pages (Fig. 17's effect)."""
    cfg = Config.for_scale("smoke", graph_scale=9, feat_dim=768)
    ds = storage.DiskDataset(storage.build_dataset(cfg, root=ginex_root, progress=False), io_threads=4)
    yield ds
    ds.close()
