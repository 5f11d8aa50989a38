"""SignNet: the sign-invariant baseline over Laplacian eigenvectors."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn import Module, ModuleList
from torch_geometric.nn import GCNConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from pyg_signeq.nn._propagation import (
    Aggregation,
    csr_aggregation,
    propagate,
)
from pyg_signeq.nn._validation import (
    check_batch,
    check_edge_index,
    check_edge_weight,
    check_pe,
    check_positive_int,
)


class _ConvStack(Module):
    # A plain GNN: convolutions with ReLU between them, none after the last.

    def __init__(
        self, sizes: list[int], conv: Callable[[int, int], Module]
    ) -> None:
        super().__init__()
        self.sizes = sizes
        self.convs = ModuleList(
            [conv(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
        )

    def reset_parameters(self) -> None:
        for conv in self.convs:
            conv.reset_parameters()

    @property
    def plain_gcn(self) -> bool:
        # Plain GCN layers (PyG's defaults) are a fixed sparse matrix times
        # a linear map, which forward_gcn evaluates in a faster order.
        return all(
            type(conv) is GCNConv
            and conv.normalize
            and conv.add_self_loops
            and not conv.improved
            and not conv.cached
            and conv.bias is not None
            for conv in self.convs
        )

    def forward_gcn(self, x: Tensor, adj: Aggregation | Tensor) -> Tensor:
        # x: [num_nodes, num_copies, channels], the copies sharing one graph
        # whose GCN-normalised matrix (self-loops included) is adj. Each
        # layer is adj @ x @ W^T + b; the sparse product runs on whichever
        # side of the linear map has fewer channels, and on all copies at
        # once instead of on a disjoint union of graphs.
        num_nodes, num_copies = x.size(0), x.size(1)
        for i, conv in enumerate(self.convs):
            weight = conv.lin.weight
            if weight.size(1) <= weight.size(0):
                x = propagate(adj, x) @ weight.T
            else:
                x = propagate(adj, x @ weight.T)
            x = x + conv.bias
            if i < len(self.convs) - 1:
                x = x.relu()
        return x.view(num_nodes, num_copies, -1)

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None
    ) -> Tensor:
        for i, conv in enumerate(self.convs):
            if edge_weight is None:
                x = conv(x, edge_index)
            else:
                x = conv(x, edge_index, edge_weight)
            if i < len(self.convs) - 1:
                x = x.relu()
        return x


class SignNet(Module):
    r"""The sign-invariant SignNet over Laplacian eigenvectors.

    From `"Sign and Basis Invariant Networks for Spectral Graph
    Representation Learning" <https://arxiv.org/abs/2202.13013>`_ (Lim et
    al., ICLR 2023), in the GNN form used as a baseline by `"Expressive
    Sign Equivariant Networks for Spectral Geometric Learning"
    <https://arxiv.org/abs/2312.02339>`_:

    .. math::
        f(V) = \rho\big([\phi(v_i) + \phi(-v_i)]_{i=1}^{k}\big),

    where :math:`\phi` is a GNN applied to every eigenvector column
    :math:`v_i` separately (shared weights), the :math:`k` outputs are
    concatenated per node and :math:`\rho` is a second GNN.
    :math:`\phi(v) + \phi(-v)` is even in :math:`v`, so

    .. math::
        f(P V S) = P\, f(V).

    The defaults are the paper's configuration: :math:`\phi` a GCN
    1-128-8 and :math:`\rho` a GCN 128-128-64, 26,056 parameters at
    ``k = 16``. Both GNNs use ReLU between layers and none after the last.

    To accept any PyG convolution, :math:`\phi` runs on one disjoint union
    of :math:`2k` copies of the graph (every column and its negation), so
    it costs :math:`2k` times the memory of one GNN pass. With PyG's plain
    :class:`~torch_geometric.nn.conv.GCNConv` (the default) both GNNs
    instead multiply all columns at once with one sparse GCN matrix, on
    the narrower side of each linear map: the same function, several
    times faster.

    Args:
        k (int): The number of eigenvectors.
        phi_hidden_channels (int): The hidden size of :math:`\phi`.
            (default: :obj:`128`)
        phi_out_channels (int): The output size of :math:`\phi` per
            eigenvector. (default: :obj:`8`)
        hidden_channels (int): The hidden size of :math:`\rho`.
            (default: :obj:`128`)
        out_channels (int): The output size. (default: :obj:`64`)
        phi_num_layers (int): The number of layers of :math:`\phi`.
            (default: :obj:`2`)
        num_layers (int): The number of layers of :math:`\rho`.
            (default: :obj:`2`)
        in_channels (int): The channels per eigenvector of the input.
            (default: :obj:`1`)
        conv (Callable[[int, int], torch.nn.Module]): Builds a layer from
            its input and output sizes, called as ``conv(x, edge_index)``
            or, when an ``edge_weight`` is given,
            ``conv(x, edge_index, edge_weight)``; any PyG convolution class
            with that signature, or a function wrapping one.
            (default: :class:`~torch_geometric.nn.conv.GCNConv`)

    Shapes:
        - **input:** pe :math:`[N, k]` or :math:`[N, k, C]`,
          edge_index :math:`[2, E]`, edge_weight :math:`[E]` *(optional)*,
          batch :math:`[N]` *(optional)*
        - **output:** :math:`[N, C_{\mathrm{out}}]`
    """

    def __init__(
        self,
        k: int,
        phi_hidden_channels: int = 128,
        phi_out_channels: int = 8,
        hidden_channels: int = 128,
        out_channels: int = 64,
        phi_num_layers: int = 2,
        num_layers: int = 2,
        in_channels: int = 1,
        conv: Callable[[int, int], Module] = GCNConv,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        for name, value in [
            ("k", k),
            ("phi_hidden_channels", phi_hidden_channels),
            ("phi_out_channels", phi_out_channels),
            ("hidden_channels", hidden_channels),
            ("out_channels", out_channels),
            ("phi_num_layers", phi_num_layers),
            ("num_layers", num_layers),
            ("in_channels", in_channels),
        ]:
            check_positive_int(value, name, owner=owner)
        if not callable(conv):
            raise TypeError(
                f"{owner}: 'conv' must be callable as conv(in_channels, "
                f"out_channels), got {type(conv).__name__}"
            )
        self.k = k
        self.phi_hidden_channels = phi_hidden_channels
        self.phi_out_channels = phi_out_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.phi_num_layers = phi_num_layers
        self.num_layers = num_layers
        self.in_channels = in_channels
        self.conv = conv

        phi_sizes = [
            in_channels,
            *[phi_hidden_channels] * (phi_num_layers - 1),
        ]
        self.phi = _ConvStack([*phi_sizes, phi_out_channels], conv)
        rho_sizes = [k * phi_out_channels]
        rho_sizes += [hidden_channels] * (num_layers - 1)
        self.rho = _ConvStack([*rho_sizes, out_channels], conv)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reset all learnable parameters of the module."""
        self.phi.reset_parameters()
        self.rho.reset_parameters()

    def forward(
        self,
        pe: Tensor,
        edge_index: Tensor,
        edge_weight: Tensor | None = None,
        batch: Tensor | None = None,
    ) -> Tensor:
        """Embed the nodes from the eigenvectors ``pe``, sign invariantly.

        Args:
            pe (torch.Tensor): The eigenvectors, one per column, optionally
                with channels.
            edge_index (torch.Tensor): The graph connectivity.
            edge_weight (torch.Tensor, optional): Edge weights passed to
                every convolution. (default: :obj:`None`)
            batch (torch.Tensor, optional): The graph index of every node.
                Accepted so that every PE network shares one signature;
                unused, because both GNNs only look at neighbours.
                (default: :obj:`None`)
        """
        owner = type(self).__name__
        check_pe(pe, self.k, owner=owner)
        check_edge_index(edge_index, pe.size(0), owner=owner)
        check_edge_weight(edge_weight, edge_index.size(1), owner=owner)
        check_batch(batch, pe.size(0), owner=owner)
        x = pe.unsqueeze(-1) if pe.dim() == 2 else pe
        if x.size(2) != self.in_channels:
            raise ValueError(
                f"{owner}: 'pe' must have in_channels={self.in_channels} "
                f"channels (pe.size(2)), got {x.size(2)} in shape "
                f"{list(pe.shape)}"
            )

        num_nodes, k = x.size(0), x.size(1)
        if self.phi.plain_gcn and self.rho.plain_gcn:
            adj = _gcn_matrix(edge_index, edge_weight, num_nodes, x.dtype)
            h = self.phi.forward_gcn(torch.cat([x, -x], dim=1), adj)
            h = (h[:, :k] + h[:, k:]).reshape(num_nodes, 1, -1)
            return self.rho.forward_gcn(h, adj).view(num_nodes, -1)

        # Columns and their negations become 2k disjoint copies of the
        # graph, so one call of phi handles all of them with any conv.
        copies = torch.cat([x, -x], dim=1).transpose(0, 1)
        copies = copies.reshape(2 * k * num_nodes, self.in_channels)
        offsets = torch.arange(2 * k, device=edge_index.device) * num_nodes
        union_index = edge_index.unsqueeze(1) + offsets.view(1, -1, 1)
        union_index = union_index.reshape(2, -1)
        union_weight = None
        if edge_weight is not None:
            union_weight = edge_weight.repeat(2 * k)
        h = self.phi(copies, union_index, union_weight)
        h = h.view(2, k, num_nodes, self.phi_out_channels).sum(dim=0)
        h = h.transpose(0, 1).reshape(num_nodes, k * self.phi_out_channels)

        return self.rho(h, edge_index, edge_weight)

    def __repr__(self) -> str:
        conv = getattr(self.conv, "__name__", type(self.conv).__name__)
        phi = "-".join(str(size) for size in self.phi.sizes)
        rho = "-".join(str(size) for size in self.rho.sizes)
        return (
            f"{type(self).__name__}(k={self.k}, phi={phi}, rho={rho}, "
            f"conv={conv})"
        )


def _gcn_matrix(
    edge_index: Tensor,
    edge_weight: Tensor | None,
    num_nodes: int,
    dtype: torch.dtype,
) -> Aggregation | Tensor:
    # The matrix GCNConv multiplies with: self-loops added, then
    # D^-1/2 (A + I) D^-1/2 over incoming edges, rows indexed by targets.
    edge_index, weight = gcn_norm(
        edge_index, edge_weight, num_nodes, add_self_loops=True, dtype=dtype
    )
    if weight.requires_grad:
        adj = torch.sparse_coo_tensor(
            edge_index.flip(0),
            weight,
            (num_nodes, num_nodes),
            check_invariants=False,
        )
        return adj.coalesce()
    return csr_aggregation(edge_index[1], edge_index[0], weight, num_nodes)
