"""Graph data: synthetic families."""

from pyg_signeq.data.graphs import barabasi_albert, random_regular

__all__ = ["barabasi_albert", "random_regular"]
