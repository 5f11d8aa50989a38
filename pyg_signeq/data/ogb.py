"""OGB link-prediction datasets, loaded offline through OGB's own classes.

:func:`load_ogb_link` reads one of ``ogbl-collab``, ``ogbl-ddi``,
``ogbl-ppa`` and ``ogbl-citation2`` from a folder that already holds it,
through :class:`ogb.linkproppred.PygLinkPropPredDataset`, and returns the
training graph, OGB's split, the official metric and
:class:`ogb.linkproppred.Evaluator`. It never downloads: OGB would ask on
the console (``input()``) or fail on the network, so missing files are
detected first and reported with the path expected and the URL to fetch.

:func:`write_tiny_ogb_link` writes a small random dataset in OGB's on-disk
layout, for tests and tutorials that must run without the real data.

``ogb`` is imported only inside the functions: importing it starts a
thread that asks PyPI whether a newer ``ogb`` exists.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import pickle
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

logger = logging.getLogger(__name__)

OGB_LINK_METRICS: dict[str, str] = {
    "ogbl-collab": "hits@50",
    "ogbl-ddi": "hits@20",
    "ogbl-ppa": "hits@100",
    "ogbl-citation2": "mrr",
}
"""The datasets :func:`load_ogb_link` accepts, with their official metric."""

_SPLITS = ("valid", "test")


def _check_name(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"'name' must be a str, got {type(name).__name__}")
    if name not in OGB_LINK_METRICS:
        raise ValueError(
            f"'name' must be one of {sorted(OGB_LINK_METRICS)}, got {name!r}"
        )
    return name


def _meta(name: str) -> dict[str, str]:
    """The column of ``name`` in OGB's ``master.csv``, the layout's source."""
    import ogb.linkproppred
    import pandas as pd

    path = Path(ogb.linkproppred.__file__).parent / "master.csv"
    master = pd.read_csv(path, index_col=0, keep_default_na=False)
    meta = {key: str(value) for key, value in master[name].items()}
    # Our metric table must agree with the installed OGB's.
    assert meta["eval metric"] == OGB_LINK_METRICS[name], meta["eval metric"]
    return meta


def _extra_files(meta: dict[str, str], key: str) -> list[str]:
    value = meta[key]
    return [] if value == "None" else value.split(",")


def _check_root(root: str | os.PathLike) -> None:
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(
            f"'root' must be a str or os.PathLike, got {type(root).__name__}"
        )


def _dataset_dir(name: str, root: Path) -> Path:
    # OGB prefers a folder with a '_pyg' suffix when one exists.
    dir_name = name.replace("-", "_")
    if (root / f"{dir_name}_pyg").exists():
        dir_name += "_pyg"
    return root / dir_name


def _missing_files(folder: Path, meta: dict[str, str]) -> list[Path]:
    """Files OGB needs in ``folder`` to load without downloading."""
    raw = folder / "raw"
    # PyG downloads unless every file of OGB's `raw_file_names` exists.
    needed = [folder / f"RELEASE_v{meta['version']}.txt", raw / "edge.csv.gz"]
    if meta["has_node_attr"] == "True":
        needed.append(raw / "node-feat.csv.gz")
    if meta["has_edge_attr"] == "True":
        needed.append(raw / "edge-feat.csv.gz")
    if not (folder / "processed" / "geometric_data_processed.pt").exists():
        # Processing reads these too; OGB would fail on them with a bare
        # "No necessary file".
        needed += [raw / "num-node-list.csv.gz", raw / "num-edge-list.csv.gz"]
        for key in ("additional node files", "additional edge files"):
            needed += [raw / f"{f}.csv.gz" for f in _extra_files(meta, key)]
    split = folder / "split" / meta["split"]
    if not (split / "split_dict.pt").exists():
        needed += [split / f"{part}.pt" for part in ("train", *_SPLITS)]
    return [path for path in needed if not path.exists()]


def _safe_globals() -> list[Any]:
    """Classes OGB's pickles hold, allowed for ``torch.load``.

    OGB calls :func:`torch.load` without ``weights_only``, which is
    :obj:`True` since torch 2.6. Its processed file holds a PyG ``Data``
    (PyG allow-lists ``Data`` itself, not its storage and attribute
    classes), and split files hold numpy arrays, written by numpy 1
    (``numpy.core``) or numpy 2 (``numpy._core``).
    """
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage

    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy 1
        from numpy.core.multiarray import _reconstruct

    return [
        DataEdgeAttr,
        DataTensorAttr,
        GlobalStorage,
        np.ndarray,
        np.dtype,
        (_reconstruct, "numpy.core.multiarray._reconstruct"),
        (_reconstruct, "numpy._core.multiarray._reconstruct"),
        # numpy 2 rebuilds an array's dtype through its dtype class.
        *(type(np.dtype(t)) for t in (np.int32, np.int64)),
        *(type(np.dtype(t)) for t in (np.float32, np.float64)),
    ]


@contextlib.contextmanager
def _ogb_context() -> Iterator[None]:
    """Allow OGB's pickles to load and keep its console output in the log.

    OGB prints its progress and tqdm bars; the package only logs, so both
    streams are captured and logged at debug level. Warnings raised inside
    are recorded and re-emitted afterwards, so the capture cannot swallow
    them.
    """
    allow = getattr(torch.serialization, "safe_globals", None)
    # torch < 2.5 has no safe_globals, but loads pickles fully by default.
    allowed = allow(_safe_globals()) if allow else contextlib.nullcontext()
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with (
                allowed,
                contextlib.redirect_stdout(out),
                contextlib.redirect_stderr(err),
            ):
                yield
        finally:
            for text in (out.getvalue(), err.getvalue()):
                if text.strip():
                    logger.debug("ogb: %s", text.strip())
    for record in caught:
        warnings.warn_explicit(
            record.message, record.category, record.filename, record.lineno
        )


@dataclass(frozen=True)
class LinkEvalEdges:
    """Positive and negative pairs of one OGB evaluation split.

    Shared negatives (``ogbl-collab``, ``ogbl-ddi``, ``ogbl-ppa``): every
    positive is ranked against all pairs of ``neg_edge_index``, so the
    scores go to the metrics as ``y_pred_pos [P]`` and ``y_pred_neg [M]``.

    Negatives per positive (``ogbl-citation2``): positive ``i`` is the pair
    ``(source[i], target_pos[i])`` and is ranked against the pairs
    ``(source[i], target_neg[i, j])``, so ``y_pred_neg`` has shape
    ``[P, M]``. ``source`` and ``target_pos`` are the rows of
    ``pos_edge_index``.

    Args:
        pos_edge_index (torch.Tensor): Positive pairs.
        neg_edge_index (torch.Tensor, optional): Shared negative pairs;
            :obj:`None` for negatives per positive.
        target_neg (torch.Tensor, optional): Negative targets per
            positive; :obj:`None` for shared negatives.

    Shapes:
        - **pos_edge_index**: :math:`[2, P]`
        - **neg_edge_index**: :math:`[2, M]`
        - **target_neg**: :math:`[P, M]`
    """

    pos_edge_index: Tensor
    neg_edge_index: Tensor | None = None
    target_neg: Tensor | None = None

    @property
    def source(self) -> Tensor:
        """Source node of every positive pair, :math:`[P]`."""
        return self.pos_edge_index[0]

    @property
    def target_pos(self) -> Tensor:
        """Target node of every positive pair, :math:`[P]`."""
        return self.pos_edge_index[1]

    @property
    def shared_negatives(self) -> bool:
        """Whether all positives share the negatives of ``neg_edge_index``."""
        return self.neg_edge_index is not None


@dataclass
class OGBLinkData:
    """An OGB link-prediction dataset ready for training and evaluation.

    Args:
        name (str): The OGB name, e.g. ``"ogbl-collab"``.
        data (torch_geometric.data.Data): The training graph: ``edge_index``
            from the training split, undirected (both directions) and
            coalesced; ``x`` as ``float32`` when the dataset has node
            features; ``edge_weight`` (``ogbl-collab`` only); ``num_nodes``.
        split_edge (dict): OGB's split as
            :meth:`~ogb.linkproppred.PygLinkPropPredDataset.get_edge_split`
            returns it, keys ``"train"``, ``"valid"``, ``"test"``.
        metric (str): The official metric: ``"hits@50"``, ``"hits@20"``,
            ``"hits@100"`` or ``"mrr"``.
        evaluator (ogb.linkproppred.Evaluator): OGB's evaluator for
            ``name``.
        dataset (ogb.linkproppred.PygLinkPropPredDataset): The OGB dataset,
            for anything else it holds (years, the raw graph).
    """

    name: str
    data: Data
    split_edge: dict[str, dict[str, Tensor]] = field(repr=False)
    metric: str
    evaluator: Any = field(repr=False)
    dataset: Any = field(repr=False)

    def eval_edges(self, split: str) -> LinkEvalEdges:
        """The positive and negative pairs of ``"valid"`` or ``"test"``.

        Args:
            split (str): ``"valid"`` or ``"test"``.

        Returns:
            LinkEvalEdges: Shared negatives ``neg_edge_index`` for the
            Hits@K datasets, negatives per positive ``target_neg`` for
            ``ogbl-citation2``. All tensors are ``torch.long``.
        """
        if split not in _SPLITS:
            raise ValueError(
                f"'split' must be one of {_SPLITS}, got {split!r}"
            )
        part = self.split_edge[split]
        if "edge" in part:
            return LinkEvalEdges(
                pos_edge_index=_long(part["edge"]).t().contiguous(),
                neg_edge_index=_long(part["edge_neg"]).t().contiguous(),
            )
        return LinkEvalEdges(
            pos_edge_index=torch.stack(
                [_long(part["source_node"]), _long(part["target_node"])]
            ),
            target_neg=_long(part["target_node_neg"]),
        )

    def evaluate(
        self, y_pred_pos: Tensor | np.ndarray, y_pred_neg: Tensor | np.ndarray
    ) -> float:
        """The official metric, computed by OGB's evaluator.

        Args:
            y_pred_pos (torch.Tensor or numpy.ndarray): Scores of the
                positive pairs.
            y_pred_neg (torch.Tensor or numpy.ndarray): Scores of the
                negative pairs, in
                the layout of :meth:`eval_edges`.

        Returns:
            float: Hits@K, or the mean reciprocal rank for
            ``ogbl-citation2``.

        Shapes:
            - **y_pred_pos**: :math:`[P]`
            - **y_pred_neg**: :math:`[M]` (shared) or :math:`[P, M]` (per
              positive)
        """
        # OGB's numpy path of MRR calls `sum(dim=...)` on arrays and fails,
        # so the evaluator always gets tensors.
        result = self.evaluator.eval(
            {
                "y_pred_pos": torch.as_tensor(y_pred_pos),
                "y_pred_neg": torch.as_tensor(y_pred_neg),
            }
        )
        if self.metric == "mrr":
            # OGB gives float32 reciprocal ranks; average them in float64.
            mrr_list = torch.as_tensor(result["mrr_list"])
            return float(mrr_list.double().mean())
        return float(result[self.metric])

    def link_splits(self) -> tuple[Data, Data, Data]:
        """The training graph and OGB's evaluation splits as PyG ``Data``.

        All three share the training graph (``edge_index``, ``x``,
        ``edge_weight`` where present, ``num_nodes``), the message-passing
        graph of OGB's protocol; ``x`` is ``ones [N, 1]`` for datasets
        without node features (``ogbl-ddi``). The training positives are
        the undirected training edges, one direction each, which
        :func:`~pyg_signeq.training.train_epoch` reads from ``edge_index``.
        Validation and test hold OGB's official pairs: for shared
        negatives, ``edge_label_index`` (positives first) and 0/1
        ``edge_label``; for ``ogbl-citation2``, PyG's triplet layout
        ``src_index``, ``dst_pos_index`` and ``dst_neg_index``, which
        :func:`~pyg_signeq.training.evaluate` ranks per positive.

        Returns:
            tuple[Data, Data, Data]: Training, validation and test splits.

        Shapes:
            - **edge_label_index:** :math:`[2, P + M]`
            - **src_index**, **dst_pos_index:** :math:`[P]`,
              **dst_neg_index:** :math:`[P, M]`
        """
        graph = self.data
        base = Data(edge_index=graph.edge_index, num_nodes=graph.num_nodes)
        x = getattr(graph, "x", None)
        base.x = torch.ones(graph.num_nodes, 1) if x is None else x
        if getattr(graph, "edge_weight", None) is not None:
            base.edge_weight = graph.edge_weight
        splits = [base]
        for split in _SPLITS:
            edges = self.eval_edges(split)
            data = copy.copy(base)
            if edges.shared_negatives:
                num_pos = edges.pos_edge_index.size(1)
                num_neg = edges.neg_edge_index.size(1)
                data.edge_label_index = torch.cat(
                    [edges.pos_edge_index, edges.neg_edge_index], dim=1
                )
                data.edge_label = torch.cat(
                    [torch.ones(num_pos), torch.zeros(num_neg)]
                )
            else:
                data.src_index = edges.source
                data.dst_pos_index = edges.target_pos
                data.dst_neg_index = edges.target_neg
            splits.append(data)
        return splits[0], splits[1], splits[2]


def _long(value: Any) -> Tensor:
    return torch.as_tensor(value).long()


def _training_graph(name: str, graph: Data, train: dict[str, Tensor]) -> Data:
    if "edge" in train:
        edge_index = _long(train["edge"]).t()
    else:
        edge_index = torch.stack(
            [_long(train["source_node"]), _long(train["target_node"])]
        )
    num_nodes = int(graph.num_nodes)
    data = Data(num_nodes=num_nodes)
    if name == "ogbl-collab":
        # A pair of authors appears once per year they wrote together; its
        # weight is the sum over those years, in both directions.
        weight = torch.as_tensor(train["weight"]).reshape(-1).float()
        data.edge_index, data.edge_weight = to_undirected(
            edge_index, weight, num_nodes=num_nodes, reduce="sum"
        )
    else:
        data.edge_index = to_undirected(edge_index, num_nodes=num_nodes)
    if getattr(graph, "x", None) is not None:
        data.x = graph.x.float()
    return data


def load_ogb_link(
    name: str, root: str | os.PathLike = "dataset"
) -> OGBLinkData:
    """Load an OGB link-prediction dataset that is already on disk.

    Goes through :class:`ogb.linkproppred.PygLinkPropPredDataset`, which
    processes the raw files on first use. The training graph is built from
    the training split: undirected and coalesced, so ``ogbl-citation2``'s
    citations lose their direction, and for ``ogbl-collab`` the pairs
    repeated over years merge into one edge whose ``edge_weight`` (float)
    is the sum of their integer weights. ``x`` is cast to ``float32``
    (``ogbl-ppa`` stores one-hot integers). Years (``edge_year``,
    ``node_year``) stay in ``split_edge`` and in ``dataset``.

    Nothing is downloaded. Fetch the zip from the URL in the error message,
    unzip it in ``root`` and rename the unzipped folder as the message
    says (OGB names it after the zip, e.g. ``collab``).

    Args:
        name (str): One of ``"ogbl-collab"``, ``"ogbl-ddi"``,
            ``"ogbl-ppa"``, ``"ogbl-citation2"``.
        root (str or os.PathLike): Folder holding the dataset folder
            ``<root>/<name with '-' replaced by '_'>``.
            (default: :obj:`"dataset"`, as OGB's)

    Returns:
        OGBLinkData: The training graph, the split, the metric and the
        evaluator.

    Raises:
        FileNotFoundError: When a file OGB needs is missing; names the
            files, the folder expected and the download URL.
        RuntimeError: When :func:`torch.load` refuses OGB's processed file
            (written by another PyG or ogb version) or a split file.
    """
    name = _check_name(name)
    _check_root(root)
    meta = _meta(name)
    root = Path(root)
    folder = _dataset_dir(name, root)
    missing = _missing_files(folder, meta)
    if missing:
        listed = "\n".join(f"  {path}" for path in missing)
        raise FileNotFoundError(
            f"{name} is not in '{folder}'; pyg_signeq does not download. "
            f"Missing:\n{listed}\nDownload {meta['url']}, unzip it in "
            f"'{root}' and rename the folder '{meta['download_name']}' "
            f"to '{folder.name}'."
        )

    from ogb.linkproppred import Evaluator, PygLinkPropPredDataset

    processed = folder / "processed" / "geometric_data_processed.pt"
    try:
        with _ogb_context():
            dataset = PygLinkPropPredDataset(name=name, root=str(root))
    except pickle.UnpicklingError as error:
        raise RuntimeError(
            f"torch.load refused '{processed}'. If it was written by another "
            f"version of PyG or ogb, delete the folder '{processed.parent}' "
            f"to rebuild it from the raw files."
        ) from error
    try:
        with _ogb_context():
            split_edge = dataset.get_edge_split()
    except pickle.UnpicklingError as error:
        raise RuntimeError(
            f"torch.load refused a split file of {name} under "
            f"'{folder / 'split'}': it holds more than tensors and numpy "
            f"arrays"
        ) from error

    return OGBLinkData(
        name=name,
        data=_training_graph(name, dataset[0], split_edge["train"]),
        split_edge=split_edge,
        metric=OGB_LINK_METRICS[name],
        evaluator=Evaluator(name),
        dataset=dataset,
    )


def _random_pairs(
    num_nodes: int, count: int, rng: np.random.Generator
) -> np.ndarray:
    """``count`` distinct pairs ``u < w``, uniformly, as ``[count, 2]``."""
    upper = np.triu_indices(num_nodes, k=1)
    pick = rng.choice(upper[0].size, size=count, replace=False)
    return np.stack([upper[0][pick], upper[1][pick]], axis=1)


def _write_csv(path: Path, values: np.ndarray) -> None:
    import pandas as pd

    frame = pd.DataFrame(values.reshape(values.shape[0], -1))
    frame.to_csv(path, header=False, index=False, compression="gzip")


def write_tiny_ogb_link(
    name: str,
    root: str | os.PathLike,
    num_nodes: int = 60,
    num_features: int = 8,
    seed: int = 0,
) -> Path:
    """Write a tiny random dataset in OGB's on-disk layout (tests, tutorials).

    The files are the ones OGB's download would unpack, so
    :func:`load_ogb_link` and :class:`ogb.linkproppred.PygLinkPropPredDataset`
    read them without the network: ``RELEASE_v1.txt``; ``raw/edge.csv.gz``
    (the training edges, once per pair, directed for ``ogbl-citation2``),
    ``raw/num-node-list.csv.gz``, ``raw/num-edge-list.csv.gz``,
    ``raw/node-feat.csv.gz`` (random ``float`` features, one-hot integers
    for ``ogbl-ppa``), ``raw/edge_weight.csv.gz`` and
    ``raw/edge_year.csv.gz`` (``ogbl-collab``), ``raw/node_year.csv.gz``
    (``ogbl-citation2``); and ``split/<split>/{train,valid,test}.pt``,
    dicts of numpy arrays as OGB's ``DatasetSaver`` writes them, with the
    keys of the real dataset.

    The graph has ``2 * num_nodes`` random pairs, split 80/10/10 into
    train, valid and test. ``ogbl-collab``'s training split repeats one
    pair in five with another year, as co-authors do. Evaluation splits
    hold ``2 K`` shared negative pairs (non-edges) for a Hits@K dataset,
    and 20 negative targets per positive for ``ogbl-citation2``.

    Args:
        name (str): One of the names :func:`load_ogb_link` accepts.
        root (str or os.PathLike): Folder to write the dataset folder in.
        num_nodes (int): Number of nodes, at least 30 (at least 31 for
            ``ogbl-ppa``, whose 200 shared negatives need room).
            (default: :obj:`60`)
        num_features (int): Node feature size, at least 1.
            (default: :obj:`8`)
        seed (int): Seed of :func:`numpy.random.default_rng`.
            (default: :obj:`0`)

    Returns:
        pathlib.Path: The dataset folder, ``<root>/<name with '_'>``.
    """
    from pyg_signeq.data.graphs import _check_size

    name = _check_name(name)
    _check_root(root)
    _check_size("num_nodes", num_nodes, 30)
    _check_size("num_features", num_features, 1)
    _check_size("seed", seed, 0)
    meta = _meta(name)
    folder = Path(root) / name.replace("-", "_")
    if folder.exists():
        raise FileExistsError(f"'{folder}' exists already; not overwriting")
    rng = np.random.default_rng(seed)
    metric = OGB_LINK_METRICS[name]
    num_neg = 2 * int(metric.split("@")[1]) if "@" in metric else 20

    # Positives and shared negatives are distinct pairs of one draw.
    num_pos = 2 * num_nodes
    shared = num_neg if "@" in metric else 0
    if num_pos + 2 * shared > num_nodes * (num_nodes - 1) // 2:
        raise ValueError(
            f"'num_nodes' is too small for {name}'s {num_pos} edges and "
            f"{2 * shared} negative pairs, got {num_nodes}"
        )
    pairs = _random_pairs(num_nodes, num_pos + 2 * shared, rng)
    pos, negatives = pairs[:num_pos], pairs[num_pos:]
    if name == "ogbl-citation2":
        flip = rng.random(num_pos) < 0.5
        pos[flip] = pos[flip, ::-1]
    num_valid = num_test = num_pos // 10
    num_train = num_pos - num_valid - num_test
    parts = {
        "train": pos[:num_train],
        "valid": pos[num_train : num_train + num_valid],
        "test": pos[num_train + num_valid :],
    }

    split: dict[str, dict[str, np.ndarray]] = {}
    train_edges = parts["train"]
    weight = year = None
    if name == "ogbl-collab":
        repeat = train_edges[rng.random(num_train) < 0.2]
        train_edges = np.concatenate([train_edges, repeat])
        weight = rng.integers(1, 4, size=len(train_edges))
        year = rng.integers(2010, 2018, size=len(train_edges))
    for index, key in enumerate(("train", *_SPLITS)):
        edges = train_edges if key == "train" else parts[key]
        if name == "ogbl-citation2":
            entry = {"source_node": edges[:, 0], "target_node": edges[:, 1]}
            if key != "train":
                # Random targets other than the source and the true target.
                offset = rng.integers(1, num_nodes - 1, (len(edges), num_neg))
                target = (edges[:, :1] + offset) % num_nodes
                # A hit on the true target moves to the source's
                # predecessor, which the offsets never reach.
                hit = target == edges[:, 1:]
                target = np.where(hit, edges[:, :1] - 1, target) % num_nodes
                entry["target_node_neg"] = target
        else:
            entry = {"edge": edges}
            if key != "train":
                entry["edge_neg"] = negatives[(index - 1) * shared :][:shared]
            if name == "ogbl-collab":
                if key == "train":
                    entry["weight"], entry["year"] = weight, year
                else:
                    entry["weight"] = rng.integers(1, 4, size=len(edges))
                    entry["year"] = np.full(len(edges), 2017 + index)
        split[key] = {k: np.ascontiguousarray(v) for k, v in entry.items()}

    raw = folder / "raw"
    split_dir = folder / "split" / meta["split"]
    raw.mkdir(parents=True)
    split_dir.mkdir(parents=True)
    _write_csv(raw / "edge.csv.gz", train_edges)
    _write_csv(raw / "num-node-list.csv.gz", np.array([num_nodes]))
    _write_csv(raw / "num-edge-list.csv.gz", np.array([len(train_edges)]))
    if meta["has_node_attr"] == "True":
        if name == "ogbl-ppa":
            feat = np.eye(num_features, dtype=np.int64)[
                rng.integers(0, num_features, size=num_nodes)
            ]
        else:
            feat = rng.standard_normal((num_nodes, num_features))
        _write_csv(raw / "node-feat.csv.gz", feat)
    if name == "ogbl-collab":
        _write_csv(raw / "edge_weight.csv.gz", weight)
        _write_csv(raw / "edge_year.csv.gz", year)
    if name == "ogbl-citation2":
        _write_csv(
            raw / "node_year.csv.gz", rng.integers(2000, 2020, num_nodes)
        )
    for key, entry in split.items():
        torch.save(entry, split_dir / f"{key}.pt")
    (folder / f"RELEASE_v{meta['version']}.txt").write_text(
        f"{name}: tiny random dataset written by pyg_signeq\n"
    )
    return folder
