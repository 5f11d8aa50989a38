r"""Node clustering on graphs whose clusters are symmetric copies.

:func:`symmetric_blocks` builds a graph of :math:`2^m` identical blocks (one
random graph copied into every block) joined along the edges of an
:math:`m`-dimensional hypercube of blocks, with the same bridges repeated
for every pair of neighbouring blocks. Relabelling block :math:`b` as
:math:`b \oplus g` (bitwise exclusive or with a fixed :math:`g`) maps the
graph onto itself, so every cluster is an automorphic copy of every other:
structure alone cannot say which cluster a node is in, only where it is.

Why a hypercube of :math:`2^m` blocks and not, say, a ring of three. The
block symmetries :math:`\{b \mapsto b \oplus g\}` form the group
:math:`(\mathbb{Z}_2)^m`, whose irreducible representations are all one
dimensional with characters :math:`\pm 1`. Every Laplacian eigenvector of
a generic such graph is therefore either even or odd under each symmetry:
the permutation :math:`P_g` of the nodes acts on the eigenvectors as a sign
flip, :math:`P_g V = V S_g`. Consequently

- a sign-invariant, permutation-equivariant network :math:`f` (SignNet, or
  any GNN on constant features) gives automorphic nodes identical
  embeddings, :math:`P_g f(V) = f(P_g V) = f(V S_g) = f(V)`, and cannot do
  better than chance at telling the clusters apart;
- a sign-equivariant :math:`f` gives them embeddings that differ by signs,
  :math:`P_g f(V) = f(V) S_g`, so the sign pattern of
  :math:`\mathbf{z}_u \odot \mathbf{z}_w` can say whether :math:`u` and
  :math:`w` lie in the same copy.

A cyclic symmetry of three or more blocks would instead give eigenvalues
of multiplicity two, whose eigenvectors the solver may rotate arbitrarily
within their eigenspace (a basis ambiguity that sign symmetry does not
describe), and the argument above would no longer hold exactly.

The cluster labels are only defined up to the same symmetries, so tasks
on these graphs ask whether two nodes share a cluster, a question every
symmetry leaves unchanged. :func:`orbit_split` holds out whole orbits (all
copies of one node of the block graph), so no test node has a twin among
the labelled nodes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from pyg_signeq.data.families import _check_fraction, _check_seed, _coalesced
from pyg_signeq.data.graphs import _check_size
from pyg_signeq.data.synthetic import erdos_renyi


def _check_num_blocks(num_blocks: int) -> int:
    _check_size("num_blocks", num_blocks, 2)
    num_blocks = int(num_blocks)
    if num_blocks & (num_blocks - 1):
        raise ValueError(
            f"'num_blocks' must be a power of two (2, 4, 8, ...), so that "
            f"the block symmetries act on eigenvectors as sign flips, got "
            f"{num_blocks}"
        )
    return num_blocks


def _check_bridges(
    num_bridges: int | Sequence[int], num_directions: int
) -> list[int]:
    if isinstance(num_bridges, (int, np.integer)) and not isinstance(
        num_bridges, bool
    ):
        counts = [int(num_bridges)] * num_directions
    elif isinstance(num_bridges, Sequence) and not isinstance(
        num_bridges, str
    ):
        counts = list(num_bridges)
        if len(counts) != num_directions:
            raise ValueError(
                f"'num_bridges' must have one count per hypercube "
                f"direction, log2(num_blocks) = {num_directions}, got "
                f"{len(counts)}"
            )
    else:
        raise TypeError(
            f"'num_bridges' must be an int or a sequence of ints, got "
            f"{type(num_bridges).__name__}"
        )
    for count in counts:
        if (
            isinstance(count, bool)
            or not isinstance(count, (int, np.integer))
            or count < 1
        ):
            raise ValueError(
                f"'num_bridges' must hold positive ints (a direction "
                f"without bridges disconnects the graph), got {num_bridges}"
            )
    return [int(count) for count in counts]


def symmetric_blocks(
    num_blocks: int,
    block_size: int,
    p: float,
    num_bridges: int | Sequence[int],
    seed: int,
) -> Data:
    r"""Identical blocks joined symmetrically: clusters only positions see.

    One connected random graph on ``block_size`` nodes is drawn (an
    Erdos-Renyi graph :math:`G(b, p)` plus a random spanning tree, so that
    it is connected) and copied into each of the :math:`K = 2^m` blocks:
    node :math:`i` of block :math:`c` gets id :math:`c b + i`. Blocks are
    the corners of an :math:`m`-dimensional hypercube; for each direction
    :math:`j` (blocks :math:`c` and :math:`c \oplus 2^j`), ``num_bridges[j]``
    random node pairs :math:`(x, y)` of the block graph are drawn and every
    pair of neighbouring blocks :math:`c, c \oplus 2^j` is joined by the
    edges :math:`(c, x)-(c \oplus 2^j, y)` and
    :math:`(c, y)-(c \oplus 2^j, x)`. Both orientations are needed for the
    relabelling :math:`c \mapsto c \oplus g` to map edges onto edges, which
    makes it an automorphism for every :math:`g` (see
    :func:`block_symmetry`); so every block is an automorphic copy of every
    other, and :math:`P_g V = V S_g` for the Laplacian eigenvectors
    :math:`V` of a generic graph of this family (module docstring).

    Different bridge counts per direction keep the lowest eigenvalues well
    apart: with equal counts the eigenvectors that are odd along one
    direction only have nearly equal eigenvalues.

    Args:
        num_blocks (int): The number of blocks :math:`K`, a power of two,
            at least 2. Each block is one cluster.
        block_size (int): The nodes per block :math:`b`, at least 2.
        p (float): The edge probability of the block graph, in
            :math:`[0, 1]`.
        num_bridges (int or Sequence[int]): The random node pairs joining
            neighbouring blocks, per hypercube direction
            (:math:`\log_2 K` counts), or one count for every direction.
            Each count must be positive.
        seed (int): Seed of all random choices.

    Returns:
        torch_geometric.data.Data: The graph, with ``x = ones(N, 1)``, an
        undirected coalesced ``edge_index``, ``y`` the block (cluster) of
        every node, ``orbit`` its node in the block graph (the same for all
        copies of a node) and ``num_nodes``.

    Shapes:
        - **edge_index**: :math:`[2, E]`
        - **x**: :math:`[N, 1]`, :math:`N = K b`
        - **y**, **orbit**: :math:`[N]`
    """
    num_blocks = _check_num_blocks(num_blocks)
    _check_size("block_size", block_size, 2)
    p = _check_fraction("p", p)
    num_directions = num_blocks.bit_length() - 1
    counts = _check_bridges(num_bridges, num_directions)
    _check_seed(seed)
    block_size = int(block_size)
    num_nodes = num_blocks * block_size

    block_seed, tree_seed, bridge_seed = (
        int(s.generate_state(1)[0])
        for s in np.random.SeedSequence(seed).spawn(3)
    )
    block = erdos_renyi(block_size, p, block_seed).numpy()
    u, w = block[:, block[0] < block[1]]
    # A random recursive tree in a random node order: node order[t] joins
    # a uniformly chosen earlier node, which connects the block graph.
    rng = np.random.default_rng(tree_seed)
    order = rng.permutation(block_size)
    picks = rng.random(block_size - 1) * np.arange(1, block_size)
    u = np.concatenate([u, order[1:]])
    w = np.concatenate([w, order[picks.astype(np.int64)]])

    blocks = np.arange(num_blocks, dtype=np.int64)
    offsets = blocks[:, None] * block_size
    rows = [(u[None, :] + offsets).reshape(-1)]
    cols = [(w[None, :] + offsets).reshape(-1)]
    rng = np.random.default_rng(bridge_seed)
    for direction, count in enumerate(counts):
        x, y = rng.integers(0, block_size, size=(2, count))
        partner = (blocks ^ (1 << direction))[:, None] * block_size
        # Both orientations for every block; each bridge is then listed
        # twice (once from either end's block) and coalesced into one.
        rows.append((offsets + np.concatenate([x, y])[None, :]).reshape(-1))
        cols.append((partner + np.concatenate([y, x])[None, :]).reshape(-1))
    edge_index = _coalesced(np.concatenate(rows), np.concatenate(cols))

    node = torch.arange(num_nodes)
    return Data(
        x=torch.ones(num_nodes, 1),
        edge_index=edge_index,
        y=node // block_size,
        orbit=node % block_size,
        num_nodes=num_nodes,
    )


def block_symmetry(num_blocks: int, block_size: int, element: int) -> Tensor:
    r"""The node permutation of a block symmetry of :func:`symmetric_blocks`.

    Returns ``perm`` with ``perm[u]`` the image of node ``u`` under the
    relabelling of blocks :math:`c \mapsto c \oplus g`, ``g = element``:
    node :math:`c b + i` goes to :math:`(c \oplus g) b + i`. It is an
    automorphism of every graph :func:`symmetric_blocks` builds with these
    sizes: ``perm[edge_index]`` holds the same edges as ``edge_index``.
    The permutation is an involution (its own inverse).

    Args:
        num_blocks (int): The number of blocks :math:`K`, a power of two.
        block_size (int): The nodes per block :math:`b`, at least 2.
        element (int): The group element :math:`g`, in :math:`[0, K)`;
            ``0`` is the identity.

    Returns:
        torch.Tensor: The permutation, as node ids.

    Shapes:
        - **output**: :math:`[K b]`
    """
    num_blocks = _check_num_blocks(num_blocks)
    _check_size("block_size", block_size, 2)
    if (
        isinstance(element, bool)
        or not isinstance(element, (int, np.integer))
        or not 0 <= element < num_blocks
    ):
        raise ValueError(
            f"'element' must be an int in [0, num_blocks) = [0, "
            f"{num_blocks}), got {element!r}"
        )
    node = torch.arange(num_blocks * int(block_size))
    block, index = node // block_size, node % block_size
    return (block ^ int(element)) * block_size + index


def orbit_split(
    orbit: Tensor,
    val: float = 0.2,
    test: float = 0.2,
    seed: int = 0,
) -> tuple[Tensor, Tensor, Tensor]:
    """Split the nodes into train, validation and test sets by orbit.

    All nodes that share an ``orbit`` value (the copies of one node of the
    block graph) land in the same set. A test node then has no copy among
    the training nodes: a copy would lie in another cluster for certain,
    a hint even a sign-invariant model could use, since it gives copies
    identical embeddings. Every set holds the same nodes of every block,
    so the split itself is symmetric and only positions can tell the
    blocks apart.

    Args:
        orbit (torch.Tensor): The orbit of every node, as
            :func:`symmetric_blocks` returns in ``data.orbit``.
        val (float): The fraction of orbits for validation, in
            :math:`[0, 1)`. (default: :obj:`0.2`)
        test (float): The fraction of orbits for test, in :math:`(0, 1)`.
            (default: :obj:`0.2`)
        seed (int): Seed of the split. (default: :obj:`0`)

    Returns:
        tuple[torch.Tensor, torch.Tensor, torch.Tensor]: Boolean masks
        ``train_mask``, ``val_mask``, ``test_mask``; each node is in
        exactly one.

    Shapes:
        - **input:** orbit :math:`[N]`
        - **output:** three masks :math:`[N]`
    """
    if not isinstance(orbit, Tensor) or orbit.dtype != torch.long:
        raise TypeError(
            f"'orbit' must be a torch.long tensor, got "
            f"{getattr(orbit, 'dtype', type(orbit).__name__)}"
        )
    if orbit.dim() != 1 or orbit.numel() == 0:
        raise ValueError(
            f"'orbit' must have shape [num_nodes] with at least one node, "
            f"got {list(orbit.shape)}"
        )
    val = _check_fraction("val", val)
    test = _check_fraction("test", test)
    _check_seed(seed)
    orbits = torch.unique(orbit)
    num_orbits = orbits.numel()
    num_val = round(val * num_orbits)
    num_test = round(test * num_orbits)
    if num_test < 1:
        raise ValueError(
            f"'test' must leave at least one of the {num_orbits} orbits for "
            f"test, got {test}"
        )
    if num_val + num_test >= num_orbits:
        raise ValueError(
            f"'val' + 'test' must leave at least one of the {num_orbits} "
            f"orbits for training, got val={val}, test={test}"
        )

    generator = torch.Generator().manual_seed(int(seed))
    shuffled = orbits[torch.randperm(num_orbits, generator=generator)]
    test_orbits = shuffled[:num_test]
    val_orbits = shuffled[num_test : num_test + num_val]
    test_mask = torch.isin(orbit, test_orbits.to(orbit.device))
    val_mask = torch.isin(orbit, val_orbits.to(orbit.device))
    train_mask = ~(test_mask | val_mask)

    return train_mask, val_mask, test_mask
