"""Graph families with many automorphic node pairs.

Automorphic nodes are structurally identical, so a sign-invariant or
message-passing embedding cannot tell them apart, while positional
(sign-equivariant) encodings can. The graphs here have plenty of them:
:func:`circular_ladder` and the torus of :func:`grid_2d` are vertex
transitive (every node is automorphic to every other), the open grid has
the symmetries of a rectangle, and :func:`identical_blocks_sbm` repeats one
random block graph.

Every generator returns an ``edge_index`` like the other generators of
:mod:`pyg_signeq.data`: undirected (both directions), coalesced (sorted
row-major, no duplicates), without self-loops. The number of nodes is
stated in each docstring; :func:`as_data` wraps an ``edge_index`` into a
:class:`~torch_geometric.data.Data` with constant node features, as the
link-prediction harness wants.
"""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data

from pyg_signeq.data.graphs import _check_size, _undirected
from pyg_signeq.data.synthetic import erdos_renyi


def _check_fraction(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"'{name}' must be a float, got {type(value).__name__}"
        )
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"'{name}' must lie in [0, 1], got {value}")
    return float(value)


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"'seed' must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"'seed' must be non-negative, got {seed}")


def _coalesced(row: np.ndarray, col: np.ndarray) -> torch.Tensor:
    """Both directions of every pair, sorted row-major, no duplicates."""
    edge_index = _undirected(row.astype(np.int64), col.astype(np.int64))
    if edge_index.numel() == 0:
        return edge_index
    size = int(edge_index.max()) + 1
    order = torch.argsort(edge_index[0] * size + edge_index[1])
    return edge_index[:, order]


def circular_ladder(num_rungs: int) -> torch.Tensor:
    r"""The circular ladder (prism) graph :math:`C_n \times K_2`.

    Two cycles of ``num_rungs`` nodes, an outer one on nodes
    ``0 .. n - 1`` and an inner one on nodes ``n .. 2n - 1``, with a rung
    from node ``i`` to node ``n + i``. The graph is 3-regular and vertex
    transitive: rotating both cycles (``i -> i + 1 mod n`` on each) and
    swapping them (``i <-> n + i``) are automorphisms, so every node is
    automorphic to every other. It has :math:`2n` nodes and :math:`3n`
    undirected edges.

    Args:
        num_rungs (int): Number of rungs :math:`n`, at least 3 (fewer
            would repeat edges).

    Returns:
        torch.Tensor: Undirected, coalesced ``edge_index`` on
        ``2 * num_rungs`` nodes.

    Shapes:
        - **output**: :math:`[2, 6n]`
    """
    _check_size("num_rungs", num_rungs, 3)
    n = int(num_rungs)
    i = np.arange(n, dtype=np.int64)
    nxt = (i + 1) % n
    row = np.concatenate([i, n + i, i])
    col = np.concatenate([nxt, n + nxt, n + i])
    return _coalesced(row, col)


def grid_2d(rows: int, cols: int, periodic: bool = False) -> torch.Tensor:
    r"""A ``rows`` x ``cols`` grid graph, or a torus when ``periodic``.

    Node ``r * cols + c`` sits in row ``r`` and column ``c`` and is joined
    to its horizontal and vertical neighbours. The open grid has
    :math:`R (C - 1) + (R - 1) C` undirected edges and the symmetries of a
    rectangle (reflections; also rotations when square). With
    ``periodic=True`` the last row and column wrap around to the first,
    giving the discrete torus :math:`C_R \times C_C`: 4-regular, vertex
    transitive (every translation is an automorphism), with :math:`2 R C`
    undirected edges.

    Args:
        rows (int): Number of rows :math:`R`, at least 1 (at least 3 when
            ``periodic``).
        cols (int): Number of columns :math:`C`, at least 1 (at least 3
            when ``periodic``).
        periodic (bool): Wrap both directions around into a torus.
            (default: :obj:`False`)

    Returns:
        torch.Tensor: Undirected, coalesced ``edge_index`` on
        ``rows * cols`` nodes.

    Shapes:
        - **output**: :math:`[2, 2E]`, :math:`E` the undirected edges
    """
    minimum = 3 if periodic else 1
    _check_size("rows", rows, minimum)
    _check_size("cols", cols, minimum)
    if not isinstance(periodic, bool):
        raise TypeError(
            f"'periodic' must be a bool, got {type(periodic).__name__}"
        )
    rows, cols = int(rows), int(cols)
    r, c = np.divmod(np.arange(rows * cols, dtype=np.int64), cols)
    if periodic:
        # A torus of at least 3 x 3 has no repeated wrap-around edges.
        right = r * cols + (c + 1) % cols
        down = ((r + 1) % rows) * cols + c
        row = np.concatenate([r * cols + c, r * cols + c])
        col = np.concatenate([right, down])
    else:
        has_right = c + 1 < cols
        has_down = r + 1 < rows
        node = r * cols + c
        row = np.concatenate([node[has_right], node[has_down]])
        col = np.concatenate([node[has_right] + 1, node[has_down] + cols])
    return _coalesced(row, col)


def identical_blocks_sbm(
    num_blocks: int,
    block_size: int,
    p_in: float,
    p_out: float,
    seed: int,
) -> torch.Tensor:
    r"""A stochastic block model whose blocks are copies of one graph.

    One Erdos-Renyi graph :math:`G(b, p_{in})` on ``block_size`` nodes is
    drawn and copied into every block: node ``i`` of block ``c`` gets id
    ``c * block_size + i``, so shifting ids by ``block_size`` maps the
    edges inside block ``c`` exactly onto those inside block ``c + 1``.
    Then every pair of nodes in *different* blocks is joined independently
    with probability ``p_out``.

    Only the structure inside the blocks is copied. The edges between
    blocks are drawn independently and are not symmetric under swapping
    blocks, so with ``p_out > 0`` the copies are automorphic only up to
    those sparse edges (as in the paper's nearly symmetric graphs).
    The block of node ``v`` is ``v // block_size``. Expected undirected
    edges: :math:`K \binom{b}{2} p_{in} + \binom{K}{2} b^2 p_{out}` for
    :math:`K` blocks of :math:`b` nodes.

    Args:
        num_blocks (int): Number of blocks :math:`K`, at least 1.
        block_size (int): Nodes per block :math:`b`, at least 2.
        p_in (float): Edge probability inside the block graph, in
            :math:`[0, 1]`.
        p_out (float): Edge probability of every pair across two blocks,
            in :math:`[0, 1]`.
        seed (int): Seed of all random choices; the block graph and the
            edges between blocks come from independent streams.

    Returns:
        torch.Tensor: Undirected, coalesced ``edge_index`` on
        ``num_blocks * block_size`` nodes.

    Shapes:
        - **output**: :math:`[2, 2E]`, :math:`E` the undirected edges
    """
    _check_size("num_blocks", num_blocks, 1)
    _check_size("block_size", block_size, 2)
    p_in = _check_fraction("p_in", p_in)
    p_out = _check_fraction("p_out", p_out)
    _check_seed(seed)
    num_blocks, block_size = int(num_blocks), int(block_size)
    num_nodes = num_blocks * block_size

    block_seed, cross_seed = (
        int(s.generate_state(1)[0])
        for s in np.random.SeedSequence(seed).spawn(2)
    )
    block = erdos_renyi(block_size, p_in, block_seed).numpy()
    u, w = block[:, block[0] < block[1]]
    offsets = np.arange(num_blocks, dtype=np.int64)[:, None] * block_size
    row = (u[None, :] + offsets).reshape(-1)
    col = (w[None, :] + offsets).reshape(-1)

    if num_blocks > 1 and p_out > 0.0:
        # Every pair of all nodes with probability p_out, then the pairs
        # inside one block dropped: each cross pair stays independently
        # with probability p_out.
        cross = erdos_renyi(num_nodes, p_out, cross_seed).numpy()
        cu, cw = cross[:, cross[0] < cross[1]]
        keep = cu // block_size != cw // block_size
        row = np.concatenate([row, cu[keep]])
        col = np.concatenate([col, cw[keep]])
    return _coalesced(row, col)


def as_data(edge_index: torch.Tensor, num_nodes: int) -> Data:
    """Wrap a generated graph into a :class:`~torch_geometric.data.Data`.

    The node features are constant, ``x = ones(N, 1)``, the protocol of
    the synthetic link-prediction experiments, where only the structure
    (and positional encodings) can tell nodes apart.

    Args:
        edge_index (torch.Tensor): Edges of the graph.
        num_nodes (int): Number of nodes :math:`N`; needed because
            isolated nodes do not show in ``edge_index``.

    Returns:
        torch_geometric.data.Data: A graph with ``x``, ``edge_index`` and
        ``num_nodes``.

    Shapes:
        - **edge_index**: :math:`[2, E]`
        - **x**: :math:`[N, 1]`
    """
    if not isinstance(edge_index, torch.Tensor):
        raise TypeError(
            f"'edge_index' must be a torch.Tensor, got "
            f"{type(edge_index).__name__}"
        )
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(
            f"'edge_index' must have shape [2, E], got "
            f"{list(edge_index.shape)}"
        )
    _check_size("num_nodes", num_nodes, 1)
    if edge_index.numel() and int(edge_index.max()) >= num_nodes:
        raise ValueError(
            f"'num_nodes' must exceed every node id in 'edge_index' "
            f"(largest {int(edge_index.max())}), got {num_nodes}"
        )
    return Data(
        x=torch.ones(num_nodes, 1),
        edge_index=edge_index,
        num_nodes=int(num_nodes),
    )
