"""Erdos-Renyi graphs and the paper's nearly symmetric graphs.

:func:`nearly_symmetric` builds the graphs of the synthetic link-prediction
experiment of Lim et al., "Expressive Sign Equivariant Networks for
Spectral Geometric Learning" (NeurIPS 2023): identical disjoint copies of
one random graph, made slightly asymmetric by a few random edges across
all nodes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data

from pyg_signeq.data.graphs import _check_size, _undirected, barabasi_albert

FAMILIES: tuple[str, ...] = ("er", "ba")
"""The base-graph families :func:`nearly_symmetric` accepts."""


def _check_probability(p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)):
        raise TypeError(f"'p' must be a float, got {type(p).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"'p' must lie in [0, 1], got {p}")
    return float(p)


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"'seed' must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"'seed' must be non-negative, got {seed}")


def _pair_from_index(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map ``t`` to the ``t``-th pair ``(u, w)``, ``u < w``, by ``w``.

    Pairs are ordered as ``(0, 1), (0, 2), (1, 2), (0, 3), ...``, so pair
    ``t`` has ``w`` the largest integer with ``w (w - 1) / 2 <= t`` and
    ``u = t - w (w - 1) / 2``.
    """
    w = np.floor((1.0 + np.sqrt(1.0 + 8.0 * index)) / 2.0).astype(np.int64)
    # The float square root can be off by one for large t; fix it exactly
    # in integers.
    w -= (w * (w - 1) // 2 > index).astype(np.int64)
    w += ((w + 1) * w // 2 <= index).astype(np.int64)
    return index - w * (w - 1) // 2, w


def erdos_renyi(num_nodes: int, p: float, seed: int) -> torch.Tensor:
    r"""An Erdos-Renyi graph :math:`G(n, p)` in time linear in its edges.

    Every one of the :math:`n (n - 1) / 2` node pairs is an edge with
    probability ``p``, independently. The pairs are enumerated in a fixed
    order and the gaps between consecutive edges are drawn from the
    geometric distribution, as in Batagelj and Brandes (2005), so the
    graph is built with vectorized numpy without visiting every pair.

    Args:
        num_nodes (int): Number of nodes, at least 2.
        p (float): Edge probability in :math:`[0, 1]`.
        seed (int): Seed of :func:`numpy.random.default_rng`.

    Returns:
        torch.Tensor: Undirected ``edge_index`` (both directions, no
        self-loops, no duplicates), sorted by source node.

    Shapes:
        - **output**: :math:`[2, E]`
    """
    _check_size("num_nodes", num_nodes, 2)
    p = _check_probability(p)
    _check_seed(seed)
    num_pairs = num_nodes * (num_nodes - 1) // 2
    if p == 0.0:
        return torch.empty(2, 0, dtype=torch.long)
    rng = np.random.default_rng(seed)
    # Draw gaps in chunks sized to the expected count until the positions
    # run past the last pair.
    chunk = int(num_pairs * p * 1.05) + 64
    positions = []
    last = -1
    while last < num_pairs:
        gaps = rng.geometric(p, size=chunk)
        steps = last + np.cumsum(gaps)
        positions.append(steps)
        last = int(steps[-1])
    index = np.concatenate(positions)
    index = index[index < num_pairs]
    row, col = _pair_from_index(index)
    edge_index = _undirected(row, col)
    return _sort_by_row(edge_index)


def _sort_by_row(edge_index: torch.Tensor) -> torch.Tensor:
    # Row-major order, as torch_geometric.utils.coalesce would give.
    if edge_index.numel() == 0:
        return edge_index
    size = int(edge_index.max()) + 1
    order = torch.argsort(edge_index[0] * size + edge_index[1])
    return edge_index[:, order]


def _extra_edges(
    existing: np.ndarray,
    num_nodes: int,
    num_extra_edges: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw distinct new edges, uniformly among the non-edges.

    ``existing`` holds the keys ``u * num_nodes + w`` (``u < w``) of the
    present edges. Pairs are drawn uniformly with ``u != w`` and kept in
    the order drawn unless they are an edge already or were drawn before,
    which makes the result a uniform sample without replacement from the
    non-edges.
    """
    chosen = np.empty(0, dtype=np.int64)
    while chosen.size < num_extra_edges:
        size = 2 * (num_extra_edges - chosen.size) + 16
        u = rng.integers(0, num_nodes, size=size)
        # An offset in [1, num_nodes) never lands on u itself and leaves
        # the other end uniform over the remaining nodes.
        w = (u + rng.integers(1, num_nodes, size=size)) % num_nodes
        key = np.minimum(u, w) * num_nodes + np.maximum(u, w)
        key = key[~np.isin(key, existing) & ~np.isin(key, chosen)]
        # Keep the first draw of each pair, in the order drawn.
        _, first = np.unique(key, return_index=True)
        key = key[np.sort(first)]
        chosen = np.concatenate([chosen, key[: num_extra_edges - chosen.size]])
    return chosen // num_nodes, chosen % num_nodes


def nearly_symmetric(
    family: str = "er",
    base_nodes: int = 1000,
    num_copies: int = 2,
    num_extra_edges: int = 1000,
    seed: int = 0,
    p: float = 0.05,
    m: int = 20,
) -> Data:
    r"""Identical copies of one random graph joined by a few random edges.

    The graph of the paper's synthetic link-prediction experiment (Lim et
    al., NeurIPS 2023): one base graph on ``base_nodes`` nodes, Erdos-Renyi
    with edge probability ``p`` (``family="er"``) or Barabasi-Albert with
    ``m`` edges per new node (``family="ba"``, see
    :func:`~pyg_signeq.data.barabasi_albert`), is copied ``num_copies``
    times as disjoint graphs; node ``i`` of copy ``c`` gets id
    ``c * base_nodes + i``. Then ``num_extra_edges`` edges are added
    uniformly at random across all nodes. The copies are exact
    automorphic images of each other up to those extra edges, which is
    what makes positions matter.

    Extra edges are distinct, are not self-loops and are not edges of the
    copies: a draw that would be one is redrawn, so the graph has exactly
    ``num_copies * E_base + num_extra_edges`` undirected edges. (The
    authors' script draws 1000 pairs and lets repeats merge, so its graphs
    have a few extra edges fewer, and may have self-loops.)

    The base graph and the extra edges come from independent streams of
    ``seed``, so graphs with the same base but different extra edges can be
    compared by changing ``num_extra_edges`` only.

    Args:
        family (str): ``"er"`` or ``"ba"``. (default: :obj:`"er"`)
        base_nodes (int): Nodes of the base graph. (default: :obj:`1000`)
        num_copies (int): Disjoint copies of the base graph.
            (default: :obj:`2`)
        num_extra_edges (int): Random undirected edges added across all
            nodes. (default: :obj:`1000`)
        seed (int): Seed of all random choices. (default: :obj:`0`)
        p (float): Edge probability of the Erdos-Renyi base graph; ignored
            for ``"ba"``. (default: :obj:`0.05`)
        m (int): Edges per new node of the Barabasi-Albert base graph;
            ignored for ``"er"``. (default: :obj:`20`)

    Returns:
        torch_geometric.data.Data: A graph with ``x = ones(N, 1)``,
        ``edge_index`` (undirected with both directions, coalesced, no
        self-loops), ``num_nodes`` and ``copy``, the copy every node
        belongs to.

    Shapes:
        - **x**: :math:`[N, 1]` with :math:`N` = ``num_copies *
          base_nodes``
        - **edge_index**: :math:`[2, E]`
        - **copy**: :math:`[N]`, dtype ``torch.long``
    """
    if family not in FAMILIES:
        raise ValueError(f"'family' must be one of {FAMILIES}, got {family!r}")
    _check_size("base_nodes", base_nodes, 2)
    _check_size("num_copies", num_copies, 1)
    _check_size("num_extra_edges", num_extra_edges, 0)
    _check_seed(seed)
    if family == "er":
        p = _check_probability(p)
    else:
        _check_size("m", m, 1)

    base_seed, extra_seed = np.random.SeedSequence(seed).spawn(2)
    base_seed = int(base_seed.generate_state(1)[0])
    if family == "er":
        base = erdos_renyi(base_nodes, p, base_seed)
    else:
        base = barabasi_albert(base_nodes, m, base_seed)
    base = base[:, base[0] < base[1]].numpy()

    num_nodes = num_copies * base_nodes
    offsets = np.arange(num_copies, dtype=np.int64) * base_nodes
    row = (base[0][None, :] + offsets[:, None]).reshape(-1)
    col = (base[1][None, :] + offsets[:, None]).reshape(-1)

    num_pairs = num_nodes * (num_nodes - 1) // 2
    if num_extra_edges > num_pairs - row.size:
        raise ValueError(
            f"'num_extra_edges' must be at most the {num_pairs - row.size} "
            f"node pairs that are not edges yet, got {num_extra_edges}"
        )
    existing = np.sort(row * num_nodes + col)
    extra_row, extra_col = _extra_edges(
        existing, num_nodes, num_extra_edges, np.random.default_rng(extra_seed)
    )
    edge_index = _undirected(np.r_[row, extra_row], np.r_[col, extra_col])
    copy = torch.arange(num_copies).repeat_interleave(base_nodes)

    return Data(
        x=torch.ones(num_nodes, 1),
        edge_index=_sort_by_row(edge_index),
        num_nodes=num_nodes,
        copy=copy,
    )
