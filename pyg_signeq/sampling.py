"""Neighbour-sampled link-prediction training through PyG's loaders.

Full-graph training encodes every node in every step. On graphs too large
for that, PyG's :class:`~torch_geometric.loader.LinkNeighborLoader` samples
for each mini-batch of links the neighbourhoods of their end nodes, and the
model encodes only that subgraph. The positional encoding is computed once
for the whole training graph and sliced per subgraph with the other node
attributes: row ``u`` of a subgraph's ``pe`` is row ``n_id[u]`` of the
graph's, every column whole. A sign flip of eigenvector ``i`` therefore
flips column ``i`` of every subgraph's ``pe`` alike, so sign-equivariant
embeddings of a subgraph flip with it and product heads stay invariant:
sampling keeps the symmetry of the model. (The eigenvectors remain those of
the whole graph; they are not recomputed per subgraph.)

Neighbour sampling needs ``pyg-lib`` or ``torch-sparse``;
:func:`link_neighbor_loader` raises an :class:`ImportError` naming them
when neither is installed. :func:`train_epoch_sampled` works with any
iterable of subgraph batches of that layout.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.nn import Module
from torch.optim import Optimizer
from torch_geometric.data import Data

__all__ = [
    "link_neighbor_loader",
    "sampling_available",
    "train_epoch_sampled",
]

log = logging.getLogger(__name__)

_GRAPH_KEYS = ("x", "pe", "edge_weight")


def sampling_available() -> bool:
    """Whether PyG can sample neighbours (``pyg-lib`` or ``torch-sparse``)."""
    import torch_geometric.typing as pyg_typing

    return bool(pyg_typing.WITH_PYG_LIB or pyg_typing.WITH_TORCH_SPARSE)


def link_neighbor_loader(
    data: Data,
    num_neighbors: Sequence[int],
    batch_size: int,
    generator: torch.Generator,
    **kwargs: Any,
) -> Any:
    """A :class:`~torch_geometric.loader.LinkNeighborLoader` for one epoch.

    The positives are the training links of ``data`` (as in
    :func:`pyg_signeq.training.train_epoch`), each with one fresh uniform
    negative drawn from ``generator``; the loader shuffles them with a
    generator seeded from ``generator`` and yields subgraphs holding the
    sampled neighbourhoods of ``batch_size`` links, with ``x``, ``pe`` and
    ``edge_weight`` sliced to the subgraph's nodes and edges and the links
    in ``edge_label_index`` / ``edge_label`` (1 positive, 0 negative),
    relabelled to subgraph nodes. Build a new loader every epoch for fresh
    negatives. Which neighbours are sampled is up to ``pyg-lib`` or
    ``torch-sparse``, which draw from torch's global generator.

    Args:
        data (torch_geometric.data.Data): The training graph with ``pe``
            (and ``x`` when the model needs it).
        num_neighbors (Sequence[int]): Neighbours sampled per node in each
            hop, e.g. ``[15, 10]``; ``-1`` takes all.
        batch_size (int): Links (positives and negatives) per subgraph.
        generator (torch.Generator): The source of the negatives and of
            the order of the links.
        **kwargs: Further arguments of ``LinkNeighborLoader`` (such as
            ``num_workers``).

    Returns:
        torch_geometric.loader.LinkNeighborLoader: The loader.

    Raises:
        ImportError: If neither ``pyg-lib`` nor ``torch-sparse`` is
            installed.
    """
    from pyg_signeq.training import (
        _check_batch_size,
        _check_data,
        _check_generator,
        _train_positives,
        uniform_negatives,
    )

    _check_data(data, "data")
    _check_generator(generator)
    _check_batch_size(batch_size, "batch_size")
    if batch_size is None:
        raise ValueError("'batch_size' must be a positive int, got None")
    if isinstance(num_neighbors, str) or not all(
        isinstance(n, int) and (n > 0 or n == -1) for n in num_neighbors
    ):
        raise ValueError(
            "'num_neighbors' must be a sequence of positive ints (or -1 for "
            f"all neighbours), got {num_neighbors!r}"
        )
    if not sampling_available():
        raise ImportError(
            "link_neighbor_loader: neighbour sampling needs pyg-lib or "
            "torch-sparse, and neither is installed; install one from "
            "https://data.pyg.org/whl/ for your torch version, or train "
            "full-graph with pyg_signeq.training.fit"
        )
    from torch_geometric.loader import LinkNeighborLoader

    pos = _train_positives(data, "data")
    neg = uniform_negatives(data.num_nodes, pos.size(1), generator, pos.device)
    edge_label_index = torch.cat([pos, neg], dim=1)
    edge_label = torch.cat(
        [pos.new_ones(pos.size(1)), neg.new_zeros(neg.size(1))]
    )
    # Only graph attributes travel: the training split's own links
    # (edge_label_index) would otherwise be taken for edge attributes.
    graph = Data(edge_index=data.edge_index, num_nodes=data.num_nodes)
    for key in _GRAPH_KEYS:
        if data.get(key) is not None:
            graph[key] = data[key]
    seed = int(torch.randint(2**62, (1,), generator=generator))
    return LinkNeighborLoader(
        graph,
        num_neighbors=list(num_neighbors),
        edge_label_index=edge_label_index,
        edge_label=edge_label.float(),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
        **kwargs,
    )


def train_epoch_sampled(
    model: Module,
    loader: Iterable[Data],
    optimizer: Optimizer,
) -> float:
    r"""Train ``model`` for one pass over sampled subgraphs.

    For every subgraph ``batch`` of the loader (as
    :func:`link_neighbor_loader` yields them) the model encodes the
    subgraph with ``model.encode_data(batch)``, scores
    ``batch.edge_label_index`` and takes one optimizer step on the binary
    cross-entropy against ``batch.edge_label``.

    Args:
        model (torch.nn.Module): A :class:`~pyg_signeq.nn.LinkPredictor`
            or any module with its ``encode_data`` and ``decode``.
        loader (Iterable[torch_geometric.data.Data]): Subgraphs with
            ``edge_index``, sliced ``pe`` (and ``x``), ``edge_label_index``
            in subgraph node ids and 0/1 ``edge_label``.
        optimizer (torch.optim.Optimizer): The optimizer of the model's
            parameters.

    Returns:
        float: The mean loss over all links of the epoch.

    Shapes:
        - **batch.edge_label_index:** :math:`[2, L]`,
          **batch.edge_label:** :math:`[L]`, **batch.pe:**
          :math:`[N_{\mathrm{sub}}, k]`
    """
    from pyg_signeq.training import _check_model

    _check_model(model)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            "'optimizer' must be a torch.optim.Optimizer, got "
            f"{type(optimizer).__name__}"
        )
    model.train()
    total, count = 0.0, 0
    for batch in loader:
        for key in ("edge_label_index", "edge_label"):
            if batch.get(key) is None:
                raise ValueError(
                    f"every batch of 'loader' must have '{key}', as "
                    "LinkNeighborLoader writes it; got a batch without"
                )
        optimizer.zero_grad()
        embedding = model.encode_data(batch)
        logits = model.decode(embedding, batch.edge_label_index)
        loss = F.binary_cross_entropy_with_logits(
            logits, batch.edge_label.to(logits.dtype)
        )
        loss.backward()
        optimizer.step()
        total += loss.item() * logits.numel()
        count += logits.numel()
    if count == 0:
        raise ValueError("'loader' yielded no links")
    return total / count
