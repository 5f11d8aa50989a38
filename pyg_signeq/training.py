"""Training and evaluation loops for link prediction.

The loops follow the protocol of the paper's synthetic link-prediction
experiment (Lim et al., NeurIPS 2023) and of most PyG link-prediction
examples: binary cross-entropy on logits, as many fresh uniform negatives as
positives in every training epoch, ROC-AUC (or any metric of
:func:`pyg_signeq.metrics.link_metrics`) on fixed validation and test links,
and the test metrics reported at the epoch of the best validation metric.

Every random choice of the loops (negatives, the order of mini-batches)
comes from a :class:`torch.Generator` that the caller passes or that
:func:`fit` seeds; the global random state is never drawn from. The initial
parameters of a model are the caller's business: the modules of
:func:`pyg_signeq.nn.build_model` draw them from the global generator, so
seed it with :func:`torch.manual_seed` right before building a model to
make a whole run reproducible::

    torch.manual_seed(seed)
    model = build_model("sign_dss")
    result = fit(model, train_data, val_data, test_data, seed=seed)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Module
from torch.optim import Optimizer
from torch_geometric.data import Data
from torch_geometric.utils import is_undirected

from pyg_signeq.distributed import (
    DistributedError,
    LinkLoss,
    wrap_link_loss,
)
from pyg_signeq.metrics import link_metrics
from pyg_signeq.metrics.link_prediction import _parse_metric_name

__all__ = [
    "FitResult",
    "evaluate",
    "fit",
    "train_epoch",
    "uniform_negatives",
]

log = logging.getLogger(__name__)

Callback = Callable[[int, float, dict[str, float]], Any]


def _check_int(value: Any, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"'{name}' must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"'{name}' must be at least {minimum}, got {value}")


def _check_batch_size(value: Any, name: str) -> None:
    if value is not None:
        _check_int(value, name, 1)


def _check_generator(generator: Any) -> None:
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            "'generator' must be a torch.Generator (e.g. "
            "torch.Generator().manual_seed(0)), got "
            f"{type(generator).__name__}"
        )


def _check_model(model: Any) -> None:
    if not (
        isinstance(model, Module)
        and callable(getattr(model, "encode_data", None))
        and callable(getattr(model, "decode", None))
    ):
        raise TypeError(
            "'model' must be a torch.nn.Module with encode_data and decode "
            "methods, such as pyg_signeq.nn.LinkPredictor, got "
            f"{type(model).__name__}"
        )


def _check_data(data: Any, name: str) -> None:
    if not isinstance(data, Data):
        raise TypeError(
            f"'{name}' must be a torch_geometric.data.Data, got "
            f"{type(data).__name__}"
        )


def _check_metrics(metrics: Any) -> tuple[str, ...]:
    # A bare string would otherwise be read letter by letter.
    if isinstance(metrics, str) or not isinstance(metrics, Sequence):
        raise TypeError(
            "'metrics' must be a sequence of metric names such as "
            f"('auc', 'ap'), got {metrics!r}"
        )
    if len(metrics) == 0:
        raise ValueError("'metrics' must name at least one metric, got ()")
    for name in metrics:
        if not isinstance(name, str):
            raise TypeError(
                "'metrics' must hold metric names (str), got "
                f"{type(name).__name__} {name!r}"
            )
        _parse_metric_name(name)
    return tuple(metrics)


def _check_link_index(value: Any, name: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(
            f"'{name}' must be a torch.Tensor, got {type(value).__name__}"
        )
    if value.dim() != 2 or value.size(0) != 2:
        raise ValueError(
            f"'{name}' must have shape [2, num_links], got {list(value.shape)}"
        )
    if value.dtype != torch.long:
        raise TypeError(
            f"'{name}' must have dtype torch.long, got {value.dtype}"
        )
    return value


def _labelled_links(data: Data, name: str) -> tuple[Tensor, Tensor]:
    """Return ``edge_label_index`` and the boolean mask of its positives."""
    edge_label_index = getattr(data, "edge_label_index", None)
    edge_label = getattr(data, "edge_label", None)
    for key, value in [
        ("edge_label_index", edge_label_index),
        ("edge_label", edge_label),
    ]:
        if value is None:
            raise ValueError(
                f"'{name}' has no '{key}'; the links to score are "
                "'edge_label_index' labelled by 'edge_label' (1 for an "
                "edge, 0 for a non-edge), as "
                "torch_geometric.transforms.RandomLinkSplit writes them"
            )
    _check_link_index(edge_label_index, f"{name}.edge_label_index")
    if not isinstance(edge_label, Tensor) or edge_label.shape != (
        edge_label_index.size(1),
    ):
        raise ValueError(
            f"'{name}.edge_label' must be a tensor of shape [num_links] = "
            f"[{edge_label_index.size(1)}], got "
            f"{getattr(edge_label, 'shape', type(edge_label).__name__)}"
        )
    valid = (edge_label == 0) | (edge_label == 1)
    if not bool(valid.all()):
        bad = torch.unique(edge_label[~valid])[:5].tolist()
        raise ValueError(
            f"'{name}.edge_label' must hold only 0 (non-edge) and 1 (edge), "
            f"got values such as {bad}"
        )
    return edge_label_index, edge_label == 1


def _triplet_links(data: Data, name: str) -> tuple[Tensor, Tensor, int]:
    """Positives and per-positive negatives of a triplet split."""
    src = getattr(data, "src_index", None)
    dst_pos = getattr(data, "dst_pos_index", None)
    dst_neg = data.dst_neg_index
    for key, value, dim in [
        ("src_index", src, 1),
        ("dst_pos_index", dst_pos, 1),
        ("dst_neg_index", dst_neg, 2),
    ]:
        if not isinstance(value, Tensor) or value.dim() != dim:
            shape = "[num_pos]" if dim == 1 else "[num_pos, num_neg]"
            raise ValueError(
                f"'{name}.{key}' must be a tensor of shape {shape} in a "
                "split with per-positive negatives ('dst_neg_index'), got "
                f"{getattr(value, 'shape', type(value).__name__)}"
            )
        if value.dtype != torch.long:
            raise TypeError(
                f"'{name}.{key}' must have dtype torch.long, got {value.dtype}"
            )
        num_nodes = data.num_nodes
        if value.numel() and (
            int(value.min()) < 0 or int(value.max()) >= num_nodes
        ):
            raise ValueError(
                f"'{name}.{key}' must hold node indices in [0, {num_nodes}), "
                f"got values in [{int(value.min())}, {int(value.max())}]"
            )
    num_pos, num_neg = dst_neg.shape
    if src.numel() != num_pos or dst_pos.numel() != num_pos:
        raise ValueError(
            f"'{name}': 'src_index' [{src.numel()}], 'dst_pos_index' "
            f"[{dst_pos.numel()}] and 'dst_neg_index' {list(dst_neg.shape)} "
            "must agree in num_pos"
        )
    if num_pos == 0 or num_neg == 0:
        raise ValueError(
            f"'{name}' must hold at least one positive and one negative per "
            f"positive, got 'dst_neg_index' of shape {list(dst_neg.shape)}"
        )
    pos = torch.stack([src, dst_pos])
    neg = torch.stack([src.repeat_interleave(num_neg), dst_neg.reshape(-1)])
    return pos, neg, num_neg


def _eval_links(data: Data, name: str) -> tuple[Tensor, Tensor, int | None]:
    """Positive and negative links of a validation or test split.

    Returns the positives ``[2, P]``, the negatives ``[2, Q]`` and, for
    per-positive negatives, their number ``M`` per positive (``Q = P M``,
    positive-major); :obj:`None` when all negatives are shared.
    """
    if getattr(data, "dst_neg_index", None) is not None:
        return _triplet_links(data, name)
    pos, neg = _split_links(data, name)
    return pos, neg, None


def _split_links(data: Data, name: str) -> tuple[Tensor, Tensor]:
    """Positive and negative links of a labelled validation or test split."""
    edge_label_index, positive = _labelled_links(data, name)
    pos = edge_label_index[:, positive]
    neg = edge_label_index[:, ~positive]
    if pos.size(1) == 0 or neg.size(1) == 0:
        raise ValueError(
            f"'{name}' must hold at least one positive and one negative "
            f"link to rank, got {pos.size(1)} positive and {neg.size(1)} "
            "negative"
        )
    return pos, neg


def _train_positives(data: Data, name: str) -> Tensor:
    """The positive training links of ``data``; see :func:`train_epoch`."""
    if getattr(data, "edge_label_index", None) is not None:
        edge_label_index, positive = _labelled_links(data, name)
        pos = edge_label_index[:, positive]
    else:
        edge_index = _check_link_index(data.edge_index, f"{name}.edge_index")
        pos = edge_index[:, edge_index[0] != edge_index[1]]
        if is_undirected(pos):
            pos = pos[:, pos[0] < pos[1]]
    if pos.size(1) == 0:
        raise ValueError(f"'{name}' has no positive training links")
    return pos


def _trainable(model: Module) -> list[torch.nn.Parameter]:
    return [param for param in model.parameters() if param.requires_grad]


def _num_rows(embedding: Any) -> int:
    # The number of embedded nodes, which negatives are drawn from: more
    # reliable than data.num_nodes, which PyG may have to guess.
    for part in embedding:
        if isinstance(part, Tensor):
            return part.size(0)
    raise ValueError("the model's encode_data returned no embedding tensor")


def uniform_negatives(
    num_nodes: int,
    num_samples: int,
    generator: torch.Generator,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""Draw node pairs uniformly at random, as negative links.

    The first end :math:`u` of every pair is uniform over all nodes and the
    second end is :math:`w = (u + o) \bmod N` with the offset :math:`o`
    uniform in :math:`[1, N)`, so :math:`w` is uniform over the other
    nodes: self pairs :math:`u = w` never occur, and every ordered pair of
    distinct nodes has probability :math:`1 / (N (N - 1))`. Pairs that
    happen to be true edges are not filtered out, as in the protocol of
    Lim et al. (2023); on sparse graphs they are rare, and filtering would
    need the full edge set.

    The pairs are drawn on the device of ``generator`` (so a seeded CPU
    generator gives the same pairs whatever ``device``) and then moved to
    ``device``.

    Args:
        num_nodes (int): The number of nodes :math:`N`, at least 2.
        num_samples (int): The number of pairs.
        generator (torch.Generator): The source of randomness.
        device (torch.device or str, optional): Where to return the pairs.
            (default: :obj:`None`, the device of ``generator``)

    Returns:
        torch.Tensor: The pairs as an ``edge_label_index``.

    Shapes:
        - **output:** :math:`[2, \text{num\_samples}]`, dtype ``torch.long``
    """
    _check_int(num_nodes, "num_nodes", 2)
    _check_int(num_samples, "num_samples", 0)
    _check_generator(generator)

    size = (num_samples,)
    u = torch.randint(
        num_nodes, size, generator=generator, device=generator.device
    )
    offset = torch.randint(
        1, num_nodes, size, generator=generator, device=generator.device
    )
    pairs = torch.stack([u, (u + offset) % num_nodes])

    return pairs if device is None else pairs.to(device)


def _loss_step(
    model: Module,
    data: Data,
    pos: Tensor,
    generator: torch.Generator,
    optimizer: Optimizer | None,
    score_batch_size: int | None = None,
) -> float:
    """Encode, score ``pos`` and as many fresh negatives, maybe step."""
    if optimizer is not None:
        optimizer.zero_grad()
    if score_batch_size is not None and 2 * pos.size(1) > score_batch_size:
        return _chunked_loss_step(
            model, data, pos, generator, optimizer, score_batch_size
        )
    with torch.set_grad_enabled(optimizer is not None):
        embedding = model.encode_data(data)
        neg = uniform_negatives(
            _num_rows(embedding), pos.size(1), generator, pos.device
        )
        logits = model.decode(embedding, torch.cat([pos, neg], dim=1))
        target = torch.cat(
            [logits.new_ones(pos.size(1)), logits.new_zeros(neg.size(1))]
        )
        loss = F.binary_cross_entropy_with_logits(logits, target)
    if optimizer is not None:
        loss.backward()
        optimizer.step()
    return loss.detach().item()


def _detached_embedding(embedding: Any, keep_grad: bool) -> tuple:
    """A copy of ``embedding`` whose tensors are leaves of a new graph.

    Returns the copy and the ``(tensor, leaf)`` pairs whose gradients
    flow back into the encoder.
    """
    if isinstance(embedding, Tensor):
        parts, rebuild = [embedding], None
    else:
        parts = list(embedding)
        rebuild = type(embedding)
    leaves, pairs = [], []
    for part in parts:
        if keep_grad and isinstance(part, Tensor) and part.requires_grad:
            leaf = part.detach().requires_grad_()
            pairs.append((part, leaf))
            part = leaf
        leaves.append(part)
    if rebuild is None:
        return leaves[0], pairs
    if hasattr(embedding, "_fields"):  # a NamedTuple such as LinkEmbedding
        return rebuild(*leaves), pairs
    return rebuild(leaves), pairs


def _chunked_loss_step(
    model: Module,
    data: Data,
    pos: Tensor,
    generator: torch.Generator,
    optimizer: Optimizer | None,
    score_batch_size: int,
) -> float:
    """:func:`_loss_step` with links scored ``score_batch_size`` at a time.

    The graph is encoded once. Each chunk's share of the mean loss is
    back-propagated into the head and into the embedding, which is cut from
    the encoder's graph; the encoder's backward pass then runs once with
    the summed embedding gradient. The gradient is that of the whole
    batch, while the head's per-link tensors exist for one chunk at a time.
    """
    training = optimizer is not None
    with torch.set_grad_enabled(training):
        embedding = model.encode_data(data)
    neg = uniform_negatives(
        _num_rows(embedding), pos.size(1), generator, pos.device
    )
    links = torch.cat([pos, neg], dim=1)
    num_links = links.size(1)
    detached, pairs = _detached_embedding(embedding, training)

    total = 0.0
    with torch.set_grad_enabled(training):
        for start in range(0, num_links, score_batch_size):
            chunk = links[:, start : start + score_batch_size]
            logits = model.decode(detached, chunk)
            index = torch.arange(
                start, start + chunk.size(1), device=logits.device
            )
            target = (index < pos.size(1)).to(logits.dtype)
            loss = F.binary_cross_entropy_with_logits(
                logits, target, reduction="sum"
            )
            loss = loss / num_links
            if training:
                loss.backward()
            total += loss.detach().item()
    if training:
        pairs = [(part, leaf) for part, leaf in pairs if leaf.grad is not None]
        if pairs:
            torch.autograd.backward(
                [part for part, _ in pairs], [leaf.grad for _, leaf in pairs]
            )
        optimizer.step()
    return total


def _check_ddp(ddp: Any, model: Module) -> None:
    inner = getattr(ddp, "module", None)
    if not isinstance(inner, LinkLoss) or inner.model is not model:
        raise ValueError(
            "'ddp' must wrap LinkLoss(model) of this very model, as "
            "pyg_signeq.distributed.wrap_link_loss(model) makes it, got "
            f"{type(ddp).__name__}"
        )


def _ddp_epoch(
    ddp: Module,
    data: Data,
    batches: Sequence[Tensor],
    generator: torch.Generator,
    optimizer: Optimizer,
    num_pos: int,
) -> float:
    total = None
    for batch in batches:
        optimizer.zero_grad()
        loss, terms = ddp(data, batch, generator)
        loss.backward()
        optimizer.step()
        total = terms if total is None else total + terms
    total = total.reshape(1).double()
    try:
        torch.distributed.all_reduce(total)
    except RuntimeError as error:
        raise DistributedError(
            "summing the epoch's loss over the ranks failed, most likely "
            "because another rank failed or stopped answering within the "
            f"timeout: {error}"
        ) from error
    # The mean over every rank's links: 2 per positive, as in one process.
    return float(total.item()) / (2 * num_pos)


def train_epoch(
    model: Module,
    data: Data,
    optimizer: Optimizer | None,
    generator: torch.Generator,
    batch_size: int | None = None,
    *,
    score_batch_size: int | None = None,
    ddp: Module | None = None,
) -> float:
    r"""Train ``model`` for one epoch of link prediction.

    The positive links are ``data.edge_label_index[:, data.edge_label ==
    1]`` when ``data`` has ``edge_label_index`` (the training split of
    :class:`~torch_geometric.transforms.RandomLinkSplit` lists each
    training edge once there; any negatives it added are ignored). Without
    it they are the edges of ``data.edge_index`` minus self-loops, each
    undirected edge once as :math:`(u, w)` with :math:`u < w` when
    ``edge_index`` is undirected, so that both ways of storing a graph give
    the same positives.

    Every positive is scored against a fresh negative from
    :func:`uniform_negatives`, drawn from ``generator``, and the loss is
    the binary cross-entropy on logits over positives and negatives:

    .. math::
        \mathcal{L} = -\frac{1}{2P} \sum_{i=1}^{P} \left(
        \log \sigma(s^+_i) + \log (1 - \sigma(s^-_i)) \right)

    With ``batch_size=None`` (full batch, the paper's protocol) the graph
    is encoded once and the optimizer steps once. Otherwise the positives
    are shuffled with ``generator`` and cut into mini-batches of
    ``batch_size`` links; for every mini-batch the whole graph is encoded
    again (the embeddings depend on the parameters just updated), the batch
    and as many fresh negatives are scored, and the optimizer steps once:
    :math:`\lceil P / \text{batch\_size} \rceil` steps in all.

    ``score_batch_size`` bounds the memory of scoring without changing the
    optimization: within each step the graph is still encoded once, but
    the step's links are scored that many at a time, each chunk's share of
    the loss is back-propagated into the head and the embedding, and the
    encoder's backward pass runs once on the summed embedding gradient. The
    gradient is the whole batch's (up to rounding), and tensors of shape
    :math:`[L, k, C]` exist for :math:`L` = ``score_batch_size`` links at
    a time rather than for every link of the batch.

    Data-parallel training: with ``ddp``, a
    :class:`~torch.nn.parallel.DistributedDataParallel` wrapping
    :class:`~pyg_signeq.distributed.LinkLoss` of ``model``
    (:func:`pyg_signeq.distributed.wrap_link_loss`), every rank runs this
    function with the same ``data`` and a ``generator`` seeded alike. The
    positives are shuffled and cut into the same global batches of
    ``batch_size`` on every rank, and each rank scores its share of every
    batch and of its negatives; gradients are averaged across ranks, so
    every step is the single-process step with the same ``batch_size``.
    The returned loss is summed over all ranks' links. ``ddp`` and
    ``score_batch_size`` cannot be combined.

    A model without trainable parameters (such as ``"eigvec_dot"``) takes
    ``optimizer=None``: its loss is computed and nothing is updated.

    Args:
        model (torch.nn.Module): A :class:`~pyg_signeq.nn.LinkPredictor`
            or any module with its ``encode_data`` and ``decode``.
        data (torch_geometric.data.Data): The training graph with ``pe``
            and/or ``x`` as the model needs.
        optimizer (torch.optim.Optimizer, optional): The optimizer of the
            model's parameters; :obj:`None` only for a model without
            trainable parameters.
        generator (torch.Generator): The source of the negatives and of the
            mini-batch order.
        batch_size (int, optional): Positive links per step (over all
            ranks together with ``ddp``). (default: :obj:`None`, all of
            them)
        score_batch_size (int, optional): Links (positive and negative)
            scored at once within a step. (default: :obj:`None`, all of
            the step's links)
        ddp (torch.nn.Module, optional): The data-parallel wrapper of
            ``LinkLoss(model)``. (default: :obj:`None`, one process)

    Returns:
        float: The mean loss over all links scored in the epoch (the mean
        of the mini-batch losses weighted by their sizes).
    """
    _check_model(model)
    _check_data(data, "data")
    trainable = bool(_trainable(model))
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(
            "'optimizer' must be a torch.optim.Optimizer or None, got "
            f"{type(optimizer).__name__}"
        )
    if optimizer is None and trainable:
        raise ValueError(
            "'optimizer' may be None only for a model without trainable "
            f"parameters, but {type(model).__name__} has "
            f"{sum(p.numel() for p in _trainable(model))}"
        )
    _check_generator(generator)
    _check_batch_size(batch_size, "batch_size")
    _check_batch_size(score_batch_size, "score_batch_size")
    if ddp is not None:
        _check_ddp(ddp, model)
        if score_batch_size is not None:
            raise ValueError(
                "'score_batch_size' must be None with 'ddp': data-parallel "
                "steps score each rank's share of the links at once, got "
                f"{score_batch_size}"
            )
        if optimizer is None:
            raise ValueError(
                "'optimizer' must be given with 'ddp': a model without "
                "trainable parameters has nothing to train in parallel"
            )
    if not trainable:
        optimizer = None

    pos = _train_positives(data, "data")
    num_pos = pos.size(1)
    model.train()
    if batch_size is None:
        batches: Sequence[Tensor] = [pos]
    else:
        order = torch.randperm(
            num_pos, generator=generator, device=generator.device
        ).to(pos.device)
        batches = pos[:, order].split(batch_size, dim=1)

    if ddp is not None:
        return _ddp_epoch(ddp, data, batches, generator, optimizer, num_pos)
    total = 0.0
    for batch in batches:
        loss = _loss_step(
            model, data, batch, generator, optimizer, score_batch_size
        )
        total += loss * batch.size(1)

    return total / num_pos


def _score(
    model: Module, embedding: Any, links: Tensor, batch_size: int | None
) -> Tensor:
    if batch_size is None or links.size(1) <= batch_size:
        return model.decode(embedding, links)
    chunks = links.split(batch_size, dim=1)
    return torch.cat([model.decode(embedding, chunk) for chunk in chunks])


def evaluate(
    model: Module,
    data: Data,
    metrics: Sequence[str] = ("auc", "ap"),
    batch_size: int | None = None,
    *,
    pos_edge_label_index: Tensor | None = None,
    neg_edge_label_index: Tensor | None = None,
) -> dict[str, float]:
    r"""Score labelled links of a split and compute ranking metrics.

    The graph is encoded once (in eval mode, without gradients) and the
    links are scored in chunks of ``batch_size``. By default the links are
    ``data.edge_label_index``, positive where ``data.edge_label`` is 1 and
    negative where it is 0, as in the splits of
    :class:`~torch_geometric.transforms.RandomLinkSplit`. OGB-style splits
    may pass them explicitly instead: ``pos_edge_label_index`` and
    ``neg_edge_label_index``, both ``[2, num_links]``. In both cases the
    negatives are shared by all positives (``y_pred_neg`` of shape
    ``[num_neg]`` in :func:`~pyg_signeq.metrics.link_metrics`).

    Negatives per positive, as in ``ogbl-citation2``, come in PyG's
    triplet layout (that of
    :class:`~torch_geometric.loader.LinkNeighborLoader`): positive ``i`` is
    ``(data.src_index[i], data.dst_pos_index[i])`` and is ranked against
    ``(data.src_index[i], data.dst_neg_index[i, j])``, so the metrics get
    ``y_pred_neg`` of shape ``[num_pos, num_neg]``. A split with
    ``dst_neg_index`` is read this way, whatever else it holds.

    Each pair is scored on its own, so chunking changes no score in exact
    arithmetic; in floating point a matrix product may round differently
    for a different number of rows, so heads with linear layers can give
    chunked scores that differ in the last bit. Only scores tied to within
    rounding can then change order, and metrics change only through them;
    nearly symmetric graphs have many, since twin pairs in two copies can
    score exactly alike.

    The train or eval mode of every submodule is restored afterwards.

    Args:
        model (torch.nn.Module): A :class:`~pyg_signeq.nn.LinkPredictor`
            or any module with its ``encode_data`` and ``decode``.
        data (torch_geometric.data.Data): The graph to encode: its
            ``edge_index`` are the message-passing (training) edges.
        metrics (Sequence[str]): Names understood by
            :func:`~pyg_signeq.metrics.link_metrics`.
            (default: :obj:`("auc", "ap")`)
        batch_size (int, optional): Links scored at once.
            (default: :obj:`None`, all of them)
        pos_edge_label_index (torch.Tensor, optional): Positive links,
            given together with ``neg_edge_label_index``.
            (default: :obj:`None`)
        neg_edge_label_index (torch.Tensor, optional): Negative links.
            (default: :obj:`None`)

    Returns:
        dict[str, float]: The value of every metric, by name.

    Shapes:
        - **pos_edge_label_index:** :math:`[2, P]`
        - **neg_edge_label_index:** :math:`[2, Q]`
        - **data.src_index**, **data.dst_pos_index:** :math:`[P]`,
          **data.dst_neg_index:** :math:`[P, M]` *(triplet splits)*
    """
    _check_model(model)
    _check_data(data, "data")
    metrics = _check_metrics(metrics)
    _check_batch_size(batch_size, "batch_size")
    if (pos_edge_label_index is None) != (neg_edge_label_index is None):
        raise ValueError(
            "'pos_edge_label_index' and 'neg_edge_label_index' must be "
            "given together, got only "
            + (
                "'pos_edge_label_index'"
                if neg_edge_label_index is None
                else "'neg_edge_label_index'"
            )
        )
    num_neg_per_pos = None
    if pos_edge_label_index is None:
        pos, neg, num_neg_per_pos = _eval_links(data, "data")
    else:
        pos = _check_link_index(pos_edge_label_index, "pos_edge_label_index")
        neg = _check_link_index(neg_edge_label_index, "neg_edge_label_index")
        for name, links in [
            ("pos_edge_label_index", pos),
            ("neg_edge_label_index", neg),
        ]:
            if links.size(1) == 0:
                raise ValueError(
                    f"'{name}' must hold at least one link, got shape "
                    f"{list(links.shape)}"
                )

    # Module.train(mode) would set one mode everywhere; restoring each
    # submodule's own flag keeps a partly frozen model as it was.
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            embedding = model.encode_data(data)
            links = torch.cat([pos, neg], dim=1)
            scores = _score(model, embedding, links, batch_size)
    finally:
        for module, mode in modes:
            module.training = mode

    num_pos = pos.size(1)
    neg_scores = scores[num_pos:]
    if num_neg_per_pos is not None:
        neg_scores = neg_scores.view(num_pos, num_neg_per_pos)
    return link_metrics(scores[:num_pos], neg_scores, metrics)


@dataclass
class FitResult:
    """The outcome of :func:`fit`.

    Attributes:
        best_epoch (int): The epoch (counted from 1) with the best
            validation metric; 0 for a model that was not trained.
        val (dict[str, float]): The validation metrics at ``best_epoch``.
        test (dict[str, float]): The test metrics at ``best_epoch``.
        history (list[dict[str, float]]): One entry per epoch with keys
            ``"epoch"``, ``"loss"`` (the mean training loss of the epoch)
            and ``"val_<metric>"`` for every metric; empty when the model
            was not trained.
        seconds_per_epoch (float): The mean wall time of a training epoch
            (:func:`train_epoch`: encoding, negatives, loss, backward and
            optimizer step), excluding evaluation; 0.0 when the model was
            not trained.
        num_parameters (int): The number of trainable parameters.
    """

    best_epoch: int
    val: dict[str, float]
    test: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    seconds_per_epoch: float = 0.0
    num_parameters: int = 0


def fit(
    model: Module,
    train_data: Data,
    val_data: Data,
    test_data: Data,
    *,
    epochs: int = 100,
    lr: float = 0.01,
    seed: int = 0,
    batch_size: int | None = None,
    metric: str = "auc",
    metrics: Sequence[str] = ("auc", "ap"),
    eval_batch_size: int | None = None,
    callback: Callback | None = None,
    score_batch_size: int | None = None,
    distributed: bool = False,
) -> FitResult:
    r"""Train a link predictor and select the epoch on validation.

    Runs ``epochs`` epochs of :func:`train_epoch` with Adam at learning
    rate ``lr``, evaluates on ``val_data`` after every epoch and keeps the
    epoch whose validation ``metric`` is strictly better than every earlier
    one (so ties keep the earlier epoch). The test split is evaluated only
    at such epochs, and :attr:`FitResult.test` holds its metrics at the
    selected epoch, the protocol of Lim et al. (2023). The model keeps the
    parameters of the last epoch, not those of the selected one.

    Negatives and mini-batch order come from a :class:`torch.Generator` on
    the CPU seeded with ``seed``; the global random state is not drawn
    from. The model's initial parameters are not set here: seed the global
    generator with :func:`torch.manual_seed` before building the model
    (the zoo's modules draw their initial weights from it). With both seeds
    fixed, two runs on the CPU give identical results.

    A model without trainable parameters (the zoo's ``"eigvec_dot"``) is
    not trained: it is evaluated once and returned with ``best_epoch`` 0.

    With ``distributed=True`` (in every process of a ``torchrun`` launch,
    after :func:`pyg_signeq.distributed.init_distributed`) the model is
    wrapped with :func:`pyg_signeq.distributed.wrap_link_loss`, which
    starts every rank from rank 0's parameters, and each epoch is the
    data-parallel :func:`train_epoch`: each rank scores its share of
    every global batch of ``batch_size`` links. Validation and test are
    evaluated in full on every rank, so all ranks select the same epoch
    and return the same metrics. Every rank must pass the same splits and
    ``seed``.

    Args:
        model (torch.nn.Module): A :class:`~pyg_signeq.nn.LinkPredictor`
            or any module with its ``encode_data`` and ``decode``.
        train_data (torch_geometric.data.Data): The training split; see
            :func:`train_epoch` for which links are positives.
        val_data (torch_geometric.data.Data): The validation split, with
            ``edge_label_index`` and 0/1 ``edge_label``.
        test_data (torch_geometric.data.Data): The test split, likewise.
        epochs (int): Training epochs, at least 1. (default: :obj:`100`)
        lr (float): Adam's learning rate. (default: :obj:`0.01`)
        seed (int): Seed of the negatives and of the mini-batch order.
            (default: :obj:`0`)
        batch_size (int, optional): Positive links per optimizer step.
            (default: :obj:`None`, full batch)
        metric (str): The validation metric that selects the epoch; one of
            ``metrics``. (default: :obj:`"auc"`)
        metrics (Sequence[str]): The metrics to compute, names of
            :func:`~pyg_signeq.metrics.link_metrics`.
            (default: :obj:`("auc", "ap")`)
        eval_batch_size (int, optional): Links scored at once in
            evaluation. (default: :obj:`None`, all of them)
        callback (callable, optional): Called as ``callback(epoch, loss,
            val_metrics)`` after every epoch. (default: :obj:`None`)
        score_batch_size (int, optional): Links scored at once within a
            training step; see :func:`train_epoch`. (default: :obj:`None`,
            all of the step's links)
        distributed (bool): Whether to train data-parallel over the
            initialised process group. (default: :obj:`False`)

    Returns:
        FitResult: The selected epoch, its validation and test metrics, the
        per-epoch history, the training time per epoch and the parameter
        count.
    """
    _check_model(model)
    for name, data in [
        ("train_data", train_data),
        ("val_data", val_data),
        ("test_data", test_data),
    ]:
        _check_data(data, name)
    _check_int(epochs, "epochs", 1)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        raise TypeError(f"'lr' must be a float, got {type(lr).__name__}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"'lr' must be positive and finite, got {lr}")
    _check_int(seed, "seed", 0)
    _check_batch_size(batch_size, "batch_size")
    _check_batch_size(eval_batch_size, "eval_batch_size")
    _check_batch_size(score_batch_size, "score_batch_size")
    if not isinstance(distributed, bool):
        raise TypeError(
            f"'distributed' must be a bool, got {type(distributed).__name__}"
        )
    if distributed and not torch.distributed.is_initialized():
        raise ValueError(
            "'distributed=True' needs an initialised process group; call "
            "pyg_signeq.distributed.init_distributed() in every process "
            "of a torchrun launch first"
        )
    if distributed and score_batch_size is not None:
        raise ValueError(
            "'score_batch_size' must be None with 'distributed=True', got "
            f"{score_batch_size}"
        )
    metrics = _check_metrics(metrics)
    if metric not in metrics:
        raise ValueError(
            f"'metric' must be one of the computed metrics {metrics}, got "
            f"{metric!r}"
        )
    if callback is not None and not callable(callback):
        raise TypeError(
            f"'callback' must be callable or None, got "
            f"{type(callback).__name__}"
        )
    _train_positives(train_data, "train_data")
    _eval_links(val_data, "val_data")
    _eval_links(test_data, "test_data")

    params = _trainable(model)
    num_parameters = sum(param.numel() for param in params)

    def run_eval(data: Data) -> dict[str, float]:
        return evaluate(model, data, metrics, eval_batch_size)

    if num_parameters == 0:
        log.info("%s has no trainable parameters; evaluating only", model)
        return FitResult(0, run_eval(val_data), run_eval(test_data))

    generator = torch.Generator().manual_seed(seed)
    # Wrapping broadcasts rank 0's parameters, so build the optimizer after.
    ddp = wrap_link_loss(model) if distributed else None
    optimizer = torch.optim.Adam(params, lr=lr)
    best = FitResult(0, {}, {}, num_parameters=num_parameters)
    train_seconds = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        loss = train_epoch(
            model,
            train_data,
            optimizer,
            generator,
            batch_size,
            score_batch_size=score_batch_size,
            ddp=ddp,
        )
        train_seconds += time.perf_counter() - start

        val = run_eval(val_data)
        entry: dict[str, float] = {"epoch": epoch, "loss": loss}
        entry.update({f"val_{name}": value for name, value in val.items()})
        best.history.append(entry)
        if best.best_epoch == 0 or val[metric] > best.val[metric]:
            best.best_epoch, best.val = epoch, val
            best.test = run_eval(test_data)
        log.debug(
            "epoch %d: loss %.4f, val %s %.4f",
            epoch,
            loss,
            metric,
            val[metric],
        )
        if callback is not None:
            callback(epoch, loss, val)

    best.seconds_per_epoch = train_seconds / epochs
    log.info(
        "best epoch %d of %d: val %s %.4f, test %s %.4f",
        best.best_epoch,
        epochs,
        metric,
        best.val[metric],
        metric,
        best.test[metric],
    )
    return best
