"""3-layer GraphSAGE trained by both pipelines (Ginex paper §5.1; original ``sage.py``).

The original model is PyG ``SAGEConv`` x 3 with ReLU + dropout 0.5 between layers,
``log_softmax`` + NLL loss and Adam (lr 0.003), hidden dimension 256, fan-out (10, 10, 10),
batch 1000 (spec ``papers/ginex.md`` §3.3). We use PyG's ``SAGEConv`` on a plain per-hop
``edge_index`` (no ``torch-sparse`` / ``pyg-lib``), in the bipartite "mini-batch of blocks"
form of PyG's classic ``NeighborSampler`` example:

* ``x`` holds the features of every node of the sampled subgraph, ordered so that the
  destination nodes of each hop are a prefix of its source nodes (seeds first);
* ``hops[l] = (edge_index, (n_src, n_dst))`` goes from the outermost hop (l = 0) inwards;
  ``edge_index[0]`` indexes sources (rows of ``x``), ``edge_index[1]`` destinations.

Determinism: :func:`train_step` reseeds torch's RNG from ``(seed, epoch, step)`` before the
dropout masks are drawn, so a step's loss depends only on the model state, the batch and that
key -- not on which pipeline fed it or what other threads did (the test that Ginex, PyG+ and
an all-in-memory run give identical losses relies on this).

Example::

    >>> model = GraphSAGE(in_channels=16, hidden_channels=32, out_channels=4, seed=0)
    >>> x = torch.randn(6, 16); hops = [(torch.tensor([[2, 3, 4, 5], [0, 0, 1, 1]]), (6, 2))]
    >>> GraphSAGE(16, 32, 4, num_layers=1)(x, hops).shape
    torch.Size([2, 4])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import SAGEConv

Hop = tuple[torch.Tensor, tuple[int, int]]  # (edge_index (2, E) int64, (n_src, n_dst))


@dataclass(frozen=True)
class ModelConfig:
    """Model and optimiser sizes (paper defaults; presets reduce ``hidden`` per scale)."""

    hidden: int = 256  # hidden dimension (paper: 256)
    num_layers: int = 3  # = len(fanouts) (paper: 3)
    dropout: float = 0.5  # between layers (original sage.py)
    lr: float = 0.003  # Adam learning rate (paper: 0.003)


class GraphSAGE(nn.Module):
    """GraphSAGE over sampled blocks; returns log-probabilities of the ``n_dst`` seed nodes."""

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int = 3,
        dropout: float = 0.5,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if seed is not None:
            torch.manual_seed(seed)  # deterministic initial weights
        dims = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.convs = nn.ModuleList(SAGEConv(dims[i], dims[i + 1]) for i in range(num_layers))
        self.dropout = dropout

    def forward(self, x: torch.Tensor, hops: Sequence[Hop]) -> torch.Tensor:
        if len(hops) != len(self.convs):
            raise ValueError(f"model has {len(self.convs)} layers but got {len(hops)} hops")
        for layer, (edge_index, (n_src, n_dst)) in enumerate(hops):
            if x.shape[0] < n_src:
                raise ValueError(f"hop {layer}: x has {x.shape[0]} rows, the block needs {n_src}")
            x_src = x[:n_src]  # (n_src, d)
            x_dst = x_src[:n_dst]  # (n_dst, d): destinations are a prefix of the sources
            x = self.convs[layer]((x_src, x_dst), edge_index)  # (n_dst, d')
            if layer != len(self.convs) - 1:
                x = F.relu(x)
                x = F.dropout(x, p=self.dropout, training=self.training)
        return x.log_softmax(dim=-1)  # (n_seeds, classes)


def build_model(in_channels: int, num_classes: int, cfg: ModelConfig, seed: int) -> tuple[GraphSAGE, torch.optim.Adam]:
    """Model with weights drawn from ``seed`` and its Adam optimiser (lr ``cfg.lr``)."""
    model = GraphSAGE(in_channels, cfg.hidden, num_classes, cfg.num_layers, cfg.dropout, seed=seed)
    return model, torch.optim.Adam(model.parameters(), lr=cfg.lr)


def step_seed(seed: int, epoch: int, step: int) -> int:
    """The torch seed for one training step (dropout masks), independent of the pipeline."""
    return int(np.random.SeedSequence([seed, epoch, step]).generate_state(1)[0])


def to_hops(adjs: Sequence[tuple[np.ndarray, tuple[int, int]]]) -> list[Hop]:
    """numpy ``(edge_index (2, E), (n_src, n_dst))`` blocks -> torch hops (zero copy for int64)."""
    return [(torch.from_numpy(np.ascontiguousarray(ei, dtype=np.int64)), (int(s[0]), int(s[1]))) for ei, s in adjs]


def train_step(
    model: GraphSAGE,
    optimizer: torch.optim.Optimizer,
    x: np.ndarray | torch.Tensor,
    hops: Sequence[Hop],
    y: np.ndarray | torch.Tensor,
    *,
    seed: int,
) -> float:
    """One forward/backward/update on a gathered batch; returns the NLL loss.

    ``x``: (n_nodes, F) float32 features in block order; ``y``: (n_seeds,) int64 labels.
    """
    x_t = torch.from_numpy(x) if isinstance(x, np.ndarray) else x
    y_t = torch.from_numpy(np.asarray(y, dtype=np.int64)) if isinstance(y, np.ndarray) else y.long()
    torch.manual_seed(seed)
    model.train()
    optimizer.zero_grad(set_to_none=True)
    out = model(x_t, hops)  # (n_seeds, classes)
    loss = F.nll_loss(out, y_t)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


@torch.no_grad()
def evaluate(model: GraphSAGE, x: np.ndarray | torch.Tensor, hops: Sequence[Hop], y: np.ndarray) -> float:
    """Accuracy of the seed-node predictions of one block (eval mode, no dropout)."""
    x_t = torch.from_numpy(x) if isinstance(x, np.ndarray) else x
    model.eval()
    pred = model(x_t, hops).argmax(dim=-1).numpy()
    return float((pred == np.asarray(y)).mean())
