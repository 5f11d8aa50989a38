"""Small hand-made graphs shared by the tests of ``pyg_signeq.nn``.

Test files reach the helpers through the factory fixtures ``make_graph``
and ``random_pe``, never by importing this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch import Tensor


@dataclass
class Graph:
    """A test graph: connectivity, optional weights and batch vector."""

    num_nodes: int
    edge_index: Tensor
    edge_weight: Tensor | None = None
    batch: Tensor | None = None


def _undirected(pairs: list[tuple[int, int]]) -> Tensor:
    edge_index = torch.tensor(pairs, dtype=torch.long).T
    return torch.cat([edge_index, edge_index.flip(0)], dim=1)


def _random_edges(num_nodes: int, p: float, seed: int) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    upper = torch.rand(num_nodes, num_nodes, generator=generator) < p
    upper = torch.triu(upper, diagonal=1)
    return (upper | upper.T).nonzero().T.contiguous()


def _make_graph(kind: str) -> Graph:
    if kind == "connected":
        # A 7-cycle with two chords: connected, irregular.
        pairs = [(i, (i + 1) % 7) for i in range(7)] + [(0, 3), (2, 5)]
        return Graph(7, _undirected(pairs))
    if kind == "disconnected":
        # A triangle, a path of three and two isolated nodes (7 and 8).
        pairs = [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5)]
        return Graph(9, _undirected(pairs))
    if kind == "weighted":
        edge_index = _random_edges(10, 0.4, seed=3)
        generator = torch.Generator().manual_seed(4)
        weight = torch.rand(edge_index.size(1), generator=generator) + 0.5
        return Graph(10, edge_index, edge_weight=weight)
    if kind == "batched":
        # Two graphs of one batch; the second has an isolated node.
        first = _undirected([(0, 1), (1, 2), (2, 3), (3, 0), (0, 2)])
        second = _undirected([(0, 1), (1, 2)]) + 4
        batch = torch.tensor([0] * 4 + [1] * 4)
        return Graph(8, torch.cat([first, second], dim=1), batch=batch)
    raise ValueError(kind)


def _random_pe(num_nodes: int, *shape: int, seed: int) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(num_nodes, *shape, generator=generator)


@pytest.fixture(params=["connected", "disconnected", "weighted", "batched"])
def graph(request: pytest.FixtureRequest) -> Graph:
    return _make_graph(request.param)


@pytest.fixture
def make_graph() -> Callable[[str], Graph]:
    return _make_graph


@pytest.fixture
def random_pe() -> Callable[..., Tensor]:
    return _random_pe
