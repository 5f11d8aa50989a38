"""Checks of the inputs every PE network receives at its public boundary.

The checks run before any computation so that a wrong argument is reported
by name, with the rule it breaks and the value it has, instead of surfacing
as an opaque shape error deep inside a sparse product.
"""

from __future__ import annotations

import torch
from torch import Tensor

_SHAPES = {2: "[num_nodes, k]", 3: "[num_nodes, k, channels]"}


def check_pe(
    pe: Tensor,
    k: int | None,
    *,
    owner: str,
    ranks: tuple[int, ...] = (2, 3),
) -> None:
    """Raise if ``pe`` is not a finite floating tensor of an allowed rank.

    Args:
        pe (torch.Tensor): The positional encoding to check.
        k (int, optional): The number of eigenvectors the module was built
            for; ``pe.size(1)`` must equal it. :obj:`None` skips the check.
        owner (str): The name of the module, used in the message.
        ranks (tuple[int, ...]): The allowed values of ``pe.dim()``.
    """
    if not isinstance(pe, Tensor):
        raise TypeError(
            f"{owner}: 'pe' must be a torch.Tensor, got {type(pe).__name__}"
        )
    if not pe.is_floating_point():
        raise TypeError(
            f"{owner}: 'pe' must have a floating dtype, got {pe.dtype}"
        )
    if pe.dim() not in ranks:
        allowed = " or ".join(str(rank) for rank in ranks)
        shapes = " or ".join(_SHAPES[rank] for rank in ranks)
        raise ValueError(
            f"{owner}: 'pe' must have rank {allowed} ({shapes}), got rank "
            f"{pe.dim()} with shape {list(pe.shape)}"
        )
    if k is not None and pe.size(1) != k:
        raise ValueError(
            f"{owner}: 'pe' must have k={k} columns (pe.size(1)), got "
            f"{pe.size(1)} in shape {list(pe.shape)}"
        )
    if not bool(torch.isfinite(pe).all()):
        num_bad = int((~torch.isfinite(pe)).sum())
        raise ValueError(
            f"{owner}: 'pe' must be finite, got {num_bad} NaN or infinite "
            f"entries"
        )


def check_edge_index(
    edge_index: Tensor, num_nodes: int, *, owner: str
) -> None:
    """Raise if ``edge_index`` is not a ``[2, num_edges]`` index tensor.

    Args:
        edge_index (torch.Tensor): The graph connectivity to check.
        num_nodes (int): The number of nodes; indices must lie below it.
        owner (str): The name of the module, used in the message.
    """
    if not isinstance(edge_index, Tensor):
        raise TypeError(
            f"{owner}: 'edge_index' must be a torch.Tensor, got "
            f"{type(edge_index).__name__}"
        )
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(
            f"{owner}: 'edge_index' must have shape [2, num_edges], got "
            f"{list(edge_index.shape)}"
        )
    if edge_index.dtype != torch.long:
        raise TypeError(
            f"{owner}: 'edge_index' must have dtype torch.long, got "
            f"{edge_index.dtype}"
        )
    if edge_index.numel() > 0:
        low, high = int(edge_index.min()), int(edge_index.max())
        if low < 0 or high >= num_nodes:
            raise ValueError(
                f"{owner}: 'edge_index' must hold node indices in "
                f"[0, {num_nodes}) (num_nodes = pe.size(0)), got values in "
                f"[{low}, {high}]"
            )


def check_edge_weight(
    edge_weight: Tensor | None, num_edges: int, *, owner: str
) -> None:
    """Raise if ``edge_weight`` is given but is not ``[num_edges]`` finite.

    Args:
        edge_weight (torch.Tensor, optional): The edge weights to check.
        num_edges (int): The number of edges, ``edge_index.size(1)``.
        owner (str): The name of the module, used in the message.
    """
    if edge_weight is None:
        return
    if not isinstance(edge_weight, Tensor):
        raise TypeError(
            f"{owner}: 'edge_weight' must be a torch.Tensor or None, got "
            f"{type(edge_weight).__name__}"
        )
    if edge_weight.shape != (num_edges,):
        raise ValueError(
            f"{owner}: 'edge_weight' must have shape [num_edges] = "
            f"[{num_edges}], got {list(edge_weight.shape)}"
        )
    if not bool(torch.isfinite(edge_weight).all()):
        raise ValueError(f"{owner}: 'edge_weight' must be finite")


def check_batch(batch: Tensor | None, num_nodes: int, *, owner: str) -> None:
    """Raise if ``batch`` is given but is not a ``[num_nodes]`` index vector.

    Args:
        batch (torch.Tensor, optional): The graph index of every node.
        num_nodes (int): The number of nodes, ``pe.size(0)``.
        owner (str): The name of the module, used in the message.
    """
    if batch is None:
        return
    if not isinstance(batch, Tensor):
        raise TypeError(
            f"{owner}: 'batch' must be a torch.Tensor or None, got "
            f"{type(batch).__name__}"
        )
    if batch.shape != (num_nodes,) or batch.dtype != torch.long:
        raise ValueError(
            f"{owner}: 'batch' must be a torch.long vector of shape "
            f"[num_nodes] = [{num_nodes}], got shape {list(batch.shape)} "
            f"and dtype {batch.dtype}"
        )
    if num_nodes > 0 and int(batch.min()) < 0:
        raise ValueError(
            f"{owner}: 'batch' must hold non-negative graph indices, got "
            f"minimum {int(batch.min())}"
        )


def check_positive_int(value: int, name: str, *, owner: str) -> None:
    """Raise if a size hyperparameter is not a positive integer.

    Args:
        value (int): The value to check.
        name (str): The name of the argument, used in the message.
        owner (str): The name of the module, used in the message.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{owner}: '{name}' must be an int, got {type(value).__name__}"
        )
    if value < 1:
        raise ValueError(f"{owner}: '{name}' must be positive, got {value}")
