"""Link prediction benchmark: the paper's synthetic study, then more.

With no arguments this runs the protocol of Lim et al. (NeurIPS 2023,
synthetic link prediction): on nearly symmetric Erdos-Renyi and
Barabasi-Albert graphs (two identical 1000-node copies plus 1000 random
edges), every model is trained full batch with Adam (lr 0.01) for 100
epochs on an 80/10/10 split, and the test ROC-AUC at the best validation
epoch is reported as mean +- std over 10 trials. Each trial is a freshly
generated graph from its own seed, shared by every model, and the
positional encoding (k = 16 Laplacian eigenvectors of the training graph)
is computed once per graph and cached on disk.

Every finished (dataset, model, seed) is appended to ``results.jsonl`` in
the output directory; running the same command again skips what is done,
so an interrupted run loses at most the trial in flight. The run then
writes ``results.csv`` (one row per trial), ``results.md`` (the table) and
``results.png`` (AUC with error bars per model and dataset).

Usage::

    python -m benchmarks.link_pred                     # the paper's study
    python -m benchmarks.link_pred --quick             # a 2-minute preset
    python -m benchmarks.link_pred --datasets ladder sbm --models sign_eq
    python -m benchmarks.link_pred --datasets file:edges.csv
    python -m benchmarks.link_pred --datasets ogbl-collab --root data/
    torchrun --nproc_per_node 2 -m benchmarks.link_pred --datasets ba

Under ``torchrun`` the harness trains data-parallel: every rank runs every
trial (in its own process, no worker pool), rank 0 computes or loads each
PE once and sends it to the others, each rank scores its share of every
global batch of ``--batch-size`` links, and rank 0 alone writes the
results; a resumed run skips finished trials as in one process.
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import hashlib
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch_geometric
from torch_geometric.data import Data

from benchmarks._provenance import code_version
from pyg_signeq import distributed as dist_utils
from pyg_signeq.metrics import roc_auc
from pyg_signeq.nn import (
    MODEL_NAMES,
    PAPER_MODELS,
    build_model,
    describe_model,
)
from pyg_signeq.training import fit
from pyg_signeq.transforms import AddLaplacianPE, add_train_pe

log = logging.getLogger("benchmarks.link_pred")

DEFAULT_MODELS: tuple[str, ...] = (*PAPER_MODELS, "sign_eq_gnn")
"""The paper's five models and our best one, in that order.

``sign_eq`` (our PE network alone) is left out of the default run to keep
it under 15 minutes on two cores; name it in ``--models`` to add it.
"""

SYNTHETIC: dict[str, str] = {
    "er": "nearly symmetric Erdos-Renyi (2 x 1000 nodes, p = 0.05)",
    "ba": "nearly symmetric Barabasi-Albert (2 x 1000 nodes, m = 20)",
    "ladder": "circular ladder, 1000 rungs",
    "torus": "40 x 50 torus grid",
    "sbm": "4 identical blocks of 500 nodes",
}
"""Synthetic dataset names and what they are."""

OGB_NAMES: tuple[str, ...] = (
    "ogbl-collab",
    "ogbl-ddi",
    "ogbl-ppa",
    "ogbl-citation2",
)

ORACLE = "copy_oracle"
"""The analytic reference: scores 1 for pairs in the same copy, else 0."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a run's numbers depend on; one output directory, one setting.

    Datasets, models and the number of trials may grow between runs in the
    same directory; these may not.
    """

    epochs: int = 100
    k: int = 16
    lr: float = 0.01
    batch_size: int | None = None
    base_nodes: int = 1000
    extra_edges: int = 1000
    val_fraction: float = 0.1
    test_fraction: float = 0.1


QUICK = {"trials": 2, "epochs": 25}
"""What ``--quick`` changes: fewer trials and epochs."""

DEFAULT_SCORE_BATCH_SIZE = 8192
"""Links the command line scores at once within a training step.

Full-batch steps on the paper's graphs score about 80,000 links; per-link
tensors of that size fall out of the CPU's caches, and scoring them 8,192
at a time (same step, same gradient up to rounding) made an epoch of the
MLP and SignEqNet models 1.4-2 times faster on a 2-core machine."""


@dataclasses.dataclass
class Task:
    """One graph ready for link prediction.

    Attributes:
        train (Data): Training graph: message-passing ``edge_index``,
            positive ``edge_label_index``, ``x`` and ``pe``.
        val (Data): Validation pairs ``edge_label_index``/``edge_label``.
        test (Data): Test pairs ``edge_label_index``/``edge_label``.
        metrics (tuple[str, ...]): Metric names to report, the first one
            being the model-selection metric.
        copy (torch.Tensor, optional): The copy of each node, for graphs
            made of identical copies (the oracle row).
    """

    train: Data
    val: Data
    test: Data
    metrics: tuple[str, ...] = ("auc", "ap")
    copy: torch.Tensor | None = None


def check_names(datasets: Sequence[str], models: Sequence[str]) -> None:
    """Raise a ``ValueError`` listing the valid names for unknown ones.

    Args:
        datasets (Sequence[str]): Dataset names.
        models (Sequence[str]): Model names.
    """
    for name in datasets:
        if (
            name not in SYNTHETIC
            and name not in OGB_NAMES
            and not name.startswith("file:")
        ):
            raise ValueError(
                f"'datasets': unknown dataset {name!r}; valid names are "
                f"{', '.join([*SYNTHETIC, *OGB_NAMES])} and file:PATH"
            )
    for name in models:
        if name not in MODEL_NAMES:
            raise ValueError(
                f"'models': unknown model {name!r}; valid names are "
                f"{', '.join(MODEL_NAMES)}"
            )


def _synthetic_graph(name: str, seed: int, settings: Settings) -> Data:
    from pyg_signeq.data import (
        circular_ladder,
        grid_2d,
        identical_blocks_sbm,
        nearly_symmetric,
    )

    if name in ("er", "ba"):
        return nearly_symmetric(
            name,
            base_nodes=settings.base_nodes,
            num_copies=2,
            num_extra_edges=settings.extra_edges,
            seed=seed,
        )
    if name == "ladder":
        edge_index, num_nodes = circular_ladder(1000), 2000
    elif name == "torus":
        edge_index, num_nodes = grid_2d(40, 50, periodic=True), 2000
    else:
        edge_index = identical_blocks_sbm(4, 500, 0.02, 0.0005, seed)
        num_nodes = 2000
    return Data(
        x=torch.ones(num_nodes, 1),
        edge_index=edge_index,
        num_nodes=num_nodes,
    )


def _split(data: Data, seed: int, settings: Settings) -> tuple[Data, ...]:
    from pyg_signeq.data import random_link_split

    return random_link_split(
        data,
        val=settings.val_fraction,
        test=settings.test_fraction,
        seed=seed,
    )


def _pe_key(train: Data, k: int) -> str:
    digest = hashlib.sha256()
    edge_index = train.edge_index.cpu().contiguous()
    digest.update(edge_index.numpy().tobytes())
    # Weighted graphs (ogbl-collab) have weighted Laplacians.
    edge_weight = getattr(train, "edge_weight", None)
    if edge_weight is not None:
        digest.update(edge_weight.cpu().double().contiguous().numpy())
    digest.update(f"{train.num_nodes}|k={k}|sym|auto".encode())
    return digest.hexdigest()[:24]


def attach_pe(
    train: Data,
    val: Data,
    test: Data,
    k: int,
    cache_dir: Path | None,
) -> tuple[Data, Data, Data]:
    """Attach the PE of the training graph, from the disk cache if there.

    The cache file name is a hash of the training edges and the PE settings,
    so a different split or ``k`` never reads a stale PE.

    Args:
        train (Data): Training split.
        val (Data): Validation split.
        test (Data): Test split.
        k (int): The number of eigenvectors.
        cache_dir (Path, optional): Where PEs are cached; :obj:`None` turns
            caching off.

    In a distributed run (an initialised process group of several ranks)
    rank 0 alone computes or loads the PE and sends it to the others, which
    check that they built the same training graph.
    """
    if dist_utils.is_distributed():
        return _shared_pe(train, val, test, k, cache_dir)
    return _local_pe(train, val, test, k, cache_dir)


def _local_pe(
    train: Data, val: Data, test: Data, k: int, cache_dir: Path | None
) -> tuple[Data, Data, Data]:
    transform = AddLaplacianPE(k=k)
    path = None
    if cache_dir is not None:
        path = cache_dir / f"pe_{_pe_key(train, k)}.pt"
        if path.exists():
            cached = torch.load(path, weights_only=True)
            splits = []
            # Shallow copies, as add_train_pe makes: the PE is shared.
            for split in (train, val, test):
                split = copy.copy(split)
                split.pe, split.eig_vals = cached["pe"], cached["eig_vals"]
                splits.append(split)
            return splits[0], splits[1], splits[2]
    train, val, test = add_train_pe(train, val, test, transform)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Workers may compute the same PE at once; each writes its own
        # file and the atomic rename keeps one.
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        torch.save({"pe": train.pe, "eig_vals": train.eig_vals}, partial)
        os.replace(partial, path)
    return train, val, test


def _shared_pe(
    train: Data, val: Data, test: Data, k: int, cache_dir: Path | None
) -> tuple[Data, Data, Data]:
    # Rank 0 computes (or loads) the PE once; the others receive it and
    # check, by the hash of the training edges, that they built the same
    # training graph.
    key = _pe_key(train, k)

    def compute() -> tuple[str, torch.Tensor, torch.Tensor]:
        with_pe = _local_pe(train, val, test, k, cache_dir)[0]
        return key, with_pe.pe, with_pe.eig_vals

    sent_key, pe, eig_vals = dist_utils.run_on_rank0(
        compute, "computing the PE"
    )
    if sent_key != key:
        raise RuntimeError(
            f"rank {dist_utils.get_rank()} built another training graph "
            "than rank 0 (different edge hashes); every rank must build "
            "the same split from the same seed"
        )
    splits = []
    for split in (train, val, test):
        split = copy.copy(split)
        split.pe, split.eig_vals = pe, eig_vals
        splits.append(split)
    return splits[0], splits[1], splits[2]


def load_task(
    name: str,
    seed: int,
    settings: Settings,
    cache_dir: Path | None = None,
    root: Path | None = None,
) -> Task:
    """Build the link-prediction task of one dataset and seed.

    Args:
        name (str): A synthetic name, an OGB name or ``file:PATH``.
        seed (int): Seeds the graph (synthetic families) and the split.
        settings (Settings): Split fractions, graph sizes and ``k``.
        cache_dir (Path, optional): The PE cache. (default: :obj:`None`)
        root (Path, optional): The OGB data root. (default: :obj:`None`)
    """
    if name in OGB_NAMES:
        return _ogb_task(name, settings, cache_dir, root)
    node_copy = None
    if name.startswith("file:"):
        from pyg_signeq.data import read_edge_list

        data = read_edge_list(Path(name[len("file:") :]))
        if getattr(data, "x", None) is None:
            data.x = torch.ones(data.num_nodes, 1)
    else:
        data = _synthetic_graph(name, seed, settings)
        node_copy = getattr(data, "copy", None)
    train, val, test = _split(data, seed, settings)
    train, val, test = attach_pe(train, val, test, settings.k, cache_dir)
    return Task(train, val, test, copy=node_copy)


def _ogb_task(
    name: str,
    settings: Settings,
    cache_dir: Path | None,
    root: Path | None,
) -> Task:
    from pyg_signeq.data import load_ogb_link

    if root is None:
        root = Path("dataset")
    ogb = load_ogb_link(name, root)
    train, val, test = ogb.link_splits()
    train, val, test = attach_pe(train, val, test, settings.k, cache_dir)
    # OGB's official metric selects the epoch; AUC rides along for
    # comparison with the synthetic tables.
    return Task(train, val, test, metrics=(ogb.metric, "auc"))


def oracle_auc(task: Task) -> float:
    """Test ROC-AUC of scoring a pair 1 if both ends share a copy, else 0.

    Args:
        task (Task): A task on a graph of identical copies.
    """
    same = (
        task.copy[task.test.edge_label_index[0]]
        == (task.copy[task.test.edge_label_index[1]])
    )
    label = task.test.edge_label.bool()
    return roc_auc(same[label].double(), same[~label].double())


class ResultsFile:
    """The append-only record of finished trials, ``results.jsonl``.

    Each line is one JSON object, written with a single ``write`` and
    flushed to disk, so a killed process leaves at most a truncated last
    line, which the next run drops.

    Args:
        path (Path): The file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[dict[str, Any]]:
        """Return the finished rows, repairing a truncated last line."""
        if not self.path.exists():
            return []
        raw = self.path.read_bytes()
        complete, _, tail = raw.rpartition(b"\n")
        if tail:
            log.warning(
                "dropping an incomplete last line of %s (an interrupted "
                "write)",
                self.path,
            )
            with open(self.path, "r+b") as handle:
                handle.truncate(len(complete) + 1 if complete else 0)
        rows = []
        for line in complete.decode().splitlines():
            if line.strip():
                rows.append(json.loads(line))
        return rows

    def append(self, row: dict[str, Any]) -> None:
        """Append one row and force it to disk.

        Args:
            row (dict): The row to append.
        """
        line = json.dumps(row, sort_keys=True) + "\n"
        with open(self.path, "a") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())


def check_settings(out: Path, settings: Any) -> None:
    """Record ``settings`` in ``out``, or refuse a directory of others.

    The first run writes ``settings.json``; a later run with different
    settings raises rather than mixing results of both in one table.

    Args:
        out (Path): The output directory.
        settings (Any): A dataclass instance of the run's settings.
    """
    path = out / "settings.json"
    # Through JSON, so tuples compare equal to the lists read back.
    wanted = json.loads(json.dumps(dataclasses.asdict(settings)))
    if path.exists():
        found = json.loads(path.read_text())
        if found != wanted:
            diff = {
                key: (found.get(key), wanted[key])
                for key in wanted
                if found.get(key) != wanted[key]
            }
            raise ValueError(
                f"'out': {out} holds results of other settings "
                f"(setting: (stored, requested) = {diff}); choose another "
                f"--out or delete it"
            )
    else:
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(wanted, indent=2) + "\n")


def run_link_pred(
    datasets: Sequence[str] = ("er", "ba"),
    models: Sequence[str] = DEFAULT_MODELS,
    trials: int = 10,
    settings: Settings | None = None,
    out: Path = Path("benchmarks/results/link_pred"),
    device: str = "cpu",
    root: Path | None = None,
    progress: bool = False,
    first_seed: int = 0,
    fit_fn: Callable[..., Any] = fit,
    jobs: int = 1,
    score_batch_size: int | None = None,
) -> list[dict[str, Any]]:
    """Run every model on every dataset and seed, resuming finished ones.

    With ``jobs > 1`` the trials run in that many worker processes, each
    with ``cpu_count // jobs`` torch threads; the main process alone
    writes ``results.jsonl``, one row as soon as its trial ends. Small
    models on small graphs use two threads poorly, so on the paper's graphs
    two processes of one thread finish sooner than one of two.

    In a distributed run (called on every rank after
    :func:`pyg_signeq.distributed.init_distributed`) ``jobs`` is ignored:
    every rank runs every trial in its own process with
    ``fit_fn(..., distributed=True)``. Rank 0 reads ``results.jsonl`` and
    sends the list of unfinished trials to the others, so all ranks agree
    on what to run, and rank 0 alone writes rows; every rank returns the
    same rows.

    Args:
        datasets (Sequence[str]): Dataset names (see :func:`check_names`).
        models (Sequence[str]): Model names from the zoo.
        trials (int): Seeds ``first_seed, ..., first_seed + trials - 1``.
        settings (Settings, optional): Training and graph settings.
        out (Path): The output directory.
        device (str): Where models train.
        root (Path, optional): The OGB data root.
        progress (bool): Whether to show progress bars: trials, and the
            epochs of each trial when ``jobs == 1``.
        first_seed (int): The first seed.
        fit_fn (Callable): The training function (replaced in tests); a
            module-level function when ``jobs > 1``, since workers receive
            it by pickling.
        jobs (int): Worker processes; ``1`` runs in this process.
        score_batch_size (int, optional): Links scored at once within a
            training step (see :func:`pyg_signeq.training.train_epoch`):
            the step and its gradient stay those of the whole batch, up to
            rounding. Ignored in a distributed run. (default: :obj:`None`,
            all of the step's links at once)

    Returns:
        list[dict]: Every row of ``results.jsonl``, old and new.
    """
    settings = settings or Settings()
    check_names(datasets, models)
    for name, value in [("trials", trials), ("jobs", jobs)]:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"'{name}' must be a positive int, got {value!r}")
    if score_batch_size is not None and (
        isinstance(score_batch_size, bool)
        or not isinstance(score_batch_size, int)
        or score_batch_size < 1
    ):
        raise ValueError(
            "'score_batch_size' must be a positive int or None, got "
            f"{score_batch_size!r}"
        )
    distributed = dist_utils.is_distributed()
    writer = dist_utils.get_rank() == 0
    results = ResultsFile(out / "results.jsonl")
    cache_dir = out / "pe_cache"

    def plan() -> tuple[list[dict[str, Any]], list[tuple], str]:
        check_settings(out, settings)
        rows = results.read()
        done = {(r["dataset"], r["model"], r["seed"]) for r in rows}
        # One unit per (dataset, seed, model), grouped by graph so that a
        # worker mostly reuses the graph it built last. On OGB data the
        # graph and split are fixed, so trials differ in the
        # initialisation and the negatives only; files get a new split per
        # seed too.
        units = []
        for dataset in datasets:
            for seed in range(first_seed, first_seed + trials):
                names = list(models)
                if dataset in ("er", "ba"):
                    names.insert(0, ORACLE)
                for name in names:
                    if (dataset, name, seed) not in done:
                        units.append((dataset, seed, name))
        skipped = trials * len(datasets) * len(models)
        skipped -= sum(1 for unit in units if unit[2] != ORACLE)
        if skipped:
            log.info("resuming: %d finished trials found in %s", skipped, out)
        # Timings belong to code: every row names the commit it ran on, so
        # a resumed run that mixes versions says so in results.md.
        return rows, units, code_version() if units else ""

    # In a distributed run rank 0 alone reads (and repairs) the results
    # file, before anyone writes, and every rank gets the same plan.
    rows, units, code = dist_utils.run_on_rank0(
        plan, "reading the results file"
    )
    if not units:
        return rows

    if distributed and jobs > 1:
        log.info("distributed run: trials run in the rank processes")
        jobs = 1
    if distributed and score_batch_size is not None:
        log.info("distributed run: each rank scores its share at once")
        score_batch_size = None
    jobs = min(jobs, len(units))
    progress = progress and writer
    # Epoch bars of several workers would overwrite each other.
    context = _TrialContext(
        settings,
        cache_dir,
        root,
        device,
        fit_fn,
        progress and jobs == 1,
        distributed,
        score_batch_size,
    )
    bar = _progress(len(units), progress)
    pool = None
    try:
        if jobs == 1:
            finished = map(context.run, units)
        else:
            # Build each dataset's first graph here: a missing or malformed
            # dataset fails at once, with its message, not in a worker, and
            # OGB processes its raw files once instead of in every worker.
            for dataset in dict.fromkeys(unit[0] for unit in units):
                seed = next(unit[1] for unit in units if unit[0] == dataset)
                context.task(dataset, seed)
            pool = _worker_pool(jobs, context)
            finished = pool.imap_unordered(_run_in_worker, units)
        for row in finished:
            row["code"] = code
            rows.append(row)
            if not writer:
                continue
            results.append(row)
            metric = row["metric"]
            log.info(
                "%s seed %d %s: test %s %.4f",
                row["dataset"],
                row["seed"],
                row["model"],
                metric,
                row[f"test_{metric}"],
            )
            if bar is not None:
                bar.set_postfix_str(f"{row['dataset']} {row['model']}")
                bar.update()
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        # On an error or an interrupt, stop the workers' trials too.
        if pool is not None:
            pool.terminate()
        if bar is not None:
            bar.close()
    return rows


@dataclasses.dataclass
class _TrialContext:
    # What every trial needs besides its (dataset, seed, model); sent once
    # to each worker process.
    settings: Settings
    cache_dir: Path | None
    root: Path | None
    device: str
    fit_fn: Callable[..., Any]
    epoch_bars: bool = False
    distributed: bool = False
    score_batch_size: int | None = None

    def __post_init__(self) -> None:
        self._key: tuple[str, int] | None = None
        self._task: Task | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Workers get the settings, not the graph the parent built last.
        state = self.__dict__.copy()
        state["_key"] = state["_task"] = None
        return state

    def task(self, dataset: str, seed: int) -> Task:
        # Units come grouped by graph; keep the last graph built.
        if self._key != (dataset, seed):
            self._task = load_task(
                dataset, seed, self.settings, self.cache_dir, self.root
            )
            self._key = (dataset, seed)
        return self._task

    def run(self, unit: tuple[str, int, str]) -> dict[str, Any]:
        dataset, seed, name = unit
        task = self.task(dataset, seed)
        bar = callback = None
        if self.epoch_bars and name != ORACLE:
            from tqdm.auto import tqdm

            bar = tqdm(
                total=self.settings.epochs,
                desc=f"{dataset} seed {seed} {name}",
                unit="epoch",
                leave=False,
            )

            def callback(epoch: int, loss: float, val: dict) -> None:
                bar.update()

        try:
            return _run_one(
                task,
                dataset,
                name,
                seed,
                self.settings,
                self.device,
                self.fit_fn,
                callback,
                self.distributed,
                self.score_batch_size,
            )
        finally:
            if bar is not None:
                bar.close()


_WORKER_CONTEXT: _TrialContext | None = None


def _init_worker(context: _TrialContext, threads: int) -> None:
    global _WORKER_CONTEXT
    torch.set_num_threads(threads)
    _WORKER_CONTEXT = context


def _run_in_worker(unit: tuple[str, int, str]) -> dict[str, Any]:
    return _WORKER_CONTEXT.run(unit)


def _worker_pool(jobs: int, context: _TrialContext) -> Any:
    import multiprocessing

    # Spawned, not forked: a forked child inherits the parent's OpenMP
    # thread pool state, which can deadlock torch.
    threads = max(1, (os.cpu_count() or 1) // jobs)
    return multiprocessing.get_context("spawn").Pool(
        jobs, initializer=_init_worker, initargs=(context, threads)
    )


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="trials", unit="trial")


def _run_one(
    task: Task,
    dataset: str,
    name: str,
    seed: int,
    settings: Settings,
    device: str,
    fit_fn: Callable[..., Any],
    callback: Callable[..., Any] | None = None,
    distributed: bool = False,
    score_batch_size: int | None = None,
) -> dict[str, Any]:
    # "metric" is the model-selection metric, the one tables report.
    row: dict[str, Any] = {
        "dataset": dataset,
        "model": name,
        "seed": seed,
        "metric": task.metrics[0],
        "threads": torch.get_num_threads(),
    }
    # Only data-parallel rows say so; the key is absent in single-process
    # rows, which keeps their files as they were.
    extra = {}
    if distributed:
        row["world_size"] = dist_utils.get_world_size()
        extra["distributed"] = True
    elif score_batch_size is not None:
        extra["score_batch_size"] = score_batch_size
    if name == ORACLE:
        value = oracle_auc(task)
        row.update(
            test_auc=value,
            val_auc=None,
            best_epoch=0,
            seconds_per_epoch=0.0,
            num_parameters=0,
        )
        return row
    torch.manual_seed(seed)
    model = build_model(
        name, k=settings.k, in_channels=task.train.x.size(-1)
    ).to(device)
    train, val, test = (
        s.to(device) for s in (task.train, task.val, task.test)
    )
    result = fit_fn(
        model,
        train,
        val,
        test,
        epochs=settings.epochs,
        lr=settings.lr,
        seed=seed,
        batch_size=settings.batch_size,
        metric=task.metrics[0],
        metrics=task.metrics,
        callback=callback,
        **extra,
    )
    row.update(
        best_epoch=result.best_epoch,
        seconds_per_epoch=result.seconds_per_epoch,
        num_parameters=result.num_parameters,
    )
    for metric in task.metrics:
        row[f"test_{metric}"] = result.test[metric]
        row[f"val_{metric}"] = result.val[metric]
    return row


def summarize(
    rows: Sequence[dict[str, Any]],
    datasets: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Aggregate trials into one row per (dataset, model).

    Args:
        rows (Sequence[dict]): Rows of ``results.jsonl``.
        datasets (Sequence[str], optional): Which datasets, in order.
        models (Sequence[str], optional): Which models, in order; the
            oracle row comes first where present.

    Returns:
        list[dict]: ``dataset``, ``model``, ``metric``, ``mean``, ``std``
        (sample std over trials; 0 for one trial), ``trials``,
        ``seconds_per_epoch`` and ``num_parameters``.
    """
    datasets = list(datasets or dict.fromkeys(r["dataset"] for r in rows))
    models = list(models or dict.fromkeys(r["model"] for r in rows))
    models = [ORACLE, *[m for m in models if m != ORACLE]]
    summary = []
    for dataset in datasets:
        for model in models:
            chosen = [
                r
                for r in rows
                if r["dataset"] == dataset and r["model"] == model
            ]
            if not chosen:
                continue
            metric = chosen[0]["metric"]
            values = np.array([r[f"test_{metric}"] for r in chosen])
            summary.append(
                {
                    "dataset": dataset,
                    "model": model,
                    "metric": metric,
                    "mean": float(values.mean()),
                    "std": float(values.std(ddof=1))
                    if len(values) > 1
                    else 0.0,
                    "trials": len(values),
                    "seconds_per_epoch": float(
                        np.mean([r["seconds_per_epoch"] for r in chosen])
                    ),
                    "num_parameters": int(chosen[0]["num_parameters"]),
                }
            )
    return summary


def to_markdown(summary: Sequence[dict[str, Any]]) -> str:
    """Render the summary as a Markdown table.

    Args:
        summary (Sequence[dict]): The output of :func:`summarize`.
    """
    lines = [
        "| dataset | model | test metric | mean +- std | trials "
        "| s / epoch | parameters |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for row in summary:
        name = row["model"]
        if name == ORACLE:
            name = "copy oracle (reference)"
            seconds, params = "-", "-"
        else:
            seconds = f"{row['seconds_per_epoch']:.3f}"
            params = f"{row['num_parameters']:,}"
        lines.append(
            f"| {row['dataset']} | {name} | {row['metric']} "
            f"| {row['mean']:.3f} +- {row['std']:.3f} | {row['trials']} "
            f"| {seconds} | {params} |"
        )
    return "\n".join(lines) + "\n"


def write_outputs(
    rows: Sequence[dict[str, Any]],
    out: Path,
    argv: Sequence[str],
    datasets: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Write ``results.csv``, ``results.md`` and ``results.png``.

    Args:
        rows (Sequence[dict]): Rows of ``results.jsonl``.
        out (Path): The output directory.
        argv (Sequence[str]): The command-line arguments, for the record.
        datasets (Sequence[str], optional): Datasets to report, in order.
        models (Sequence[str], optional): Models to report, in order.

    Returns:
        dict[str, Path]: The written files by kind.
    """
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": out / "results.csv",
        "md": out / "results.md",
        "png": out / "results.png",
    }
    fields = sorted({key for row in rows for key in row}, key=_csv_order)
    with open(paths["csv"], "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in sorted(
            rows, key=lambda r: (r["dataset"], r["model"], r["seed"])
        ):
            writer.writerow(row)

    summary = summarize(rows, datasets, models)
    launcher = "python"
    world_size = dist_utils.get_world_size()
    if world_size > 1:
        launcher = f"torchrun --nproc_per_node {world_size}"
    command = " ".join([f"{launcher} -m benchmarks.link_pred", *argv])
    codes = sorted({row.get("code", "unknown") for row in rows})
    threads = sorted({str(row.get("threads", "unknown")) for row in rows})
    descriptions = "\n".join(
        f"- `{name}`: {describe_model(name)}"
        for name in dict.fromkeys(r["model"] for r in summary)
        if name != ORACLE
    )
    header = (
        "# Link prediction\n\n"
        f"Command: `{command}` ({time.strftime('%Y-%m-%d')}).\n"
        f"Machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, "
        f"PyG {torch_geometric.__version__}, Python "
        f"{platform.python_version()}; torch threads per trial: "
        f"{', '.join(threads)} (trials run side by side in worker "
        "processes, one per core unless --jobs says otherwise).\n"
        f"Code: {'; '.join(codes)}.\n\n"
        "Test metric at the best validation epoch, mean +- sample std over "
        "trials; every model sees the same graphs, splits and PE in each "
        "trial. Seconds per epoch are training only (no evaluation), "
        "averaged over trials. The copy oracle scores a pair 1 when both "
        "ends lie in the same copy, else 0 (the ceiling of a model that "
        "only knows copies).\n\n"
    )
    paths["md"].write_text(
        header + to_markdown(summary) + "\nModels:\n\n" + descriptions + "\n"
    )
    _plot(summary, paths["png"])
    return paths


def _csv_order(key: str) -> tuple[int, str]:
    first = ["dataset", "model", "seed"]
    return (first.index(key), key) if key in first else (len(first), key)


def _plot(summary: Sequence[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(r["dataset"] for r in summary))
    models = list(dict.fromkeys(r["model"] for r in summary))
    width = 0.8 / max(len(datasets), 1)
    figure, axes = plt.subplots(figsize=(1.0 + 0.9 * len(models), 3.6))
    for i, dataset in enumerate(datasets):
        chosen = {r["model"]: r for r in summary if r["dataset"] == dataset}
        xs = [j + i * width for j, m in enumerate(models) if m in chosen]
        means = [chosen[m]["mean"] for m in models if m in chosen]
        stds = [chosen[m]["std"] for m in models if m in chosen]
        axes.bar(xs, means, width, yerr=stds, capsize=3, label=dataset)
    axes.set_xticks(
        [j + width * (len(datasets) - 1) / 2 for j in range(len(models))]
    )
    axes.set_xticklabels(models, rotation=30, ha="right")
    metrics = sorted({r["metric"] for r in summary})
    axes.set_ylabel(f"test {' / '.join(metrics)}")
    if metrics == ["auc"]:
        axes.axhline(0.5, color="grey", linewidth=0.8, linestyle="--")
        axes.set_ylim(0.4, 1.0)
    axes.legend(title="dataset")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of the benchmark."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.link_pred",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=["er", "ba"],
        help=f"{', '.join([*SYNTHETIC, *OGB_NAMES])} or file:PATH",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=list(DEFAULT_MODELS),
        help=f"any of {', '.join(MODEL_NAMES)}",
    )
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="positive links per training step (default: full batch)",
    )
    parser.add_argument(
        "--base-nodes",
        type=int,
        default=1000,
        help="nodes per copy of the er/ba graphs",
    )
    parser.add_argument(
        "--extra-edges",
        type=int,
        default=1000,
        help="random edges added across the copies of the er/ba graphs",
    )
    parser.add_argument(
        "--score-batch-size",
        type=_score_batch_size,
        default=DEFAULT_SCORE_BATCH_SIZE,
        help="links scored at once within a training step, or 'all'; the "
        "step's gradient is the whole batch's either way, and on the CPU "
        f"chunks run faster (default: {DEFAULT_SCORE_BATCH_SIZE})",
    )
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--root", type=Path, default=None, help="OGB data root"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output directory (default: benchmarks/results/link_pred, "
        "or link_pred_quick with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"fewer trials and epochs: {QUICK}",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="worker processes (default: one per CPU core)",
    )
    parser.add_argument("--quiet", action="store_true")
    return parser


def _score_batch_size(text: str) -> int | None:
    if text == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a positive int or 'all', got {text!r}"
        )
    return value


def _default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        env = dist_utils.detect_env()
    except ValueError as error:
        logging.basicConfig(format="%(asctime)s %(message)s")
        log.error("%s", error)
        return 2
    rank = 0 if env is None else env.rank
    # Every rank would repeat rank 0's progress messages.
    logging.basicConfig(
        level=logging.WARNING if args.quiet or rank else logging.INFO,
        format="%(asctime)s %(message)s"
        + ("" if env is None else f" [rank {rank}]"),
    )
    device = args.device
    if env is not None:
        dist_utils.init_distributed()
        if device == "cuda":
            device = f"cuda:{env.local_rank}"
    try:
        return _main(args, argv, device, rank)
    finally:
        if env is not None and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _main(
    args: argparse.Namespace, argv: list[str], device: str, rank: int
) -> int:
    trials = args.trials or (QUICK["trials"] if args.quick else 10)
    epochs = args.epochs or (QUICK["epochs"] if args.quick else 100)
    out = args.out or Path(
        "benchmarks/results/link_pred" + ("_quick" if args.quick else "")
    )
    settings = Settings(
        epochs=epochs,
        k=args.k,
        lr=args.lr,
        batch_size=args.batch_size,
        base_nodes=args.base_nodes,
        extra_edges=args.extra_edges,
    )
    try:
        rows = run_link_pred(
            args.datasets,
            args.models,
            trials,
            settings,
            out,
            device=device,
            root=args.root,
            progress=not args.quiet,
            first_seed=args.seed,
            jobs=args.jobs or _default_jobs(),
            score_batch_size=args.score_batch_size,
        )
    except dist_utils.DistributedError as error:
        log.error("%s", error)
        return 3
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        if dist_utils.is_distributed():
            # A collective inside torch (DDP's gradient all-reduce) fails
            # with the backend's message when a peer is gone.
            log.error(
                "rank %d failed: %s (if this names a closed connection or "
                "a timeout, another rank failed first: see its log)",
                rank,
                error,
            )
        else:
            log.error("%s", error)
        return 2
    if rank != 0:
        return 0
    seeds = range(args.seed, args.seed + trials)
    chosen = [
        r
        for r in rows
        if r["dataset"] in args.datasets
        and r["seed"] in seeds
        and (r["model"] in args.models or r["model"] == ORACLE)
    ]
    paths = write_outputs(chosen, out, argv, args.datasets, args.models)
    if not args.quiet:
        print(paths["md"].read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
