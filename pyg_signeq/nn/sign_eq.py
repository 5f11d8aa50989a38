"""A more expressive sign-equivariant network with richer invariant gates."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Linear, Module, ModuleList
from torch.utils.checkpoint import checkpoint
from torch_geometric.utils import scatter

from pyg_signeq.nn._propagation import (
    Aggregation,
    aggregation,
    as_aggregation,
    check_normalization,
    propagate,
)
from pyg_signeq.nn._validation import (
    check_batch,
    check_edge_index,
    check_edge_weight,
    check_pe,
    check_positive_int,
)


class SignEqConv(Module):
    r"""A sign-equivariant graph layer with gates on rich sign invariants.

    It follows the characterization of `"Expressive Sign Equivariant
    Networks for Spectral Geometric Learning"
    <https://arxiv.org/abs/2312.02339>`_ (Lim et al., NeurIPS 2023): every
    sign-equivariant map is a linear map within each eigenvector column
    times a sign-invariant factor,
    :math:`f(V) = [W_1 v_1, \ldots, W_k v_k] \odot \mathrm{Inv}(V)`.

    For input channels :math:`X \in \mathbb{R}^{N \times k \times C}`, with
    :math:`X_{:, i}` the :math:`C` channels of eigenvector :math:`i` and
    :math:`\bar{A}` the (normalised) adjacency, the layer computes, for
    every column :math:`i` separately,

    .. math::
        M_{:, i} &= \bar{A} X_{:, i} \\
        L_{:, i} &= X_{:, i} W_{\mathrm{self}} + M_{:, i} W_{\mathrm{nbr}} \\
        E_{:, i} &= \phi([X_{:, i}, M_{:, i}])
                   + \phi(-[X_{:, i}, M_{:, i}]) \\
        Q_{:, i} &= [E_{:, i},\ X_{:, i} \odot M_{:, i}] \\
        G_{:, i} &= \tanh \mathrm{MLP}\big([Q_{:, i},\ \tfrac{1}{k}
                   \textstyle\sum_j Q_{:, j},\ \mathrm{pool}_{\mathrm{batch}}
                   (Q_{:, i})]\big) \\
        X'_{:, i} &= X_{:, i} + L_{:, i} \odot G_{:, i}

    where :math:`\phi` is a linear map with bias followed by SiLU,
    the gate is bounded by :math:`\tanh` (an unbounded gate grows with the
    square of its input, so a stack of layers multiplies the scale of the
    input by its own power and diverges on eigenvectors with large
    entries),
    :math:`\mathrm{pool}_{\mathrm{batch}}` averages over the nodes of each
    graph, and the residual :math:`X_{:, i}` is only added when input and
    output channels agree. Why each term is sign equivariant, flipping
    column :math:`i` to :math:`-X_{:, i}`:

    - :math:`M_{:, i}` and :math:`L_{:, i}` are linear within the column and
      have no bias, so they flip with it.
    - :math:`E_{:, i}` is even by construction (the SignNet trick).
    - :math:`X_{:, i} \odot M_{:, i}` is a product of two flipping factors;
      at node :math:`u` it equals
      :math:`\sum_{w} \bar{A}_{uw}\, x_{u, i} \odot x_{w, i}`, the products
      of the two ends of every edge aggregated per node, computed from one
      aggregation instead of a per-edge tensor.
    - Means of invariants over columns or nodes are invariant, so the gate
      :math:`G` (an ordinary MLP with biases and nonlinearities) is
      invariant and :math:`L \odot G` flips exactly with column :math:`i`.

    Weights are shared by all columns and every operation is local or a
    per-graph mean, so the layer is sign and permutation equivariant:

    .. math::
        f(P X S) = P\, f(X)\, S,

    where :math:`S` flips whole columns; when ``batch`` is given the signs
    may even differ from graph to graph.

    Args:
        in_channels (int): The channels :math:`C` per eigenvector.
        out_channels (int): The output channels per eigenvector.
        hidden_channels (int, optional): The width of :math:`\phi` and of
            the gate's MLP. (default: :obj:`None`, ``out_channels``)
        normalization (str): The adjacency :math:`\bar{A}` built from
            ``edge_index``: ``"mean"`` (:math:`D^{-1} A`), ``"sum"``
            (:math:`A`) or ``"sym"`` (:math:`D^{-1/2} A D^{-1/2}`).
            (default: :obj:`"mean"`)
        residual (bool): Whether to add the input to the output when
            ``in_channels == out_channels``. (default: :obj:`True`)

    Shapes:
        - **input:** pe :math:`[N, k, C]` or :math:`[N, k]` when
          ``in_channels == 1``, edge_index :math:`[2, E]` or a sparse
          :math:`[N, N]` adjacency used as :math:`\bar{A}` unchanged,
          edge_weight :math:`[E]` *(optional)*,
          batch :math:`[N]` *(optional)*
        - **output:** :math:`[N, k, C_{\mathrm{out}}]`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden_channels: int | None = None,
        normalization: str = "mean",
        residual: bool = True,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if hidden_channels is None:
            hidden_channels = out_channels
        check_positive_int(in_channels, "in_channels", owner=owner)
        check_positive_int(out_channels, "out_channels", owner=owner)
        check_positive_int(hidden_channels, "hidden_channels", owner=owner)
        check_normalization(normalization, owner=owner)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.normalization = normalization
        self.residual = residual

        # No bias on the equivariant path: a bias would not flip.
        self.lin_self = Linear(in_channels, out_channels, bias=False)
        self.lin_neighbor = Linear(in_channels, out_channels, bias=False)
        self.phi = Linear(2 * in_channels, hidden_channels)
        # The first gate layer acts on [Q, column mean of Q, graph mean of
        # Q]; it is split in three so that the two means are transformed
        # before they are broadcast, which saves two thirds of its cost.
        invariant_channels = hidden_channels + in_channels
        self.gate_node = Linear(invariant_channels, hidden_channels)
        self.gate_columns = Linear(
            invariant_channels, hidden_channels, bias=False
        )
        self.gate_graph = Linear(
            invariant_channels, hidden_channels, bias=False
        )
        self.gate_out = Linear(hidden_channels, out_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reset all learnable parameters of the module."""
        for lin in (
            self.lin_self,
            self.lin_neighbor,
            self.phi,
            self.gate_node,
            self.gate_columns,
            self.gate_graph,
            self.gate_out,
        ):
            lin.reset_parameters()

    def forward(
        self,
        pe: Tensor,
        edge_index: Tensor,
        edge_weight: Tensor | None = None,
        batch: Tensor | None = None,
    ) -> Tensor:
        r"""Apply the layer to the equivariant channels ``pe``.

        Args:
            pe (torch.Tensor): The equivariant channels of every eigenvector.
            edge_index (torch.Tensor): The graph connectivity, or a sparse
                adjacency matrix used as :math:`\bar{A}` as it is.
            edge_weight (torch.Tensor, optional): Edge weights, only with an
                index ``edge_index``. (default: :obj:`None`)
            batch (torch.Tensor, optional): The graph index of every node,
                for the per-graph mean. (default: :obj:`None`, one graph)
        """
        owner = type(self).__name__
        x = _channels_last(pe, self.in_channels, owner=owner)
        adj = _adjacency(
            edge_index, edge_weight, x, self.normalization, owner=owner
        )
        check_batch(batch, x.size(0), owner=owner)

        return self._step(x, adj, batch)

    def _invariant(self, x: Tensor, m: Tensor) -> Tensor:
        # phi(z) + phi(-z) with phi = silu(W z + b): W z is computed once.
        z = F.linear(torch.cat([x, m], dim=-1), self.phi.weight)
        even = F.silu(z + self.phi.bias) + F.silu(self.phi.bias - z)
        return torch.cat([even, x * m], dim=-1)

    def _output(
        self, x: Tensor, m: Tensor, invariant: Tensor, graph_term: Tensor
    ) -> Tensor:
        linear = self.lin_self(x) + self.lin_neighbor(m)
        columns_term = self.gate_columns(invariant.mean(dim=1, keepdim=True))
        hidden = self.gate_node(invariant) + columns_term + graph_term
        gate = torch.tanh(self.gate_out(F.silu(hidden)))

        out = linear * gate
        if self.residual and self.in_channels == self.out_channels:
            out = out + x

        return out

    def _step(
        self,
        x: Tensor,
        adj: Aggregation | Tensor,
        batch: Tensor | None,
        chunk_size: int | None = None,
    ) -> Tensor:
        # The unchecked core, shared with SignEqNet, which validates once.
        m = propagate(adj, x)
        if chunk_size is not None and x.size(0) > chunk_size:
            return self._chunked_step(x, m, batch, chunk_size)
        invariant = self._invariant(x, m)
        if batch is None:
            graph_term = self.gate_graph(invariant.mean(dim=0, keepdim=True))
        else:
            pooled = scatter(invariant, batch, 0, reduce="mean")
            graph_term = self.gate_graph(pooled).index_select(0, batch)

        return self._output(x, m, invariant, graph_term)

    def _chunked_step(
        self, x: Tensor, m: Tensor, batch: Tensor | None, chunk_size: int
    ) -> Tensor:
        # The same function, computed chunk_size nodes at a time. Every
        # chunk runs under activation checkpointing, so autograd keeps only
        # x and m for the backward pass and recomputes a chunk's
        # intermediates (about ten tensors of x's size) when it needs
        # them. The graph means need every node, so a first pass sums the
        # invariants over chunks and a second one computes the output.
        def run(fn, *args):
            if torch.is_grad_enabled():
                return checkpoint(fn, *args, use_reentrant=False)
            return fn(*args)

        num_graphs = 1 if batch is None else int(batch.max()) + 1
        ranges = [
            (start, min(start + chunk_size, x.size(0)))
            for start in range(0, x.size(0), chunk_size)
        ]

        def pool(x_part: Tensor, m_part: Tensor, *index: Tensor) -> Tensor:
            invariant = self._invariant(x_part, m_part)
            if not index:
                return invariant.sum(dim=0, keepdim=True)
            return scatter(
                invariant, index[0], 0, dim_size=num_graphs, reduce="sum"
            )

        total = None
        for start, stop in ranges:
            index = () if batch is None else (batch[start:stop],)
            part = run(pool, x[start:stop], m[start:stop], *index)
            total = part if total is None else total + part
        if batch is None:
            graph_term = self.gate_graph(total / x.size(0))
        else:
            counts = scatter(
                x.new_ones(x.size(0)), batch, 0, num_graphs, reduce="sum"
            )
            pooled = total / counts.clamp(min=1).view(-1, 1, 1)
            graph_term = self.gate_graph(pooled)

        def output(
            x_part: Tensor, m_part: Tensor, term: Tensor, *index: Tensor
        ) -> Tensor:
            if index:
                term = term.index_select(0, index[0])
            invariant = self._invariant(x_part, m_part)
            return self._output(x_part, m_part, invariant, term)

        parts = []
        for start, stop in ranges:
            index = () if batch is None else (batch[start:stop],)
            parts.append(
                run(output, x[start:stop], m[start:stop], graph_term, *index)
            )

        return torch.cat(parts, dim=0)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, "
            f"{self.out_channels}, hidden_channels={self.hidden_channels})"
        )


class SignEqNet(Module):
    r"""A sign-equivariant network: a stack of :class:`SignEqConv` layers.

    Its gates see richer sign invariants of the Laplacian eigenvectors
    (edge products within a column, SignNet-style even functions, column
    and graph means) than the absolute values of :class:`SignDSS`.

    The first layer lifts every eigenvector column from ``in_channels`` to
    ``hidden_channels`` (linearly within the column, times an invariant
    gate), the last maps to ``out_channels``. The network is sign and
    permutation equivariant:

    .. math::
        f(P V S) = P\, f(V)\, S.

    The adjacency is built once per call as a sparse matrix and shared by
    all layers; features are aggregated as ``[N, k * C]`` by one sparse
    product, never as a per-edge ``[E, k, C]`` tensor.

    Args:
        in_channels (int): The channels per eigenvector of the input; ``1``
            for plain eigenvectors. (default: :obj:`1`)
        hidden_channels (int): The channels per eigenvector inside.
            (default: :obj:`32`)
        out_channels (int): The channels per eigenvector of the output.
            (default: :obj:`32`)
        num_layers (int): The number of :class:`SignEqConv` layers.
            (default: :obj:`3`)
        k (int, optional): The number of eigenvectors. The weights are
            shared by all columns, so any ``k`` works; when given, inputs
            with another ``k`` are rejected. (default: :obj:`None`)
        normalization (str): The aggregation, see :class:`SignEqConv`.
            (default: :obj:`"mean"`)
        rescale (bool): Whether to multiply the input by
            :math:`\sqrt{n}`, :math:`n` the number of nodes of its graph
            (per graph with ``batch``). Unit-norm eigenvectors have entries
            of order :math:`1 / \sqrt{n}`; rescaled, they are of order one,
            and training with the usual learning rates converges in a few
            epochs instead of stalling. A positive factor per graph changes
            neither symmetry. (default: :obj:`False`)
        chunk_size (int, optional): Compute every layer ``chunk_size``
            nodes at a time, with activation checkpointing: training keeps
            two :math:`[N, k, C]` tensors per layer for the backward pass
            instead of about twelve, and recomputes the rest chunk by chunk
            (roughly twice the forward work). The output is the same up to
            rounding. For graphs whose :math:`[N, k, C]` activations do
            not fit in memory, such as OGB-size graphs; the attribute may
            be changed after construction. (default: :obj:`None`, whole
            layers at once)

    Shapes:
        - **input:** pe :math:`[N, k]` or :math:`[N, k, C]`,
          edge_index :math:`[2, E]`, edge_weight :math:`[E]` *(optional)*,
          batch :math:`[N]` *(optional)*
        - **output:** :math:`[N, k, C_{\mathrm{out}}]`
    """

    def __init__(
        self,
        in_channels: int = 1,
        hidden_channels: int = 32,
        out_channels: int = 32,
        num_layers: int = 3,
        k: int | None = None,
        normalization: str = "mean",
        rescale: bool = False,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        check_positive_int(in_channels, "in_channels", owner=owner)
        check_positive_int(hidden_channels, "hidden_channels", owner=owner)
        check_positive_int(out_channels, "out_channels", owner=owner)
        check_positive_int(num_layers, "num_layers", owner=owner)
        if chunk_size is not None:
            check_positive_int(chunk_size, "chunk_size", owner=owner)
        if not isinstance(rescale, bool):
            raise TypeError(
                f"{owner}: 'rescale' must be a bool, got "
                f"{type(rescale).__name__}"
            )
        if k is not None:
            check_positive_int(k, "k", owner=owner)
        check_normalization(normalization, owner=owner)
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.num_layers = num_layers
        self.k = k
        self.normalization = normalization
        self.rescale = rescale
        self.chunk_size = chunk_size

        sizes = [in_channels, *[hidden_channels] * (num_layers - 1)]
        sizes.append(out_channels)
        self.convs = ModuleList(
            [
                SignEqConv(
                    sizes[i],
                    sizes[i + 1],
                    hidden_channels=hidden_channels,
                    normalization=normalization,
                )
                for i in range(num_layers)
            ]
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reset all learnable parameters of the module."""
        for conv in self.convs:
            conv.reset_parameters()

    def forward(
        self,
        pe: Tensor,
        edge_index: Tensor,
        edge_weight: Tensor | None = None,
        batch: Tensor | None = None,
    ) -> Tensor:
        """Run the network on the eigenvectors ``pe`` of a graph.

        Args:
            pe (torch.Tensor): The eigenvectors, one per column, optionally
                with channels.
            edge_index (torch.Tensor): The graph connectivity.
            edge_weight (torch.Tensor, optional): The edge weights.
                (default: :obj:`None`)
            batch (torch.Tensor, optional): The graph index of every node,
                for the per-graph means. (default: :obj:`None`, one graph)
        """
        owner = type(self).__name__
        check_pe(pe, self.k, owner=owner)
        x = _channels_last(pe, self.in_channels, owner=owner)
        check_edge_index(edge_index, x.size(0), owner=owner)
        check_edge_weight(edge_weight, edge_index.size(1), owner=owner)
        check_batch(batch, x.size(0), owner=owner)

        if self.rescale:
            x = x * _sqrt_graph_sizes(x, batch).view(-1, 1, 1)
        adj = aggregation(
            edge_index, x.size(0), edge_weight, self.normalization, x.dtype
        )
        for conv in self.convs:
            x = conv._step(x, adj, batch, self.chunk_size)

        return x

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, "
            f"{self.out_channels}, hidden_channels={self.hidden_channels}, "
            f"num_layers={self.num_layers}"
            + (", rescale=True" if self.rescale else "")
            + ")"
        )


def _sqrt_graph_sizes(x: Tensor, batch: Tensor | None) -> Tensor:
    # [num_nodes]: the square root of the size of every node's graph.
    if batch is None:
        return x.new_full((x.size(0),), float(x.size(0)) ** 0.5)
    ones = x.new_ones(x.size(0))
    sizes = scatter(ones, batch, 0, reduce="sum")
    return sizes.sqrt().index_select(0, batch)


def _channels_last(pe: Tensor, in_channels: int, *, owner: str) -> Tensor:
    # Plain eigenvectors [N, k] are one channel per column.
    check_pe(pe, None, owner=owner)
    if pe.dim() == 2:
        if in_channels != 1:
            raise ValueError(
                f"{owner}: 'pe' of shape [num_nodes, k] = {list(pe.shape)} "
                f"has 1 channel, but in_channels={in_channels}; pass "
                f"[num_nodes, k, {in_channels}]"
            )
        return pe.unsqueeze(-1)
    if pe.size(2) != in_channels:
        raise ValueError(
            f"{owner}: 'pe' must have in_channels={in_channels} channels "
            f"(pe.size(2)), got {pe.size(2)} in shape {list(pe.shape)}"
        )
    return pe


def _adjacency(
    edge_index: Tensor,
    edge_weight: Tensor | None,
    x: Tensor,
    normalization: str,
    *,
    owner: str,
) -> Aggregation | Tensor:
    # A sparse edge_index is taken as the finished aggregation matrix, the
    # way PyG convolutions accept a precomputed adjacency.
    num_nodes = x.size(0)
    if isinstance(edge_index, Tensor) and edge_index.is_sparse:
        if edge_index.shape != (num_nodes, num_nodes):
            raise ValueError(
                f"{owner}: a sparse 'edge_index' must have shape "
                f"[num_nodes, num_nodes] = [{num_nodes}, {num_nodes}], got "
                f"{list(edge_index.shape)}"
            )
        if edge_weight is not None:
            raise ValueError(
                f"{owner}: 'edge_weight' must be None when 'edge_index' is a "
                f"sparse adjacency (its values are the weights)"
            )
        return as_aggregation(edge_index.to(x.dtype))
    check_edge_index(edge_index, num_nodes, owner=owner)
    check_edge_weight(edge_weight, edge_index.size(1), owner=owner)
    return aggregation(
        edge_index, num_nodes, edge_weight, normalization, x.dtype
    )
