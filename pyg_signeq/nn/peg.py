"""PEG: GCN layers whose edges are weighted by positional distances."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import Linear, Module, ModuleList, Parameter, Sequential, SiLU
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import scatter

from pyg_signeq.nn._validation import (
    check_edge_index,
    check_edge_weight,
    check_pe,
    check_positive_int,
)


class PEGConv(Module):
    r"""The PEG layer, a GCN layer with positional edge weights.

    From `"Equivariant and Stable Positional Encoding for More Powerful
    Graph Neural Networks" <https://arxiv.org/abs/2203.00199>`_ (Wang et
    al., ICLR 2022). Node features are updated by GCN messages, each scaled
    by a learned function of the distance between the positional encodings
    of its two ends; the positional encoding itself passes through
    unchanged (the caller keeps using the same ``pe``):

    .. math::
        \mathbf{x}'_u = \sum_{w \in \mathcal{N}(u) \cup \{u\}}
        \frac{e_{wu}}{\sqrt{\hat{d}_w \hat{d}_u}}\,
        \xi\big(\lVert \mathbf{p}_u - \mathbf{p}_w \rVert\big)\,
        \mathbf{W} \mathbf{x}_w + \mathbf{b},
        \qquad \xi = \sigma \circ \mathrm{MLP},

    with :math:`\hat{d}` the degrees after adding self-loops and
    :math:`\mathbf{p}_u` the row of ``pe`` of node :math:`u`. Distances are
    unchanged by any orthogonal transform :math:`Q` of the PE, sign flips
    included, so the layer is invariant in ``pe`` and permutation
    equivariant in the nodes:

    .. math::
        f(P X, P V Q) = P\, f(X, V) \quad \text{for all } Q \in O(k).

    Unlike the other PE modules its call is ``forward(x, pe, edge_index,
    edge_weight=None)``: it updates node features ``x`` and needs them as
    the first argument, as PyG convolutions do; like them it applies no
    activation to its output.

    Args:
        in_channels (int): The size of the node features.
        out_channels (int): The size of the output features.
        edge_hidden_channels (int): The hidden size of the MLP
            :math:`1 \to` ``edge_hidden_channels`` :math:`\to 1` on the
            distances. (default: :obj:`32`)
        add_self_loops (bool): Whether to add self-loops (at distance zero)
            before normalising, as GCN does. (default: :obj:`True`)
        bias (bool): Whether to learn the bias :math:`\mathbf{b}`.
            (default: :obj:`True`)

    Shapes:
        - **input:** x :math:`[N, C_{\mathrm{in}}]`, pe :math:`[N, k]`,
          edge_index :math:`[2, E]`, edge_weight :math:`[E]` *(optional)*
        - **output:** :math:`[N, C_{\mathrm{out}}]`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        edge_hidden_channels: int = 32,
        add_self_loops: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        check_positive_int(in_channels, "in_channels", owner=owner)
        check_positive_int(out_channels, "out_channels", owner=owner)
        check_positive_int(
            edge_hidden_channels, "edge_hidden_channels", owner=owner
        )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.edge_hidden_channels = edge_hidden_channels
        self.add_self_loops = add_self_loops

        self.lin = Linear(in_channels, out_channels, bias=False)
        self.edge_mlp = Sequential(
            Linear(1, edge_hidden_channels),
            SiLU(),
            Linear(edge_hidden_channels, 1),
        )
        if bias:
            self.bias = Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reset all learnable parameters of the module."""
        self.lin.reset_parameters()
        for layer in self.edge_mlp:
            if isinstance(layer, Linear):
                layer.reset_parameters()
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)

    def forward(
        self,
        x: Tensor,
        pe: Tensor,
        edge_index: Tensor,
        edge_weight: Tensor | None = None,
    ) -> Tensor:
        """Update the node features ``x`` with PE-weighted GCN messages.

        Args:
            x (torch.Tensor): The node features.
            pe (torch.Tensor): The positional encoding of every node.
            edge_index (torch.Tensor): The graph connectivity.
            edge_weight (torch.Tensor, optional): Edge weights, multiplied
                into the GCN normalisation. (default: :obj:`None`)
        """
        owner = type(self).__name__
        if not isinstance(x, Tensor) or x.dim() != 2:
            raise ValueError(
                f"{owner}: 'x' must be a tensor of shape [num_nodes, "
                f"in_channels], got "
                f"{getattr(x, 'shape', type(x).__name__)}"
            )
        if x.size(1) != self.in_channels:
            raise ValueError(
                f"{owner}: 'x' must have in_channels={self.in_channels} "
                f"columns, got {x.size(1)}"
            )
        check_pe(pe, None, owner=owner, ranks=(2,))
        if pe.size(0) != x.size(0):
            raise ValueError(
                f"{owner}: 'pe' must have one row per node of 'x' "
                f"({x.size(0)}), got {pe.size(0)}"
            )
        check_edge_index(edge_index, x.size(0), owner=owner)
        check_edge_weight(edge_weight, edge_index.size(1), owner=owner)

        edge_index, norm = gcn_norm(
            edge_index,
            edge_weight,
            x.size(0),
            add_self_loops=self.add_self_loops,
            dtype=x.dtype,
        )
        source, target = edge_index[0], edge_index[1]
        distance = torch.linalg.vector_norm(
            pe[source] - pe[target], dim=-1, keepdim=True
        )
        xi = torch.sigmoid(self.edge_mlp(distance.to(x.dtype))).squeeze(-1)
        h = self.lin(x)
        messages = (norm * xi).unsqueeze(-1) * h[source]
        out = scatter(messages, target, 0, dim_size=x.size(0), reduce="sum")
        if self.bias is not None:
            out = out + self.bias

        return out

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, "
            f"{self.out_channels}, "
            f"edge_hidden_channels={self.edge_hidden_channels})"
        )


class PEGNet(Module):
    r"""A stack of :class:`PEGConv` layers: the PEG link-prediction encoder.

    Node features pass through ``num_layers`` PEG layers with ReLU between
    them (none after the last); every layer weights its messages by the
    same positional encoding, which is never updated. Like its layers the
    network is invariant to any orthogonal transform :math:`Q` of the PE,
    sign flips included:

    .. math::
        f(P X, P V Q) = P\, f(X, V) \quad \text{for all } Q \in O(k).

    It has ``takes_pe = True``, so :class:`LinkPredictor` calls it as
    ``node_encoder(x, pe, edge_index[, edge_weight])``.

    Args:
        in_channels (int): The size of the node features.
        hidden_channels (int): The hidden size. (default: :obj:`128`)
        out_channels (int): The output size. (default: :obj:`64`)
        num_layers (int): The number of layers. (default: :obj:`3`)
        edge_hidden_channels (int): The hidden size of each layer's MLP on
            the distances. (default: :obj:`32`)

    Shapes:
        - **input:** x :math:`[N, C_{\mathrm{in}}]`, pe :math:`[N, k]`,
          edge_index :math:`[2, E]`, edge_weight :math:`[E]` *(optional)*
        - **output:** :math:`[N, C_{\mathrm{out}}]`
    """

    takes_pe = True

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int = 128,
        out_channels: int = 64,
        num_layers: int = 3,
        edge_hidden_channels: int = 32,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        check_positive_int(num_layers, "num_layers", owner=owner)
        check_positive_int(hidden_channels, "hidden_channels", owner=owner)
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.num_layers = num_layers
        self.edge_hidden_channels = edge_hidden_channels
        sizes = [in_channels, *[hidden_channels] * (num_layers - 1)]
        sizes.append(out_channels)
        self.convs = ModuleList(
            [
                PEGConv(sizes[i], sizes[i + 1], edge_hidden_channels)
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
        x: Tensor,
        pe: Tensor,
        edge_index: Tensor,
        edge_weight: Tensor | None = None,
    ) -> Tensor:
        """Update the node features ``x`` through all PEG layers.

        Args:
            x (torch.Tensor): The node features.
            pe (torch.Tensor): The positional encoding of every node.
            edge_index (torch.Tensor): The graph connectivity.
            edge_weight (torch.Tensor, optional): Edge weights.
                (default: :obj:`None`)
        """
        for i, conv in enumerate(self.convs):
            x = conv(x, pe, edge_index, edge_weight)
            if i < self.num_layers - 1:
                x = x.relu()

        return x

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, "
            f"{self.out_channels}, hidden_channels={self.hidden_channels}, "
            f"num_layers={self.num_layers})"
        )
