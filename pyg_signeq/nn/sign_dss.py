"""The authors' sign-equivariant network: gates on absolute values."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import Linear, Module, ModuleList, Parameter, ReLU, Sequential

from pyg_signeq.nn._propagation import (
    aggregation,
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


def _gate(y: Tensor, mlp: Module, d: Tensor) -> Tensor:
    # |y| is sign invariant, so the MLP on it (with its biases and ReLU) is
    # an invariant; multiplying the odd y by it keeps the result odd.
    return y + (d * y) * torch.sigmoid(mlp(y.abs()))


class SignGate(Module):
    r"""The per-node sign-equivariant gate of the authors' network.

    From `"Expressive Sign Equivariant Networks for Spectral Geometric
    Learning" <https://arxiv.org/abs/2312.02339>`_ (Lim et al., NeurIPS
    2023):

    .. math::
        g(\mathbf{y}) = \mathbf{y} + (\mathbf{d} \odot \mathbf{y}) \odot
        \sigma\big(\mathrm{MLP}(|\mathbf{y}|)\big)

    for every node's row :math:`\mathbf{y} \in \mathbb{R}^k`, with a
    learnable :math:`\mathbf{d} \in \mathbb{R}^k` initialised to ones and an
    MLP :math:`k \to` ``hidden_channels`` :math:`\to k` (linear, ReLU,
    linear). The gate acts on every node separately and is sign and
    permutation equivariant:

    .. math::
        g(P V S) = P\, g(V)\, S.

    Args:
        k (int): The number of eigenvectors.
        hidden_channels (int): The hidden size of the MLP.
            (default: :obj:`92`)

    Shapes:
        - **input:** pe :math:`[N, k]`
        - **output:** :math:`[N, k]`
    """

    def __init__(self, k: int, hidden_channels: int = 92) -> None:
        super().__init__()
        check_positive_int(k, "k", owner=type(self).__name__)
        check_positive_int(
            hidden_channels, "hidden_channels", owner=type(self).__name__
        )
        self.k = k
        self.hidden_channels = hidden_channels
        self.mlp = Sequential(
            Linear(k, hidden_channels), ReLU(), Linear(hidden_channels, k)
        )
        self.d = Parameter(torch.empty(k))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reset all learnable parameters of the module."""
        for layer in self.mlp:
            if isinstance(layer, Linear):
                layer.reset_parameters()
        torch.nn.init.ones_(self.d)

    def forward(self, pe: Tensor, edge_index: Tensor | None = None) -> Tensor:
        """Gate every node's row of ``pe``.

        Args:
            pe (torch.Tensor): The eigenvectors, one per column.
            edge_index (torch.Tensor, optional): Accepted so that every PE
                module shares one call signature; unused, because the gate
                acts on each node alone. (default: :obj:`None`)
        """
        check_pe(pe, self.k, owner=type(self).__name__, ranks=(2,))
        if edge_index is not None:
            check_edge_index(edge_index, pe.size(0), owner=type(self).__name__)

        return _gate(pe, self.mlp, self.d)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(k={self.k}, "
            f"hidden_channels={self.hidden_channels})"
        )


class SignDSS(Module):
    r"""The authors' sign-equivariant network over Laplacian eigenvectors.

    From `"Expressive Sign Equivariant Networks for Spectral Geometric
    Learning" <https://arxiv.org/abs/2312.02339>`_ (Lim et al., NeurIPS
    2023), as used in their link-prediction experiment.

    Every layer adds two :class:`SignGate` outputs to a residual stream,
    one on the node's own row and one on the mean of its neighbours' rows:

    .. math::
        X \leftarrow X + g_1(X) + g_2(\bar{A} X),
        \qquad \bar{A} = D^{-1} A,

    where :math:`\bar{A}` averages over incoming neighbours (a node without
    neighbours aggregates to zero). :math:`\bar{A}` acts within each column
    and the gates are sign equivariant, so the network is sign and
    permutation equivariant:

    .. math::
        f(P V S) = P\, f(V)\, S.

    With ``k = 16`` and the defaults it has 24,544 parameters, as in the
    paper.

    Args:
        k (int): The number of eigenvectors.
        hidden_channels (int): The hidden size of each gate's MLP.
            (default: :obj:`92`)
        num_layers (int): The number of layers. (default: :obj:`4`)
        normalization (str): How neighbours are aggregated: ``"mean"`` (the
            authors' choice), ``"sum"`` or ``"sym"``
            (:math:`D^{-1/2} A D^{-1/2}`). (default: :obj:`"mean"`)

    Shapes:
        - **input:** pe :math:`[N, k]`, edge_index :math:`[2, E]`,
          edge_weight :math:`[E]` *(optional)*,
          batch :math:`[N]` *(optional)*
        - **output:** :math:`[N, k]`
    """

    def __init__(
        self,
        k: int,
        hidden_channels: int = 92,
        num_layers: int = 4,
        normalization: str = "mean",
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        check_positive_int(k, "k", owner=owner)
        check_positive_int(hidden_channels, "hidden_channels", owner=owner)
        check_positive_int(num_layers, "num_layers", owner=owner)
        check_normalization(normalization, owner=owner)
        self.k = k
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.normalization = normalization
        self.self_gates = ModuleList(
            [SignGate(k, hidden_channels) for _ in range(num_layers)]
        )
        self.neighbor_gates = ModuleList(
            [SignGate(k, hidden_channels) for _ in range(num_layers)]
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reset all learnable parameters of the module."""
        for gate in [*self.self_gates, *self.neighbor_gates]:
            gate.reset_parameters()

    def forward(
        self,
        pe: Tensor,
        edge_index: Tensor,
        edge_weight: Tensor | None = None,
        batch: Tensor | None = None,
    ) -> Tensor:
        """Run the network on the eigenvectors ``pe`` of a graph.

        Args:
            pe (torch.Tensor): The eigenvectors, one per column.
            edge_index (torch.Tensor): The graph connectivity.
            edge_weight (torch.Tensor, optional): Edge weights used in the
                neighbour mean. (default: :obj:`None`)
            batch (torch.Tensor, optional): The graph index of every node.
                Accepted so that every PE network shares one signature;
                unused, because the network only looks at neighbours.
                (default: :obj:`None`)
        """
        owner = type(self).__name__
        check_pe(pe, self.k, owner=owner, ranks=(2,))
        check_edge_index(edge_index, pe.size(0), owner=owner)
        check_edge_weight(edge_weight, edge_index.size(1), owner=owner)
        check_batch(batch, pe.size(0), owner=owner)

        adj = aggregation(
            edge_index, pe.size(0), edge_weight, self.normalization, pe.dtype
        )
        x = pe
        for self_gate, neighbor_gate in zip(
            self.self_gates, self.neighbor_gates, strict=True
        ):
            x = (
                x
                + _gate(x, self_gate.mlp, self_gate.d)
                + _gate(propagate(adj, x), neighbor_gate.mlp, neighbor_gate.d)
            )

        return x

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(k={self.k}, "
            f"hidden_channels={self.hidden_channels}, "
            f"num_layers={self.num_layers})"
        )
