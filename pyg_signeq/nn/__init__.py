"""Sign-equivariant and sign-invariant networks over Laplacian PEs.

All PE networks take ``forward(pe, edge_index, edge_weight=None,
batch=None)`` except :class:`PEGConv` and :class:`PEGNet`, which update
node features and take ``forward(x, pe, edge_index, edge_weight=None)``,
and :class:`SignGate`, which acts per node and takes ``forward(pe,
edge_index=None)``. Link heads take ``forward(x, edge_label_index)``
(:class:`SignProductHead` also ``h``) and return logits;
:class:`LinkPredictor` composes a node encoder, a PE network and a head,
and :func:`build_model` builds the named configurations.

Compilation: every module runs under :func:`torch.compile` (tested with
the ``eager`` backend in the fast suite and with ``inductor`` in the slow
one); building the sparse adjacency is a graph break that Dynamo handles.
TorchScript is not supported: ``torch.jit.script`` is deprecated in
PyTorch 2.x and the input checks use Python it cannot compile.
"""

from pyg_signeq.nn.heads import (
    DotProductHead,
    HadamardMLPHead,
    SignProductHead,
)
from pyg_signeq.nn.link_predictor import LinkEmbedding, LinkPredictor
from pyg_signeq.nn.pca_frame import (
    PCAFrame,
    PCAFrameAveraging,
    PCAFrameCanonical,
)
from pyg_signeq.nn.peg import PEGConv, PEGNet
from pyg_signeq.nn.sign_dss import SignDSS, SignGate
from pyg_signeq.nn.sign_eq import SignEqConv, SignEqNet
from pyg_signeq.nn.sign_eq_point import SignEqPointNet
from pyg_signeq.nn.sign_net import SignNet
from pyg_signeq.nn.zoo import (
    MODEL_NAMES,
    PAPER_MODELS,
    PAPER_PARAMETER_COUNTS,
    build_model,
    describe_model,
)

__all__ = [
    "MODEL_NAMES",
    "PAPER_MODELS",
    "PAPER_PARAMETER_COUNTS",
    "DotProductHead",
    "HadamardMLPHead",
    "LinkEmbedding",
    "LinkPredictor",
    "PCAFrame",
    "PCAFrameAveraging",
    "PCAFrameCanonical",
    "PEGConv",
    "PEGNet",
    "SignProductHead",
    "build_model",
    "describe_model",
    "SignDSS",
    "SignEqConv",
    "SignEqNet",
    "SignEqPointNet",
    "SignGate",
    "SignNet",
]
