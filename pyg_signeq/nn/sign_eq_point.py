"""A sign-equivariant message-passing network for point clouds in a frame."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import Linear, Module, ModuleList, Parameter, Sequential, SiLU
from torch_geometric.utils import scatter

from pyg_signeq.nn._validation import (
    check_batch,
    check_edge_index,
    check_positive_int,
)


def _mlp(in_channels: int, hidden_channels: int, out_channels: int) -> Module:
    return Sequential(
        Linear(in_channels, hidden_channels),
        SiLU(),
        Linear(hidden_channels, out_channels),
    )


class _PointLayer(Module):
    # One layer of SignEqPointNet; see its docstring for the equations.

    def __init__(
        self,
        dim: int,
        vector_channels: int,
        hidden_channels: int,
        update_invariants: bool = True,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.vector_channels = vector_channels
        k = vector_channels
        invariants = dim * k
        # No bias anywhere on the vector path: a bias would not flip.
        self.edge_left = Linear(k, k, bias=False)
        self.edge_right = Linear(k, k, bias=False)
        self.node_left = Linear(k, k, bias=False)
        self.node_right = Linear(k, k, bias=False)
        self.edge_mlp = _mlp(
            2 * hidden_channels + invariants, hidden_channels, hidden_channels
        )
        # The last layer's invariant features would reach no output.
        self.node_mlp = None
        if update_invariants:
            self.node_mlp = _mlp(
                2 * hidden_channels + invariants,
                hidden_channels,
                hidden_channels,
            )
        self.edge_gate = Linear(hidden_channels, dim * k)
        self.self_gate = Linear(hidden_channels + invariants, dim * k)
        self.edge_vec = Linear(k, k, bias=False)
        self.self_vec = Linear(k, k, bias=False)

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, Linear):
                module.reset_parameters()

    def forward(
        self, v: Tensor, h: Tensor, edge_index: Tensor, num_nodes: int
    ) -> tuple[Tensor, Tensor]:
        source, target = edge_index[0], edge_index[1]
        rel = v.index_select(0, source) - v.index_select(0, target)
        # Products of two column-wise linear maps of the same column flip
        # twice, so they are sign invariant.
        edge_inv = (self.edge_left(rel) * self.edge_right(rel)).flatten(1)
        node_inv = (self.node_left(v) * self.node_right(v)).flatten(1)

        message = self.edge_mlp(
            torch.cat(
                [
                    h.index_select(0, target),
                    h.index_select(0, source),
                    edge_inv,
                ],
                dim=-1,
            )
        )
        gate = torch.tanh(self.edge_gate(message)).view_as(rel)
        vec_message = self.edge_vec(rel) * gate
        vec_update = scatter(vec_message, target, 0, num_nodes, reduce="mean")
        self_gate = self.self_gate(torch.cat([h, node_inv], dim=-1))
        self_gate = torch.tanh(self_gate).view_as(v)
        v = v + vec_update + self.self_vec(v) * self_gate

        if self.node_mlp is None:
            return v, h
        aggregated = scatter(message, target, 0, num_nodes, reduce="mean")
        h = h + self.node_mlp(torch.cat([h, aggregated, node_inv], dim=-1))

        return v, h


class SignEqPointNet(Module):
    r"""A sign-equivariant message-passing network for point clouds.

    A network for the coordinates :math:`Y \in \mathbb{R}^{N \times d
    \times C}` of points in a frame (such as the PCA frame of
    :class:`PCAFrame`), with :math:`C` vector channels per point (position,
    velocity, ...) and optional invariant point features
    :math:`\mathbf{x}` (charges, masses). Every point keeps vector channels
    :math:`V \in \mathbb{R}^{N \times d \times K}`, lifted from :math:`Y`
    by a linear map within each column, and invariant features
    :math:`H \in \mathbb{R}^{N \times F}`. A layer computes, over the edges
    :math:`j \to i`,

    .. math::
        D_{ij} &= V_j - V_i \\
        \mathbf{m}_{ij} &= \mathrm{MLP}_e\big([\mathbf{h}_i, \mathbf{h}_j,
            (D_{ij} A) \odot (D_{ij} B)]\big) \\
        V_i &\leftarrow V_i + \operatorname{mean}_j\,
            (D_{ij} W_e) \odot \tanh(\mathbf{m}_{ij} G_e)
            + (V_i W_s) \odot \tanh\big([\mathbf{h}_i,
            (V_i A') \odot (V_i B')] G_s\big) \\
        \mathbf{h}_i &\leftarrow \mathbf{h}_i + \mathrm{MLP}_h\big(
            [\mathbf{h}_i, \operatorname{mean}_j \mathbf{m}_{ij},
            (V_i A') \odot (V_i B')]\big)

    where :math:`A, B, W_e, W_s, A', B'` are :math:`K \times K` maps applied
    to every column alike, without bias, and the products (flattened over
    the :math:`d` columns) are sign invariant because both factors flip
    with their column. The gates :math:`\tanh(\cdot\, G)` have one entry
    per column and channel, so columns may be treated differently: that is
    allowed by sign equivariance and useful in a PCA frame, whose columns
    are ordered by variance. The output is a linear map of :math:`V`
    within each column, so the network is sign and permutation
    equivariant:

    .. math::
        f(P Y S) = P\, f(Y)\, S,

    with :math:`S` a sign matrix acting on the :math:`d` columns (and
    :math:`\mathbf{x}`, ``batch`` permuted along).

    Args:
        dim (int): The number of columns :math:`d`.
        in_channels (int): The vector channels :math:`C` of the input;
            ``1`` for plain coordinates :math:`[N, d]`.
            (default: :obj:`1`)
        out_channels (int): The vector channels of the output.
            (default: :obj:`1`)
        node_channels (int): The invariant features per point, ``0`` for
            none. (default: :obj:`0`)
        hidden_channels (int): The width :math:`F` of the invariant
            features and MLPs. (default: :obj:`64`)
        vector_channels (int): The vector channels :math:`K` inside.
            (default: :obj:`16`)
        num_layers (int): The number of layers. (default: :obj:`4`)

    Shapes:
        - **input:** pos :math:`[N, d]` or :math:`[N, d, C]`,
          edge_index :math:`[2, E]` *(optional; default: every pair of
          distinct points of a graph)*, x :math:`[N, F_{\mathrm{in}}]`
          *(optional)*, batch :math:`[N]` *(optional)*
        - **output:** :math:`[N, d, C_{\mathrm{out}}]`
    """

    def __init__(
        self,
        dim: int,
        in_channels: int = 1,
        out_channels: int = 1,
        node_channels: int = 0,
        hidden_channels: int = 64,
        vector_channels: int = 16,
        num_layers: int = 4,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        check_positive_int(dim, "dim", owner=owner)
        check_positive_int(in_channels, "in_channels", owner=owner)
        check_positive_int(out_channels, "out_channels", owner=owner)
        check_positive_int(hidden_channels, "hidden_channels", owner=owner)
        check_positive_int(vector_channels, "vector_channels", owner=owner)
        check_positive_int(num_layers, "num_layers", owner=owner)
        if isinstance(node_channels, bool) or not isinstance(
            node_channels, int
        ):
            raise TypeError(
                f"{owner}: 'node_channels' must be an int, got "
                f"{type(node_channels).__name__}"
            )
        if node_channels < 0:
            raise ValueError(
                f"{owner}: 'node_channels' must be non-negative, got "
                f"{node_channels}"
            )
        self.dim = dim
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.node_channels = node_channels
        self.hidden_channels = hidden_channels
        self.vector_channels = vector_channels
        self.num_layers = num_layers

        self.lift = Linear(in_channels, vector_channels, bias=False)
        if node_channels > 0:
            self.embed = Linear(node_channels, hidden_channels)
        else:
            self.embed = None
        self.h0 = Parameter(torch.empty(hidden_channels))
        self.layers = ModuleList(
            [
                _PointLayer(
                    dim,
                    vector_channels,
                    hidden_channels,
                    update_invariants=i < num_layers - 1,
                )
                for i in range(num_layers)
            ]
        )
        self.readout = Linear(vector_channels, out_channels, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reset all learnable parameters of the module."""
        self.lift.reset_parameters()
        if self.embed is not None:
            self.embed.reset_parameters()
        torch.nn.init.zeros_(self.h0)
        for layer in self.layers:
            layer.reset_parameters()
        self.readout.reset_parameters()

    def forward(
        self,
        pos: Tensor,
        edge_index: Tensor | None = None,
        x: Tensor | None = None,
        batch: Tensor | None = None,
    ) -> Tensor:
        """Run the network on the coordinates ``pos`` in a frame.

        Args:
            pos (torch.Tensor): The coordinates, optionally with channels.
            edge_index (torch.Tensor, optional): The connectivity.
                (default: :obj:`None`, all pairs within each graph)
            x (torch.Tensor, optional): Invariant point features; required
                exactly when ``node_channels > 0``. (default: :obj:`None`)
            batch (torch.Tensor, optional): The graph of every point.
                (default: :obj:`None`, one graph)
        """
        owner = type(self).__name__
        y = self._check_pos(pos)
        num_nodes = y.size(0)
        check_batch(batch, num_nodes, owner=owner)
        if edge_index is None:
            edge_index = complete_edges(num_nodes, batch, device=y.device)
        check_edge_index(edge_index, num_nodes, owner=owner)
        self._check_x(x, num_nodes)

        v = self.lift(y)
        h = self.h0.expand(num_nodes, -1)
        if self.embed is not None:
            h = h + self.embed(x.to(y.dtype))
        for layer in self.layers:
            v, h = layer(v, h, edge_index, num_nodes)

        return self.readout(v)

    def _check_pos(self, pos: Tensor) -> Tensor:
        owner = type(self).__name__
        if not isinstance(pos, Tensor) or not pos.is_floating_point():
            raise TypeError(
                f"{owner}: 'pos' must be a floating torch.Tensor, got "
                f"{getattr(pos, 'dtype', type(pos).__name__)}"
            )
        if pos.dim() == 2:
            pos = pos.unsqueeze(-1)
        if pos.dim() != 3 or pos.shape[1:] != (self.dim, self.in_channels):
            raise ValueError(
                f"{owner}: 'pos' must have shape [num_points, d] (with "
                f"in_channels=1) or [num_points, d, in_channels] with d="
                f"{self.dim}, in_channels={self.in_channels}, got "
                f"{list(pos.shape)}"
            )
        return pos

    def _check_x(self, x: Tensor | None, num_nodes: int) -> None:
        owner = type(self).__name__
        if self.node_channels == 0:
            if x is not None:
                raise ValueError(
                    f"{owner}: 'x' must be None since node_channels=0, got "
                    f"shape {list(x.shape)}"
                )
            return
        if not isinstance(x, Tensor) or x.shape != (
            num_nodes,
            self.node_channels,
        ):
            shape = list(x.shape) if isinstance(x, Tensor) else x
            raise ValueError(
                f"{owner}: 'x' must have shape [num_points, node_channels] "
                f"= [{num_nodes}, {self.node_channels}], got {shape}"
            )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(dim={self.dim}, {self.in_channels}, "
            f"{self.out_channels}, node_channels={self.node_channels}, "
            f"hidden_channels={self.hidden_channels}, "
            f"vector_channels={self.vector_channels}, "
            f"num_layers={self.num_layers})"
        )


def complete_edges(
    num_nodes: int,
    batch: Tensor | None = None,
    *,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""Return every ordered pair of distinct points within each graph.

    Args:
        num_nodes (int): The number of points :math:`N`.
        batch (torch.Tensor, optional): The graph of every point.
            (default: :obj:`None`, one graph)
        device (torch.device, optional): The device of the result when
            ``batch`` is :obj:`None`. (default: :obj:`None`, the CPU)

    Returns:
        torch.Tensor: The edges, graphs of equal size together.

    Shapes:
        - **output:** :math:`[2, E]`, :math:`E = \sum_g n_g (n_g - 1)`
    """
    if batch is None:
        batch = torch.zeros(num_nodes, dtype=torch.long, device=device)
    # Sorting by graph makes every graph a contiguous block of nodes; the
    # pairs are built once per distinct block size, for all its blocks.
    order = torch.argsort(batch, stable=True)
    sizes = torch.bincount(batch)
    starts = torch.cumsum(sizes, 0) - sizes
    edges = []
    for size in torch.unique(sizes).tolist():
        if size < 2:
            continue
        local = torch.arange(size, device=batch.device)
        src, dst = torch.meshgrid(local, local, indexing="ij")
        keep = src != dst
        pairs = torch.stack([src[keep], dst[keep]])
        offsets = starts[sizes == size].view(-1, 1, 1)
        block = (pairs.unsqueeze(0) + offsets).transpose(0, 1)
        edges.append(order[block.reshape(2, -1)])
    if not edges:
        return torch.empty(2, 0, dtype=torch.long, device=batch.device)
    return torch.cat(edges, dim=1)
