"""A link predictor composing a PyG GNN, a PE network and a link head."""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.nn import Module
from torch_geometric.utils import to_torch_csr_tensor

from pyg_signeq.nn._validation import check_edge_index, check_edge_weight
from pyg_signeq.nn.heads import DotProductHead, check_edge_label_index

_PE_HINT = (
    "compute it from the training graph with "
    "pyg_signeq.transforms.AddLaplacianPE (or add_train_pe for a link "
    "split)"
)


class LinkEmbedding(NamedTuple):
    """The node embeddings a :class:`LinkPredictor` scores pairs from.

    Attributes:
        h (torch.Tensor, optional): Sign-invariant node embeddings
            ``[num_nodes, C]`` from the node encoder.
        z (torch.Tensor, optional): Embeddings from the PE network (or the
            raw eigenvectors): ``[num_nodes, k]``, ``[num_nodes, k, C]``
            when sign equivariant, ``[num_nodes, C]`` when invariant.
    """

    h: Tensor | None
    z: Tensor | None


class LinkPredictor(Module):
    r"""Scores node pairs from a node encoder, a PE network and a head.

    .. math::
        \mathbf{h} = \mathrm{GNN}(X, A), \quad
        Z = f(V, A), \quad
        s(u, w) = \mathrm{head}(\mathbf{h}, Z)[u, w],

    where :math:`V` are the Laplacian eigenvectors of the training graph
    (``pe``), :math:`f` is a sign-equivariant or sign-invariant PE network
    and the head combines the two ends of every pair through products
    :math:`\mathbf{z}_u \odot \mathbf{z}_w`. With a sign-equivariant or
    sign-invariant :math:`f` and a product head the logits are sign
    invariant and follow relabellings of the nodes:

    .. math::
        s(P X, P V S)[\pi(u), \pi(w)] = s(X, V)[u, w].

    Which embeddings exist depends on what is given:

    - ``node_encoder`` gives :math:`\mathbf{h}`. It is called as
      ``node_encoder(x, edge_index)`` (plus ``edge_weight`` when one is
      given), so any PyG ``BasicGNN`` (GCN, GraphSAGE, GIN, GAT) or user
      module with that signature fits. A module with a true
      ``takes_pe`` attribute (:class:`PEGNet`) is called as
      ``node_encoder(x, pe, edge_index[, edge_weight])``.
    - ``pe_encoder`` gives :math:`Z`, called as
      ``pe_encoder(pe, edge_index[, edge_weight], batch=batch)``, e.g.
      :class:`SignDSS`, :class:`SignEqNet` or :class:`SignNet`.
    - With neither, :math:`Z` is the raw ``pe`` (the untrained
      "eigenvector dot product" baseline).

    A head with a true ``takes_node_embeddings`` attribute
    (:class:`SignProductHead`) receives ``head(z, edge_label_index, h=h)``;
    any other head receives one tensor, :math:`\mathbf{h}` or :math:`Z`, or
    both concatenated per node as ``[h, z.flatten(1)]``.

    Args:
        node_encoder (torch.nn.Module, optional): A GNN on node features.
            (default: :obj:`None`)
        pe_encoder (torch.nn.Module, optional): A network on the Laplacian
            eigenvectors. (default: :obj:`None`)
        head (torch.nn.Module, optional): The link head.
            (default: :class:`DotProductHead`)
        sparse_adjacency (bool): Whether the node encoder receives the
            graph as a sparse adjacency matrix ``adj_t`` instead of
            ``edge_index``: a ``torch.sparse_csr`` tensor ``[N, N]`` whose
            row ``i`` holds the edges into node ``i``, valued by
            ``edge_weight`` (ones without weights), PyG's ``adj_t``
            convention. PyG convolutions that implement
            ``message_and_aggregate`` (``GCNConv``, ``GINConv``,
            ``SAGEConv``, among others) then compute the same function with
            one sparse product per layer instead of a gather and a scatter
            over all edges, several times faster on the CPU. Not for node
            encoders that take ``pe``. (default: :obj:`False`)

    Shapes:
        - **input:** x :math:`[N, F]` *(when there is a node encoder)*,
          edge_index :math:`[2, E]`, edge_label_index :math:`[2, L]`,
          pe :math:`[N, k]` *(when the model uses positions)*,
          edge_weight :math:`[E]` *(optional)*, batch :math:`[N]`
          *(optional)*
        - **output:** :math:`[L]` logits
    """

    def __init__(
        self,
        node_encoder: Module | None = None,
        pe_encoder: Module | None = None,
        head: Module | None = None,
        sparse_adjacency: bool = False,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if not isinstance(sparse_adjacency, bool):
            raise TypeError(
                f"{owner}: 'sparse_adjacency' must be a bool, got "
                f"{type(sparse_adjacency).__name__}"
            )
        if sparse_adjacency and getattr(node_encoder, "takes_pe", False):
            raise ValueError(
                f"{owner}: 'sparse_adjacency=True' needs a node encoder that "
                f"takes (x, adj_t); {type(node_encoder).__name__} takes pe "
                "and edge_index"
            )
        for name, module in [
            ("node_encoder", node_encoder),
            ("pe_encoder", pe_encoder),
            ("head", head),
        ]:
            if module is not None and not isinstance(module, Module):
                raise TypeError(
                    f"{owner}: '{name}' must be a torch.nn.Module or None, "
                    f"got {type(module).__name__}"
                )
        self.node_encoder = node_encoder
        self.pe_encoder = pe_encoder
        self.head = DotProductHead() if head is None else head
        self.sparse_adjacency = sparse_adjacency
        self.reset_parameters()

    @property
    def uses_pe(self) -> bool:
        """Whether the model needs the positional encoding ``pe``."""
        return (
            self.pe_encoder is not None
            or self.node_encoder is None
            or bool(getattr(self.node_encoder, "takes_pe", False))
        )

    @property
    def uses_x(self) -> bool:
        """Whether the model needs node features ``x``."""
        return self.node_encoder is not None

    def reset_parameters(self) -> None:
        """Reset all learnable parameters of the module."""
        for module in [self.node_encoder, self.pe_encoder, self.head]:
            if module is not None and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def encode(
        self,
        x: Tensor | None,
        edge_index: Tensor,
        pe: Tensor | None = None,
        edge_weight: Tensor | None = None,
        batch: Tensor | None = None,
    ) -> LinkEmbedding:
        """Compute the node embeddings of the whole graph.

        Args:
            x (torch.Tensor, optional): The node features; required when
                there is a node encoder.
            edge_index (torch.Tensor): The message-passing edges (for link
                prediction: the training edges).
            pe (torch.Tensor, optional): The Laplacian eigenvectors of the
                training graph; required when the model uses positions.
                (default: :obj:`None`)
            edge_weight (torch.Tensor, optional): The edge weights.
                (default: :obj:`None`)
            batch (torch.Tensor, optional): The graph index of every node.
                (default: :obj:`None`)
        """
        owner = type(self).__name__
        num_nodes = self._check_inputs(x, edge_index, pe)
        check_edge_index(edge_index, num_nodes, owner=owner)
        check_edge_weight(edge_weight, edge_index.size(1), owner=owner)
        weight = () if edge_weight is None else (edge_weight,)

        h = None
        if self.node_encoder is not None:
            if self.sparse_adjacency:
                h = self.node_encoder(
                    x, _adjacency_t(edge_index, edge_weight, num_nodes, x)
                )
            elif getattr(self.node_encoder, "takes_pe", False):
                h = self.node_encoder(x, pe, edge_index, *weight)
            else:
                h = self.node_encoder(x, edge_index, *weight)
        z = None
        if self.pe_encoder is not None:
            z = self.pe_encoder(pe, edge_index, *weight, batch=batch)
        elif self.node_encoder is None:
            z = pe

        return LinkEmbedding(h, z)

    def decode(
        self, embedding: LinkEmbedding, edge_label_index: Tensor
    ) -> Tensor:
        """Score the pairs ``edge_label_index`` from computed embeddings.

        Args:
            embedding (LinkEmbedding): The output of :meth:`encode`.
            edge_label_index (torch.Tensor): The pairs to score.
        """
        h, z = embedding
        num_nodes = (h if h is not None else z).size(0)
        check_edge_label_index(
            edge_label_index, num_nodes, owner=type(self).__name__
        )
        if getattr(self.head, "takes_node_embeddings", False):
            if z is None:
                raise ValueError(
                    f"{type(self).__name__}: the head "
                    f"{type(self.head).__name__} scores PE embeddings 'z', "
                    f"so the model needs a pe_encoder"
                )
            return self.head(z, edge_label_index, h=h)
        if h is None:
            return self.head(z, edge_label_index)
        if z is None:
            return self.head(h, edge_label_index)
        joint = torch.cat([h, z.reshape(z.size(0), -1).to(h.dtype)], dim=-1)
        return self.head(joint, edge_label_index)

    def forward(
        self,
        x: Tensor | None,
        edge_index: Tensor,
        edge_label_index: Tensor,
        pe: Tensor | None = None,
        edge_weight: Tensor | None = None,
        batch: Tensor | None = None,
    ) -> Tensor:
        """Encode the graph and score the pairs ``edge_label_index``.

        Args:
            x (torch.Tensor, optional): The node features.
            edge_index (torch.Tensor): The message-passing edges.
            edge_label_index (torch.Tensor): The pairs to score.
            pe (torch.Tensor, optional): The Laplacian eigenvectors.
                (default: :obj:`None`)
            edge_weight (torch.Tensor, optional): The edge weights.
                (default: :obj:`None`)
            batch (torch.Tensor, optional): The graph index of every node.
                (default: :obj:`None`)
        """
        embedding = self.encode(x, edge_index, pe, edge_weight, batch)
        return self.decode(embedding, edge_label_index)

    def encode_data(self, data: Any) -> LinkEmbedding:
        """Call :meth:`encode` with the attributes of a PyG ``Data``.

        Reads ``x``, ``edge_index``, ``pe``, ``edge_weight`` and ``batch``
        when present, and names what is missing.

        Args:
            data (torch_geometric.data.Data): The (training) graph.
        """
        owner = type(self).__name__
        if self.uses_pe and getattr(data, "pe", None) is None:
            raise ValueError(
                f"{owner}: the graph has no 'pe' attribute, which this "
                f"model needs; {_PE_HINT}"
            )
        if self.uses_x and getattr(data, "x", None) is None:
            raise ValueError(
                f"{owner}: the graph has no node features 'x', which the "
                f"node encoder needs; set data.x (e.g. "
                f"torch.ones(num_nodes, 1) for a graph without features)"
            )
        return self.encode(
            getattr(data, "x", None),
            data.edge_index,
            getattr(data, "pe", None),
            getattr(data, "edge_weight", None),
            getattr(data, "batch", None),
        )

    def _check_inputs(
        self, x: Tensor | None, edge_index: Tensor, pe: Tensor | None
    ) -> int:
        # Names the missing input and how to get it before any encoder
        # fails on it with a less helpful message. Returns num_nodes.
        owner = type(self).__name__
        if self.uses_pe:
            if pe is None:
                raise ValueError(
                    f"{owner}: 'pe' is required by this model; {_PE_HINT}"
                )
            if not isinstance(pe, Tensor) or pe.dim() not in (2, 3):
                raise ValueError(
                    f"{owner}: 'pe' must be a tensor of shape [num_nodes, "
                    f"k], got {getattr(pe, 'shape', type(pe).__name__)}"
                )
            k = getattr(self.pe_encoder, "k", None)
            if k is not None and pe.size(1) != k:
                raise ValueError(
                    f"{owner}: 'pe' has k={pe.size(1)} eigenvectors but the "
                    f"pe_encoder was built for k={k}; compute the PE with "
                    f"AddLaplacianPE(k={k}) or rebuild the model with "
                    f"k={pe.size(1)}"
                )
        if self.uses_x:
            if x is None:
                raise ValueError(
                    f"{owner}: node features 'x' are required by the node "
                    f"encoder; use torch.ones(num_nodes, 1) for a graph "
                    f"without features"
                )
            if not isinstance(x, Tensor) or x.dim() != 2:
                raise ValueError(
                    f"{owner}: 'x' must be a tensor of shape [num_nodes, "
                    f"num_features], got "
                    f"{getattr(x, 'shape', type(x).__name__)}"
                )
        if self.uses_x and self.uses_pe and x.size(0) != pe.size(0):
            raise ValueError(
                f"{owner}: 'x' and 'pe' must have one row per node, got "
                f"{x.size(0)} and {pe.size(0)} rows"
            )
        if not isinstance(edge_index, Tensor):
            raise TypeError(
                f"{owner}: 'edge_index' must be a torch.Tensor, got "
                f"{type(edge_index).__name__}"
            )
        return x.size(0) if self.uses_x else pe.size(0)

    def __repr__(self) -> str:
        sparse = ", sparse_adjacency=True" if self.sparse_adjacency else ""
        return (
            f"{type(self).__name__}(node_encoder={self.node_encoder}, "
            f"pe_encoder={self.pe_encoder}, head={self.head}{sparse})"
        )


def _adjacency_t(
    edge_index: Tensor, edge_weight: Tensor | None, num_nodes: int, x: Tensor
) -> Tensor:
    # PyG's adj_t: row i holds the edges j -> i. Building it, and GCN's
    # normalisation of it, make torch warn that sparse CSR support is in
    # beta and that invariant checks are off; neither concerns the user,
    # whose indices were checked already, so both are silenced here.
    values = edge_weight
    if values is None:
        values = x.new_ones(edge_index.size(1))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_SPARSE_WARNINGS)
        adj_t = to_torch_csr_tensor(
            edge_index.flip(0),
            values.to(x.dtype),
            size=(num_nodes, num_nodes),
        )
    return adj_t


_SPARSE_WARNINGS = (
    r"Sparse CSR tensor support is in beta state|Sparse invariant checks "
    r"are implicitly disabled"
)
