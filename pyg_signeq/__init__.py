"""Sign-equivariant networks over Laplacian eigenvector encodings."""

__version__ = "0.1.0.dev0"
