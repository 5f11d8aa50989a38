"""Random graph families that scale to millions of nodes."""

from __future__ import annotations

import numpy as np
import torch


def _check_size(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"'{name}' must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"'{name}' must be at least {minimum}, got {value}")


def _undirected(row: np.ndarray, col: np.ndarray) -> torch.Tensor:
    """Both directions of every edge, without self-loops or duplicates."""
    keep = row != col
    lo = np.minimum(row[keep], col[keep])
    hi = np.maximum(row[keep], col[keep])
    # One int64 key per pair: a 1-D unique is far faster than a 2-D one.
    size = int(hi.max()) + 1 if hi.size else 1
    key = np.unique(lo * size + hi)
    lo, hi = key // size, key % size
    edge_index = np.stack([np.r_[lo, hi], np.r_[hi, lo]])
    return torch.from_numpy(np.ascontiguousarray(edge_index))


def barabasi_albert(num_nodes: int, num_edges: int, seed: int) -> torch.Tensor:
    """A Barabasi-Albert preferential-attachment graph in linear time.

    Every new node attaches ``num_edges`` edges to earlier nodes chosen with
    probability proportional to their degree, by the method of Batagelj and
    Brandes (2005): endpoint ``2j + 1`` of the ``j``-th edge copies a
    uniformly random earlier endpoint. The copies are resolved by pointer
    jumping, so the whole graph is built with vectorized numpy. Repeated
    edges are merged and self-loops dropped, so a few nodes end up with
    fewer than ``num_edges`` edges to earlier nodes.

    Args:
        num_nodes (int): Number of nodes.
        num_edges (int): Edges added per node.
        seed (int): Random seed.

    Returns:
        torch.Tensor: Undirected ``edge_index`` (both directions).

    Shapes:
        - **output**: :math:`[2, E]`
    """
    _check_size("num_nodes", num_nodes, 2)
    _check_size("num_edges", num_edges, 1)
    rng = np.random.default_rng(seed)
    total = num_nodes * num_edges
    j = np.arange(total, dtype=np.int64)
    ends = np.empty(2 * total, dtype=np.int64)
    ends[0::2] = j // num_edges
    # Position 2j + 1 copies a uniform earlier position r in [0, 2j].
    ptr = (rng.random(total) * (2 * j + 1)).astype(np.int64)
    ptr = np.minimum(ptr, 2 * j)
    source = np.arange(2 * total, dtype=np.int64)
    source[1::2] = ptr
    # Follow copies back until every position points at an even (node)
    # position; each round halves the remaining chains.
    while True:
        odd = source % 2 == 1
        if not odd.any():
            break
        source[odd] = source[source[odd]]
    ends = ends[source]
    return _undirected(ends[0::2], ends[1::2])


def random_regular(num_nodes: int, degree: int, seed: int) -> torch.Tensor:
    """A random ``degree``-regular graph as a union of Hamiltonian cycles.

    Overlays ``degree // 2`` independent uniformly random Hamiltonian
    cycles, a standard model of random regular graphs (contiguous to the
    uniform model). Repeated edges are merged, so a vanishing fraction of
    nodes has degree ``degree - 2``.

    Args:
        num_nodes (int): Number of nodes, at least 3.
        degree (int): An even degree, at least 2.
        seed (int): Random seed.

    Returns:
        torch.Tensor: Undirected ``edge_index`` (both directions).

    Shapes:
        - **output**: :math:`[2, E]`
    """
    _check_size("num_nodes", num_nodes, 3)
    _check_size("degree", degree, 2)
    if degree % 2:
        raise ValueError(f"'degree' must be even, got {degree}")
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for _ in range(degree // 2):
        perm = rng.permutation(num_nodes)
        rows.append(perm)
        cols.append(np.roll(perm, 1))
    return _undirected(np.concatenate(rows), np.concatenate(cols))
