"""PyG transforms built on :mod:`pyg_signeq.spectral`."""

from pyg_signeq.transforms.laplacian_pe import (
    SIGN_MODES,
    AddLaplacianPE,
    add_train_pe,
)

__all__ = ["SIGN_MODES", "AddLaplacianPE", "add_train_pe"]
