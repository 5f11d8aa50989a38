"""Link heads: logits for node pairs from node embeddings.

Every head scores the pairs ``(u, w)`` of ``edge_label_index`` from the
embeddings of their two ends and returns one logit per pair. A head built
from the product ``x_u * x_w`` of two embeddings is sign invariant even when
the embeddings are sign equivariant: flipping eigenvector ``i`` flips
column ``i`` at both ends and the two flips cancel.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import Linear, Module, ModuleList

from pyg_signeq.nn._validation import check_positive_int


def check_edge_label_index(
    edge_label_index: Tensor, num_nodes: int, *, owner: str
) -> None:
    """Raise if ``edge_label_index`` is not ``[2, num_links]`` in range.

    Args:
        edge_label_index (torch.Tensor): The node pairs to score.
        num_nodes (int): The number of nodes with an embedding.
        owner (str): The name of the module, used in the message.
    """
    if not isinstance(edge_label_index, Tensor):
        raise TypeError(
            f"{owner}: 'edge_label_index' must be a torch.Tensor, got "
            f"{type(edge_label_index).__name__}"
        )
    if edge_label_index.dim() != 2 or edge_label_index.size(0) != 2:
        raise ValueError(
            f"{owner}: 'edge_label_index' must have shape [2, num_links], "
            f"got {list(edge_label_index.shape)}"
        )
    if edge_label_index.dtype != torch.long:
        raise TypeError(
            f"{owner}: 'edge_label_index' must have dtype torch.long, got "
            f"{edge_label_index.dtype}"
        )
    if edge_label_index.numel() > 0:
        low = int(edge_label_index.min())
        high = int(edge_label_index.max())
        if low < 0 or high >= num_nodes:
            raise ValueError(
                f"{owner}: 'edge_label_index' must hold node indices in "
                f"[0, {num_nodes}), got values in [{low}, {high}]"
            )


def _check_embedding(x: Tensor, name: str, *, owner: str) -> None:
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise TypeError(
            f"{owner}: '{name}' must be a floating torch.Tensor, got "
            f"{getattr(x, 'dtype', type(x).__name__)}"
        )
    if x.dim() < 2:
        raise ValueError(
            f"{owner}: '{name}' must have shape [num_nodes, ...] with at "
            f"least one feature dimension, got {list(x.shape)}"
        )


def _pair_products(x: Tensor, edge_label_index: Tensor) -> Tensor:
    # [num_links, *feature_shape]: one gather per end, multiplied.
    # index_select has a much faster backward on the CPU than advanced
    # indexing, whose accumulating scatter slows down with more threads.
    source = x.index_select(0, edge_label_index[0])
    return source * x.index_select(0, edge_label_index[1])


class _MLP(Module):
    # Linear layers with ReLU between them and none after the last; built
    # here so that parameter counts are exactly the sum of the layers.

    def __init__(self, sizes: list[int]) -> None:
        super().__init__()
        self.sizes = sizes
        self.lins = ModuleList(
            [Linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
        )

    def reset_parameters(self) -> None:
        for lin in self.lins:
            lin.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        for i, lin in enumerate(self.lins):
            x = lin(x)
            if i < len(self.lins) - 1:
                x = x.relu()
        return x


class DotProductHead(Module):
    r"""Scores a pair by the inner product of its two embeddings.

    .. math::
        s(u, w) = \langle \mathbf{x}_u, \mathbf{x}_w \rangle,

    summed over every feature dimension, so ``x`` may be ``[N, C]``,
    ``[N, k]`` or ``[N, k, C]``. The head has no parameters. For
    sign-invariant embeddings the score is sign invariant; for
    sign-equivariant ones it is too, since
    :math:`(s_i x_{u,i})(s_i x_{w,i}) = x_{u,i} x_{w,i}`:

    .. math::
        s(P X S)[\pi(u), \pi(w)] = s(X)[u, w].

    Shapes:
        - **input:** x :math:`[N, *]`,
          edge_label_index :math:`[2, L]`
        - **output:** :math:`[L]`
    """

    takes_node_embeddings = False

    def reset_parameters(self) -> None:
        """Reset all learnable parameters (there are none)."""

    def forward(self, x: Tensor, edge_label_index: Tensor) -> Tensor:
        """Return the logits of the pairs in ``edge_label_index``.

        Args:
            x (torch.Tensor): The node embeddings.
            edge_label_index (torch.Tensor): The pairs to score.
        """
        owner = type(self).__name__
        _check_embedding(x, "x", owner=owner)
        check_edge_label_index(edge_label_index, x.size(0), owner=owner)

        products = _pair_products(x, edge_label_index)
        return products.reshape(products.size(0), -1).sum(dim=-1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class HadamardMLPHead(Module):
    r"""Scores a pair by an MLP on the elementwise product of embeddings.

    .. math::
        s(u, w) = \mathrm{MLP}(\mathbf{x}_u \odot \mathbf{x}_w),

    with the features of ``x`` flattened, so ``x`` may be ``[N, C]``,
    ``[N, k]`` or ``[N, k, C]``. Every entry of the product is unchanged by
    sign flips of sign-equivariant embeddings, so the score is sign
    invariant for sign-invariant and sign-equivariant inputs alike:

    .. math::
        s(P X S)[\pi(u), \pi(w)] = s(X)[u, w].

    The MLP is ``in_channels`` :math:`\to` ``hidden_channels`` (``num_layers
    - 1`` times) :math:`\to 1` with ReLU between layers. The paper's "MLP on
    :math:`v_u \odot v_w`" baseline is ``HadamardMLPHead(16, 148)``, with
    24,717 parameters.

    Args:
        in_channels (int): The number of features per node after flattening.
        hidden_channels (int): The hidden size. (default: :obj:`148`)
        num_layers (int): The number of linear layers. (default: :obj:`3`)

    Shapes:
        - **input:** x :math:`[N, *]` with :math:`\prod * =`
          ``in_channels``, edge_label_index :math:`[2, L]`
        - **output:** :math:`[L]`
    """

    takes_node_embeddings = False

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int = 148,
        num_layers: int = 3,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        check_positive_int(in_channels, "in_channels", owner=owner)
        check_positive_int(hidden_channels, "hidden_channels", owner=owner)
        check_positive_int(num_layers, "num_layers", owner=owner)
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        sizes = [in_channels, *[hidden_channels] * (num_layers - 1), 1]
        self.mlp = _MLP(sizes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reset all learnable parameters of the module."""
        self.mlp.reset_parameters()

    def forward(self, x: Tensor, edge_label_index: Tensor) -> Tensor:
        """Return the logits of the pairs in ``edge_label_index``.

        Args:
            x (torch.Tensor): The node embeddings.
            edge_label_index (torch.Tensor): The pairs to score.
        """
        owner = type(self).__name__
        _check_embedding(x, "x", owner=owner)
        features = x[0].numel() if x.size(0) > 0 else x.shape[1:].numel()
        if features != self.in_channels:
            raise ValueError(
                f"{owner}: 'x' must have in_channels={self.in_channels} "
                f"features per node, got {features} in shape "
                f"{list(x.shape)}"
            )
        check_edge_label_index(edge_label_index, x.size(0), owner=owner)

        products = _pair_products(x, edge_label_index)
        products = products.reshape(products.size(0), -1)
        return self.mlp(products).squeeze(-1)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, "
            f"hidden_channels={self.hidden_channels}, "
            f"num_layers={self.num_layers})"
        )


class SignProductHead(Module):
    r"""A sign-invariant head for sign-equivariant embeddings with channels.

    For equivariant embeddings :math:`Z \in \mathbb{R}^{N \times k \times
    C}` (e.g. the output of :class:`SignEqNet`) and, optionally, invariant
    node embeddings :math:`H \in \mathbb{R}^{N \times C_h}`:

    .. math::
        \mathbf{q}_i &= \mathrm{ReLU}\big(\mathrm{MLP}_1(\mathbf{z}_{u,i}
            \odot \mathbf{z}_{w,i})\big) \quad (i = 1, \ldots, k) \\
        s(u, w) &= \mathrm{MLP}_2\Big(\Big[\tfrac{1}{k} \textstyle\sum_i
            \mathbf{q}_i,\ \mathbf{h}_u \odot \mathbf{h}_w\Big]\Big).

    With ``column_layers=0`` there is no :math:`\mathrm{MLP}_1`:
    :math:`\mathbf{q}_i = \mathbf{z}_{u,i} \odot \mathbf{z}_{w,i}`, so the
    first feature is the per-channel dot product of the two ends over the
    eigenvectors, a :math:`C`-channel generalisation of
    :class:`DotProductHead`. It costs :math:`O(L k C)` instead of
    :math:`O(L k C H)` with an :math:`[L, k, H]` tensor per layer, which
    dominates training time when :math:`L` is all training links.

    :math:`\mathbf{z}_{u,i} \odot \mathbf{z}_{w,i}` is unchanged when
    column :math:`i` flips at both ends, and everything after it is an
    ordinary network on invariants, so the score is sign invariant and
    follows a relabelling of the nodes:

    .. math::
        s(P Z S, P H)[\pi(u), \pi(w)] = s(Z, H)[u, w].

    :math:`\mathrm{MLP}_1` is shared by all eigenvectors, so the head does
    not depend on the order of the columns and accepts any ``k``. Both MLPs
    use ReLU between layers; :math:`\mathrm{MLP}_1` has ``column_layers``
    linear layers and :math:`\mathrm{MLP}_2` has ``num_layers``.

    Args:
        in_channels (int): The channels :math:`C` per eigenvector.
        hidden_channels (int): The hidden size of both MLPs.
            (default: :obj:`64`)
        node_channels (int, optional): The size :math:`C_h` of the invariant
            node embeddings; :obj:`None` if none are used.
            (default: :obj:`None`)
        num_layers (int): The number of linear layers of
            :math:`\mathrm{MLP}_2`. (default: :obj:`2`)
        column_layers (int, optional): The number of linear layers of
            :math:`\mathrm{MLP}_1`; ``0`` uses the products as they are.
            (default: :obj:`None`, ``num_layers``)

    Shapes:
        - **input:** z :math:`[N, k, C]` (or :math:`[N, k]` when
          ``in_channels = 1``), edge_label_index :math:`[2, L]`,
          h :math:`[N, C_h]` *(optional)*
        - **output:** :math:`[L]`
    """

    takes_node_embeddings = True

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int = 64,
        node_channels: int | None = None,
        num_layers: int = 2,
        column_layers: int | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        check_positive_int(in_channels, "in_channels", owner=owner)
        check_positive_int(hidden_channels, "hidden_channels", owner=owner)
        check_positive_int(num_layers, "num_layers", owner=owner)
        if node_channels is not None:
            check_positive_int(node_channels, "node_channels", owner=owner)
        if column_layers is None:
            column_layers = num_layers
        if (
            isinstance(column_layers, bool)
            or not isinstance(column_layers, int)
            or column_layers < 0
        ):
            raise ValueError(
                f"{owner}: 'column_layers' must be a non-negative int, got "
                f"{column_layers!r}"
            )
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.node_channels = node_channels
        self.num_layers = num_layers
        self.column_layers = column_layers
        self.column_mlp = None
        column_channels = in_channels
        if column_layers > 0:
            self.column_mlp = _MLP(
                [in_channels, *[hidden_channels] * column_layers]
            )
            column_channels = hidden_channels
        pooled = column_channels + (node_channels or 0)
        self.mlp = _MLP([pooled, *[hidden_channels] * (num_layers - 1), 1])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reset all learnable parameters of the module."""
        if self.column_mlp is not None:
            self.column_mlp.reset_parameters()
        self.mlp.reset_parameters()

    def forward(
        self,
        z: Tensor,
        edge_label_index: Tensor,
        h: Tensor | None = None,
    ) -> Tensor:
        """Return the logits of the pairs in ``edge_label_index``.

        Args:
            z (torch.Tensor): The sign-equivariant embeddings.
            edge_label_index (torch.Tensor): The pairs to score.
            h (torch.Tensor, optional): Sign-invariant node embeddings,
                required when the head was built with ``node_channels``.
                (default: :obj:`None`)
        """
        owner = type(self).__name__
        _check_embedding(z, "z", owner=owner)
        if z.dim() == 2 and self.in_channels == 1:
            z = z.unsqueeze(-1)
        if z.dim() != 3 or z.size(-1) != self.in_channels:
            raise ValueError(
                f"{owner}: 'z' must have shape [num_nodes, k, "
                f"{self.in_channels}], got {list(z.shape)}"
            )
        check_edge_label_index(edge_label_index, z.size(0), owner=owner)
        if self.node_channels is None and h is not None:
            raise ValueError(
                f"{owner}: got node embeddings 'h' but the head was built "
                f"without them; pass node_channels={h.size(-1)} to use them"
            )
        if self.node_channels is not None:
            if h is None:
                raise ValueError(
                    f"{owner}: 'h' (invariant node embeddings of size "
                    f"node_channels={self.node_channels}) is required"
                )
            _check_embedding(h, "h", owner=owner)
            if h.shape != (z.size(0), self.node_channels):
                raise ValueError(
                    f"{owner}: 'h' must have shape [{z.size(0)}, "
                    f"{self.node_channels}], got {list(h.shape)}"
                )

        columns = _pair_products(z, edge_label_index)
        if self.column_mlp is not None:
            columns = self.column_mlp(columns).relu()
        features = columns.mean(dim=1)
        if h is not None:
            features = torch.cat(
                [features, _pair_products(h, edge_label_index)], dim=-1
            )
        return self.mlp(features).squeeze(-1)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, "
            f"hidden_channels={self.hidden_channels}, "
            f"node_channels={self.node_channels}, "
            f"num_layers={self.num_layers}, "
            f"column_layers={self.column_layers})"
        )
