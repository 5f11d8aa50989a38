"""Named link-prediction models: the paper's five and ours.

The paper's configurations (Lim et al., NeurIPS 2023, synthetic link
prediction) are rebuilt at their exact parameter counts for ``k = 16`` and
one constant input feature; ours are sized to about the same budget.
"""

from __future__ import annotations

from collections.abc import Callable

from torch_geometric.nn import GCN, GIN

from pyg_signeq.nn._validation import check_positive_int
from pyg_signeq.nn.heads import (
    DotProductHead,
    HadamardMLPHead,
    SignProductHead,
)
from pyg_signeq.nn.link_predictor import LinkPredictor
from pyg_signeq.nn.peg import PEGNet
from pyg_signeq.nn.sign_dss import SignDSS
from pyg_signeq.nn.sign_eq import SignEqNet
from pyg_signeq.nn.sign_net import SignNet


def _gcn(k: int, in_channels: int) -> LinkPredictor:
    return LinkPredictor(
        node_encoder=GCN(in_channels, 128, num_layers=3, out_channels=64),
        head=DotProductHead(),
        sparse_adjacency=True,
    )


def _signnet(k: int, in_channels: int) -> LinkPredictor:
    return LinkPredictor(pe_encoder=SignNet(k), head=DotProductHead())


def _eigvec_dot(k: int, in_channels: int) -> LinkPredictor:
    return LinkPredictor(head=DotProductHead())


def _eigvec_mlp(k: int, in_channels: int) -> LinkPredictor:
    return LinkPredictor(head=HadamardMLPHead(k, 148, num_layers=3))


def _sign_dss(k: int, in_channels: int) -> LinkPredictor:
    return LinkPredictor(pe_encoder=SignDSS(k), head=DotProductHead())


# GNNs on node features get the graph as a sparse adjacency matrix: the
# same function as with edge_index, several times faster on the CPU.

# Our models score pairs by per-channel dot products over the eigenvectors
# (column_layers=0): an MLP per column and link would cost an [L, k, H]
# tensor per layer on all L training links, which made an epoch 20-40
# times slower than the paper's GCN for no measured gain.


def _sign_eq(k: int, in_channels: int) -> LinkPredictor:
    return LinkPredictor(
        pe_encoder=SignEqNet(1, 32, 8, num_layers=3, k=k, rescale=True),
        head=SignProductHead(8, 64, column_layers=0),
    )


def _sign_eq_gnn(k: int, in_channels: int) -> LinkPredictor:
    # GIN sums over neighbours, so even on constant features it sees
    # degrees, which GCN's normalisation hides and the PE does not carry.
    return LinkPredictor(
        node_encoder=GIN(in_channels, 32, num_layers=2, out_channels=32),
        pe_encoder=SignEqNet(1, 28, 8, num_layers=3, k=k, rescale=True),
        head=SignProductHead(8, 64, node_channels=32, column_layers=0),
        sparse_adjacency=True,
    )


def _peg(k: int, in_channels: int) -> LinkPredictor:
    return LinkPredictor(
        node_encoder=PEGNet(in_channels, 128, 64, num_layers=3),
        head=DotProductHead(),
    )


_BUILDERS: dict[str, tuple[Callable[[int, int], LinkPredictor], str]] = {
    "gcn": (_gcn, "GCN 1-128-128-64 on node features, dot product"),
    "signnet": (
        _signnet,
        "SignNet (GCN phi 1-128-8, GCN rho 128-128-64), dot product",
    ),
    "eigvec_dot": (_eigvec_dot, "dot product of raw eigenvectors, untrained"),
    "eigvec_mlp": (_eigvec_mlp, "MLP k-148-148-1 on v_u * v_w"),
    "sign_dss": (
        _sign_dss,
        "the authors' SignDSS (4 layers, gate MLPs k-92-k), dot product",
    ),
    "sign_eq": (
        _sign_eq,
        "SignEqNet 1-32-32-8 (ours), MLP 8-64-1 on per-channel dot products",
    ),
    "sign_eq_gnn": (
        _sign_eq_gnn,
        "GIN 1-32-32 on node features plus SignEqNet 1-28-28-8 (ours), "
        "MLP 40-64-1 on dot products and h_u * h_w",
    ),
    "peg": (_peg, "PEG 1-128-128-64 (PE-distance weighted GCN), dot product"),
}

MODEL_NAMES: tuple[str, ...] = tuple(_BUILDERS)
"""The names :func:`build_model` accepts, usable on command lines."""

PAPER_MODELS: tuple[str, ...] = (
    "gcn",
    "signnet",
    "eigvec_dot",
    "eigvec_mlp",
    "sign_dss",
)
"""The paper's five configurations, in the paper's order."""

PAPER_PARAMETER_COUNTS: dict[str, int] = {
    "gcn": 25_024,
    "signnet": 26_056,
    "eigvec_dot": 0,
    "eigvec_mlp": 24_717,
    "sign_dss": 24_544,
}
"""The paper's parameter counts at ``k = 16`` with one input feature."""


def describe_model(name: str) -> str:
    """Return a one-line description of the model called ``name``.

    Args:
        name (str): One of :data:`MODEL_NAMES`.
    """
    _check_name(name)
    return _BUILDERS[name][1]


def build_model(name: str, k: int = 16, in_channels: int = 1) -> LinkPredictor:
    r"""Build the link predictor called ``name``, freshly initialised.

    ====================  =============================================
    name                  model
    ====================  =============================================
    ``"gcn"``             GCN 1-128-128-64 on node features, dot
                          product (paper; 25,024 parameters)
    ``"signnet"``         SignNet, dot product (paper; 26,056)
    ``"eigvec_dot"``      raw eigenvector dot product, untrained
                          (paper; 0)
    ``"eigvec_mlp"``      MLP on :math:`v_u \odot v_w` (paper; 24,717)
    ``"sign_dss"``        the authors' SignDSS, dot product (paper;
                          24,544)
    ``"sign_eq"``         :class:`SignEqNet` with a
                          :class:`SignProductHead` (ours)
    ``"sign_eq_gnn"``     a GIN on node features plus :class:`SignEqNet`,
                          one product head on both (ours)
    ``"peg"``             :class:`PEGNet` 1-128-128-64, dot product
    ====================  =============================================

    Parameter counts are for ``k = 16`` and ``in_channels = 1``. Every
    model's logits are invariant to sign flips of the eigenvectors.

    Args:
        name (str): One of :data:`MODEL_NAMES`.
        k (int): The number of eigenvectors in ``pe``. (default: :obj:`16`)
        in_channels (int): The number of node features ``x``.
            (default: :obj:`1`)
    """
    _check_name(name)
    check_positive_int(k, "k", owner="build_model")
    check_positive_int(in_channels, "in_channels", owner="build_model")
    return _BUILDERS[name][0](k, in_channels)


def _check_name(name: str) -> None:
    if name not in _BUILDERS:
        raise ValueError(
            f"build_model: 'name' must be one of {', '.join(MODEL_NAMES)}, "
            f"got {name!r}"
        )
