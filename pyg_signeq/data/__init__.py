"""Graph data: synthetic families, OGB loading, edge lists and splits."""

from pyg_signeq.data.clustering import (
    block_symmetry,
    orbit_split,
    symmetric_blocks,
)
from pyg_signeq.data.edge_list import random_link_split, read_edge_list
from pyg_signeq.data.families import (
    as_data,
    circular_ladder,
    grid_2d,
    identical_blocks_sbm,
)
from pyg_signeq.data.graphs import barabasi_albert, random_regular
from pyg_signeq.data.ogb import (
    OGB_LINK_METRICS,
    LinkEvalEdges,
    OGBLinkData,
    load_ogb_link,
    write_tiny_ogb_link,
)
from pyg_signeq.data.synthetic import erdos_renyi, nearly_symmetric

__all__ = [
    "barabasi_albert",
    "erdos_renyi",
    "nearly_symmetric",
    "random_regular",
    "as_data",
    "circular_ladder",
    "grid_2d",
    "identical_blocks_sbm",
    "block_symmetry",
    "orbit_split",
    "symmetric_blocks",
    "OGB_LINK_METRICS",
    "LinkEvalEdges",
    "OGBLinkData",
    "load_ogb_link",
    "write_tiny_ogb_link",
    "random_link_split",
    "read_edge_list",
]
