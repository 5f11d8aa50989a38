"""Graphs from user edge-list files, and a reproducible link split.

:func:`read_edge_list` turns a text file of ``u v`` or ``u v w`` lines into
an undirected PyG graph; :func:`random_link_split` splits its edges into
training, validation and test sets the way
:class:`~torch_geometric.transforms.RandomLinkSplit` does, but from a seed
and without touching the global random number generators.
"""

from __future__ import annotations

import copy
import gzip
import logging
import math
import os
import random
import re
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.transforms import RandomLinkSplit
from torch_geometric.utils import coalesce, is_undirected

logger = logging.getLogger(__name__)

REDUCTIONS: tuple[str, ...] = ("sum", "mean", "max", "min")
"""How :func:`read_edge_list` may merge the weights of repeated pairs."""

_INTEGER = re.compile(r"[0-9]+")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split_line(line: str, comma: bool) -> list[str]:
    if comma:
        return [field.strip() for field in line.split(",")]
    return line.split()


def _data_lines(path: Path) -> list[tuple[int, str]]:
    """Numbered lines that are neither blank nor ``#`` comments."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as file:
        return [
            (number, line.strip())
            for number, line in enumerate(file, start=1)
            if line.strip() and not line.lstrip().startswith("#")
        ]


def _looks_like_header(first: list[str], second: list[str] | None) -> bool:
    # A header names its columns: some field is not a number where the
    # next line has one.
    if second is None or len(first) != len(second):
        return False
    for index, (head, value) in enumerate(zip(first, second, strict=True)):
        numeric = _is_number if index == 2 else _INTEGER.fullmatch
        if not numeric(head) and numeric(value):
            return True
    return False


def read_edge_list(
    path: str | os.PathLike,
    header: bool | None = None,
    reduce: str = "sum",
) -> Data:
    """Read an undirected graph from an edge-list text file.

    Every data line holds one edge, ``u v`` or ``u v w`` with a weight
    ``w``, separated by commas (when the first data line has a comma) or
    else by whitespace; all lines have the same number of fields. Blank
    lines and lines starting with ``#`` are skipped, and so is a header
    line (see ``header``). Files ending in ``.gz`` are read through gzip.

    Node ids are the tokens as written. If every id is a non-negative
    integer, nodes are numbered ``0 .. N - 1`` in increasing order of their
    ids and ``node_ids`` is a ``torch.long`` tensor; otherwise every id is
    a string (``"7"`` and ``"07"`` differ), numbered in sorted string order,
    and ``node_ids`` is a list of strings. Either way ``node_ids[i]`` is the
    original id of node ``i``, and only ids that occur in the file are
    nodes (gaps between integer ids are not filled).

    Edges are undirected: a pair listed in either direction, or several
    times, becomes one edge stored in both directions, and the weights of
    its lines are merged by ``reduce`` (so with ``"sum"`` a file listing
    ``u v 1`` and ``v u 1`` gets weight 2; use ``"mean"`` or ``"max"`` for
    files that list both directions). Self-loops are dropped, with their
    count logged; nodes seen only in self-loops stay as isolated nodes.

    Args:
        path (str or os.PathLike): The file.
        header (bool, optional): Whether the first data line is a header.
            :obj:`None` guesses: it is a header when one of its fields is
            not a number while the same field of the next line is (so
            ``source target`` above ``alice bob`` is read as an edge;
            pass :obj:`True` then). (default: :obj:`None`)
        reduce (str): ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``, how
            the weights of repeated pairs merge. (default: :obj:`"sum"`)

    Returns:
        torch_geometric.data.Data: ``edge_index`` (undirected, coalesced,
        no self-loops), ``edge_weight`` (``float32``, only when the file
        has weights), ``num_nodes`` and ``node_ids``.

    Shapes:
        - **edge_index**: :math:`[2, E]`
        - **edge_weight**: :math:`[E]`
        - **node_ids**: :math:`[N]`

    Raises:
        ValueError: For a malformed line, naming the file, the line number
            and the line; or when the file holds no edge.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"'path' must be a str or os.PathLike, got {type(path).__name__}"
        )
    if header is not None and not isinstance(header, bool):
        raise TypeError(
            f"'header' must be a bool or None, got {type(header).__name__}"
        )
    if reduce not in REDUCTIONS:
        raise ValueError(
            f"'reduce' must be one of {REDUCTIONS}, got {reduce!r}"
        )
    path = Path(path)
    lines = _data_lines(path)
    if not lines:
        raise ValueError(f"'{path}' holds no edge")

    comma = "," in lines[0][1]
    rows = [_split_line(line, comma) for _, line in lines]
    if header is None:
        header = _looks_like_header(
            rows[0], rows[1] if len(rows) > 1 else None
        )
    if header:
        lines, rows = lines[1:], rows[1:]
        if not lines:
            raise ValueError(f"'{path}' holds a header but no edge")

    num_fields = len(rows[0])
    separator = "comma" if comma else "whitespace"
    weights: list[float] = []
    for (number, line), fields in zip(lines, rows, strict=True):
        problem = None
        if len(fields) not in (2, 3):
            problem = f"expected 'u v' or 'u v w', got {len(fields)} fields"
        elif len(fields) != num_fields:
            problem = (
                f"expected {num_fields} fields like the first edge, got "
                f"{len(fields)}"
            )
        elif not all(fields[:2]):
            problem = "empty node id"
        elif num_fields == 3:
            try:
                weight = float(fields[2])
            except ValueError:
                weight = math.nan
            if not math.isfinite(weight):
                problem = f"weight {fields[2]!r} is not a finite number"
            weights.append(weight)
        if problem is not None:
            raise ValueError(
                f"{path}, line {number}: {problem} ({separator}-separated): "
                f"{line!r}"
            )

    tokens = np.array([fields[:2] for fields in rows], dtype=str).T
    flat = tokens.reshape(-1)
    node_ids: torch.Tensor | list[str]
    if all(_INTEGER.fullmatch(token) for token in flat):
        ids = [int(token) for token in flat]
        if max(ids) >= 2**63:
            raise ValueError(
                f"'{path}' has a node id of 2**63 or more, {max(ids)}; "
                f"integer ids must fit torch.long"
            )
        unique, inverse = np.unique(np.array(ids), return_inverse=True)
        node_ids = torch.from_numpy(unique.astype(np.int64))
    else:
        unique, inverse = np.unique(flat, return_inverse=True)
        node_ids = unique.tolist()
    num_nodes = len(unique)
    row, col = torch.from_numpy(inverse.reshape(2, -1).astype(np.int64))

    loops = row == col
    if bool(loops.any()):
        logger.warning(
            "%s: dropped %d self-loop(s)", path, int(loops.sum().item())
        )
    keep = ~loops
    lo = torch.minimum(row, col)[keep]
    hi = torch.maximum(row, col)[keep]
    edge_weight = None
    if weights:
        edge_weight = torch.tensor(weights, dtype=torch.float64)[keep]
    pairs = torch.stack([lo, hi])
    # With `edge_weight` None, PyG returns (edge_index, None).
    pairs, edge_weight = coalesce(
        pairs, edge_weight, num_nodes=num_nodes, reduce=reduce
    )
    if pairs.size(1) < lo.numel():
        logger.info(
            "%s: merged %d repeated pair(s) by %r",
            path,
            lo.numel() - pairs.size(1),
            reduce,
        )

    both = torch.cat([pairs, pairs.flip(0)], dim=1)
    data = Data(num_nodes=num_nodes, node_ids=node_ids)
    if edge_weight is None:
        data.edge_index = coalesce(both, num_nodes=num_nodes)
    else:
        data.edge_index, weight = coalesce(
            both, edge_weight.repeat(2), num_nodes=num_nodes
        )
        data.edge_weight = weight.float()
    return data


def _check_amount(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"'{name}' must be a float fraction or an int count, got "
            f"{type(value).__name__}"
        )
    if isinstance(value, float) and not 0.0 <= value < 1.0:
        raise ValueError(
            f"'{name}' as a fraction must lie in [0, 1), got {value}"
        )
    if isinstance(value, int) and value < 0:
        raise ValueError(
            f"'{name}' as a count must be non-negative, got {value}"
        )


def random_link_split(
    data: Data,
    val: float = 0.1,
    test: float = 0.1,
    seed: int = 0,
) -> tuple[Data, Data, Data]:
    r"""Split the edges of an undirected graph for link prediction.

    Runs :class:`~torch_geometric.transforms.RandomLinkSplit` with
    ``is_undirected=True``, no negative training samples and one negative
    per positive for validation and test, so its conventions hold:

    - ``train.edge_index`` (with ``edge_weight`` and other edge attributes)
      holds the training edges in both directions, for message passing;
      ``train.edge_label_index`` holds them once each, with
      ``edge_label = 1``. Draw fresh training negatives every epoch.
    - ``val.edge_index`` is the training graph again; ``test.edge_index``
      adds the validation edges. Their ``edge_label_index`` holds the
      positives, one direction each, then as many negatives, with
      ``edge_label`` 1 then 0. Negatives are pairs that are not edges of
      ``data``.

    The split depends on ``seed`` only. ``RandomLinkSplit`` draws from the
    global torch and Python generators, so it runs inside
    :func:`torch.random.fork_rng` with the CPU generator seeded, and
    Python's :mod:`random` state is saved and restored around it: the
    caller's random streams are left as they were. (The exact split may
    change with the PyG version, whose sampling it follows.)

    Args:
        data (torch_geometric.data.Data): An undirected graph (both
            directions of every edge in ``edge_index``).
        val (float or int): Fraction (float) or number (int) of edges for
            validation. (default: :obj:`0.1`)
        test (float or int): Fraction (float) or number (int) of edges for
            test. (default: :obj:`0.1`)
        seed (int): Seed of the split. (default: :obj:`0`)

    Returns:
        tuple[Data, Data, Data]: The training, validation and test graphs,
        on the device of ``data``.

    Shapes:
        - **edge_label_index**: :math:`[2, E_{split}]`, positives (and for
          validation and test an equal number of negatives)
        - **edge_label**: :math:`[E_{split}]`, ``float``
    """
    if not isinstance(data, Data):
        raise TypeError(
            f"'data' must be a torch_geometric.data.Data, got "
            f"{type(data).__name__}"
        )
    if data.edge_index is None:
        raise ValueError("'data' must have an 'edge_index', got None")
    _check_amount("val", val)
    _check_amount("test", test)
    if isinstance(val, float) and isinstance(test, float) and val + test >= 1:
        raise ValueError(
            f"'val' + 'test' must leave edges for training, got "
            f"{val} + {test} = {val + test}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"'seed' must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"'seed' must be non-negative, got {seed}")
    if not is_undirected(data.edge_index, num_nodes=data.num_nodes):
        raise ValueError(
            "'data.edge_index' must be undirected (both directions of every "
            "edge); apply torch_geometric.utils.to_undirected first"
        )

    device = data.edge_index.device
    # A shallow copy gets its own stores, so moving it leaves `data` alone.
    source = copy.copy(data).to("cpu")
    # PyG would take a list of node ids for an edge attribute, and split
    # it, whenever its length equals the number of edges.
    node_ids = source.node_ids if "node_ids" in source else None
    if node_ids is not None:
        del source.node_ids
    transform = RandomLinkSplit(
        num_val=val,
        num_test=test,
        is_undirected=True,
        add_negative_train_samples=False,
        neg_sampling_ratio=1.0,
    )
    with torch.random.fork_rng(devices=[]):
        # Only the CPU generator: torch.manual_seed would reseed CUDA too.
        torch.default_generator.manual_seed(seed)
        python_state = random.getstate()
        random.seed(seed)
        try:
            splits = transform(source)
        finally:
            random.setstate(python_state)
    train, val_data, test_data = (split.to(device) for split in splits)
    if node_ids is not None:
        for split in (train, val_data, test_data):
            split.node_ids = node_ids
    return train, val_data, test_data
