"""Eigensolvers for graph Laplacians.

The functions here take tensors and sizes and return eigenpairs; they know
nothing of PyG's data types, which live in :mod:`pyg_signeq.transforms`.
"""

from pyg_signeq.spectral.eig import (
    DENSE_MAX_NODES,
    SOLVERS,
    LaplacianEig,
    canonicalize_signs,
    laplacian_eig,
)
from pyg_signeq.spectral.laplacian import NORMALIZATIONS

__all__ = [
    "DENSE_MAX_NODES",
    "NORMALIZATIONS",
    "SOLVERS",
    "LaplacianEig",
    "canonicalize_signs",
    "laplacian_eig",
]
