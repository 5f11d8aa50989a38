"""Sign-equivariant and sign-invariant networks over Laplacian PEs."""

from pyg_signeq.nn.peg import PEGConv
from pyg_signeq.nn.sign_dss import SignDSS, SignGate
from pyg_signeq.nn.sign_eq import SignEqConv, SignEqNet
from pyg_signeq.nn.sign_net import SignNet

__all__ = [
    "PEGConv",
    "SignDSS",
    "SignEqConv",
    "SignEqNet",
    "SignGate",
    "SignNet",
]
