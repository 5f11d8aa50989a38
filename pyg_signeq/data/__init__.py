"""Graph data: synthetic families."""

from pyg_signeq.data.graphs import barabasi_albert, random_regular
from pyg_signeq.data.synthetic import erdos_renyi, nearly_symmetric

__all__ = [
    "barabasi_albert",
    "erdos_renyi",
    "nearly_symmetric",
    "random_regular",
]
