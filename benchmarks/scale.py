"""Scale: link prediction on a graph of ogbl-collab's size, on one machine.

Generates a graph with ogbl-collab's node and edge counts (235,868 nodes,
1,285,465 undirected edges) and power-law degrees: a Barabasi-Albert graph
with enough edges per node, thinned uniformly to exactly that many edges.
At a fraction ``f`` of the full size it has ``round(f * 235,868)`` nodes
and ``round(f * 1,285,465)`` edges, so rows at several fractions show how
time and memory grow with size.

For every size the edges are split 90/5/5 (one negative per validation
and test positive, as :func:`pyg_signeq.data.random_link_split` does), and
the script measures, in one process:

- the PE: :class:`pyg_signeq.transforms.AddLaplacianPE` with ``k = 16`` on
  the training graph (Chebyshev-filtered subspace iteration at these
  sizes), once per size and shared by the models;
- one training epoch of each model with
  :func:`pyg_signeq.training.train_epoch` and Adam (lr 0.01): by default
  full batch, the paper's protocol, so the graph is encoded once and the
  optimizer steps once, with the links (every training edge and as many
  fresh negatives) scored ``--score-batch-size`` at a time;
  ``--batch-size`` switches to mini-batches of positive links, each of
  which encodes the whole graph again;
- one evaluation on the validation pairs
  (:func:`pyg_signeq.training.evaluate`, pairs scored
  ``--eval-batch-size`` at a time), with ROC-AUC and Hits@50, the metric
  of ogbl-collab;
- the peak resident memory of each phase (the whole process, graph and
  PE included: ``VmHWM`` after resetting it through
  ``/proc/self/clear_refs``).

:class:`~pyg_signeq.nn.SignEqNet` runs with ``chunk_size`` (default 16384
nodes; activation checkpointing per chunk). glibc's allocator otherwise
raises its mmap threshold after large frees and keeps freed tensors of
chunks in its heap, which inflates resident memory well beyond what is in
use, so this script sets ``M_MMAP_THRESHOLD`` to 64 KiB first (the same
as ``MALLOC_MMAP_THRESHOLD_=65536`` in the environment).

Usage::

    python -m benchmarks.scale                          # all four sizes
    python -m benchmarks.scale --fractions 0.125 --models sign_dss
    python -m benchmarks.scale --fractions 1.0 --merge  # add a size

With ``--merge`` the rows already in ``scale.csv`` for other sizes or
models are kept (they must have the same ``k`` and batch sizes), so sizes
can be measured by separate commands; every row records its command and
code.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import datetime
import logging
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch_geometric
from torch_geometric.data import Data

from benchmarks._provenance import code_version, cpu_description
from pyg_signeq.data import barabasi_albert, random_link_split
from pyg_signeq.nn import SignEqNet, build_model
from pyg_signeq.training import evaluate, train_epoch
from pyg_signeq.transforms import AddLaplacianPE, add_train_pe

log = logging.getLogger("benchmarks.scale")

COLLAB_NODES = 235_868
COLLAB_EDGES = 1_285_465
"""ogbl-collab's number of nodes and of undirected edges."""

FRACTIONS: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0)
MODELS: tuple[str, ...] = ("sign_dss", "sign_eq")
TARGET_SECONDS = 600.0
TARGET_PEAK_MB = 8000.0
"""The targets on a 2-core, 24 GiB machine: PE, one epoch and one
evaluation under 10 minutes and 8 GB of peak memory."""

FIELDS = (
    "fraction",
    "num_nodes",
    "num_edges",
    "num_train_links",
    "num_val_links",
    "model",
    "num_parameters",
    "pe_seconds",
    "pe_peak_mb",
    "epoch_seconds",
    "epoch_steps",
    "epoch_peak_mb",
    "eval_seconds",
    "eval_peak_mb",
    "total_seconds",
    "peak_mb",
    "val_auc",
    "val_hits@50",
    "threads",
    "k",
    "batch_size",
    "score_batch_size",
    "eval_batch_size",
    "chunk_size",
    "code",
    "command",
)
SETTINGS = ("k", "batch_size", "score_batch_size", "eval_batch_size")
"""Settings that rows merged into one table must share."""
_INTS = (
    "num_nodes",
    "num_edges",
    "num_train_links",
    "num_val_links",
    "num_parameters",
    "epoch_steps",
    "threads",
    *SETTINGS,
    "chunk_size",
)


def collab_like_graph(fraction: float, seed: int = 0) -> Data:
    """A power-law graph with a fraction of ogbl-collab's size.

    A Barabasi-Albert graph on ``round(fraction * 235,868)`` nodes with
    :math:`m` edges per node, :math:`m` the smallest count that gives at
    least ``round(fraction * 1,285,465)`` edges, thinned by keeping a
    uniformly random subset of exactly that many edges.

    Args:
        fraction (float): The size relative to ogbl-collab, in (0, 1].
        seed (int): Seed of the graph and of the thinning.
            (default: :obj:`0`)

    Returns:
        torch_geometric.data.Data: ``edge_index`` with both directions of
        every edge, ``x = ones(N, 1)`` and ``num_nodes``.
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise TypeError(
            f"'fraction' must be a float, got {type(fraction).__name__}"
        )
    if not 0 < fraction <= 1:
        raise ValueError(f"'fraction' must lie in (0, 1], got {fraction}")
    num_nodes = max(round(fraction * COLLAB_NODES), 10)
    num_edges = round(fraction * COLLAB_EDGES)
    m = math.ceil(num_edges / num_nodes)
    while True:
        edge_index = barabasi_albert(num_nodes, m, seed)
        once = edge_index[:, edge_index[0] < edge_index[1]]
        if once.size(1) >= num_edges:
            break
        m += 1
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(once.size(1), num_edges, replace=False))
    once = once[:, torch.from_numpy(keep)]
    edge_index = torch.cat([once, once.flip(0)], dim=1)
    return Data(
        x=torch.ones(num_nodes, 1),
        edge_index=edge_index,
        num_nodes=num_nodes,
    )


def _limit_heap_caching() -> bool:
    # M_MMAP_THRESHOLD (-3): allocations of 64 KiB and more get their own
    # mapping, returned to the system when freed.
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, 65536))
    except (OSError, AttributeError):
        return False


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def _peak_mb() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _phase(fn: Any) -> tuple[Any, float, float]:
    """Run ``fn``; return its result, seconds and the peak RSS in MB."""
    _reset_peak()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    return result, seconds, _peak_mb()


def _build(name: str, k: int, chunk_size: int | None) -> torch.nn.Module:
    model = build_model(name, k=k)
    encoder = getattr(model, "pe_encoder", None)
    if isinstance(encoder, SignEqNet):
        encoder.chunk_size = chunk_size
    return model


def run_scale(
    fractions: Sequence[float] = FRACTIONS,
    models: Sequence[str] = MODELS,
    k: int = 16,
    batch_size: int | None = None,
    score_batch_size: int = 65_536,
    eval_batch_size: int = 65_536,
    chunk_size: int | None = 16_384,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Measure PE, one epoch and one evaluation at every size.

    Args:
        fractions (Sequence[float]): Sizes relative to ogbl-collab.
        models (Sequence[str]): Names of :func:`pyg_signeq.nn.build_model`.
        k (int): The number of eigenvectors. (default: :obj:`16`)
        batch_size (int, optional): Positive links per optimizer step.
            (default: :obj:`None`, full batch)
        score_batch_size (int): Links scored at once in training.
            (default: :obj:`65536`)
        eval_batch_size (int): Links scored at once in evaluation.
            (default: :obj:`65536`)
        chunk_size (int, optional): Nodes per chunk of
            :class:`~pyg_signeq.nn.SignEqNet`. (default: :obj:`16384`)
        seed (int): Seed of the graphs, splits, PE, models and negatives.
            (default: :obj:`0`)

    Returns:
        list[dict]: One row per (fraction, model), keys :data:`FIELDS`.
    """
    for fraction in fractions:
        if not 0 < fraction <= 1:
            raise ValueError(f"'fractions' must lie in (0, 1], got {fraction}")
    for name in models:
        build_model(name, k=k)  # raises a ValueError naming the model
    _limit_heap_caching()
    rows = []
    for fraction in fractions:
        data = collab_like_graph(fraction, seed)
        train, val, test = random_link_split(
            data, val=0.05, test=0.05, seed=seed
        )
        del data
        log.info(
            "fraction %g: %d nodes, %d training links",
            fraction,
            train.num_nodes,
            train.edge_label_index.size(1),
        )
        (train, val, _), pe_seconds, pe_peak = _phase(
            lambda t=train, v=val, s=test: add_train_pe(
                t, v, s, AddLaplacianPE(k, seed=seed)
            )
        )
        log.info("fraction %g: PE in %.1f s", fraction, pe_seconds)
        for name in models:
            torch.manual_seed(seed)
            model = _build(name, k, chunk_size)
            optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
            generator = torch.Generator().manual_seed(seed)
            num_pos = train.edge_label_index.size(1)
            _, epoch_seconds, epoch_peak = _phase(
                lambda m=model, o=optimizer, g=generator, t=train: train_epoch(
                    m,
                    t,
                    o,
                    g,
                    batch_size,
                    score_batch_size=score_batch_size,
                )
            )
            metrics, eval_seconds, eval_peak = _phase(
                lambda m=model, v=val: evaluate(
                    m, v, ("auc", "hits@50"), eval_batch_size
                )
            )
            steps = 1 if batch_size is None else -(-num_pos // batch_size)
            row = {
                "fraction": fraction,
                "num_nodes": train.num_nodes,
                "num_edges": round(fraction * COLLAB_EDGES),
                "num_train_links": num_pos,
                "num_val_links": val.edge_label_index.size(1),
                "model": name,
                "num_parameters": sum(p.numel() for p in model.parameters()),
                "pe_seconds": pe_seconds,
                "pe_peak_mb": pe_peak,
                "epoch_seconds": epoch_seconds,
                "epoch_steps": steps,
                "epoch_peak_mb": epoch_peak,
                "eval_seconds": eval_seconds,
                "eval_peak_mb": eval_peak,
                "total_seconds": pe_seconds + epoch_seconds + eval_seconds,
                "peak_mb": max(pe_peak, epoch_peak, eval_peak),
                "val_auc": metrics["auc"],
                "val_hits@50": metrics["hits@50"],
                "threads": torch.get_num_threads(),
            }
            log.info(
                "fraction %g %s: epoch %.1f s, eval %.1f s, peak %.0f MB",
                fraction,
                name,
                epoch_seconds,
                eval_seconds,
                row["peak_mb"],
            )
            rows.append(row)
            del model, optimizer
    return rows


def to_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """A table with one line per (size, model) and the growth in time.

    Args:
        rows (Sequence[dict]): The output of :func:`run_scale`.
    """
    lines = [
        "| fraction | nodes | edges | model | PE s | epoch s | eval s "
        "| total s | peak MB | total s / smallest | edges / smallest "
        "| meets targets |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    smallest: dict[str, dict[str, Any]] = {}
    for row in rows:
        first = smallest.setdefault(row["model"], row)
        ok = (
            row["total_seconds"] < TARGET_SECONDS
            and row["peak_mb"] < TARGET_PEAK_MB
        )
        cells = [
            f"{row['fraction']:g}",
            f"{row['num_nodes']:,}",
            f"{row['num_edges']:,}",
            row["model"],
            f"{row['pe_seconds']:.1f}",
            f"{row['epoch_seconds']:.1f}",
            f"{row['eval_seconds']:.1f}",
            f"{row['total_seconds']:.1f}",
            f"{row['peak_mb']:.0f}",
            f"{row['total_seconds'] / first['total_seconds']:.2f}",
            f"{row['num_edges'] / first['num_edges']:.2f}",
            "yes" if ok else "no",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def read_results(path: Path) -> list[dict[str, Any]]:
    """Read the rows of a ``scale.csv`` back with their types.

    Args:
        path (Path): The file.
    """
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key, value in row.items():
            if key in ("model", "code", "command"):
                continue
            if value == "":
                row[key] = None
            elif key in _INTS:
                row[key] = int(value)
            else:
                row[key] = float(value)
    return rows


def check_mergeable(
    old: Sequence[dict[str, Any]], settings: dict[str, Any]
) -> None:
    """Raise a ``ValueError`` if ``old`` rows have other settings.

    Args:
        old (Sequence[dict]): Rows of an earlier run.
        settings (dict): This run's values of :data:`SETTINGS`.
    """
    for row in old:
        for key in SETTINGS:
            if row.get(key) != settings[key]:
                raise ValueError(
                    f"'--merge': {key} of the stored row ({row['fraction']}, "
                    f"{row['model']}) is {row.get(key)}, this run's is "
                    f"{settings[key]}; measure with the same settings or "
                    "choose another --out"
                )


def merge_rows(
    old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Keep the old rows of other (fraction, model) pairs, then sort.

    Args:
        old (Sequence[dict]): Rows of an earlier run.
        new (Sequence[dict]): Rows of this run, which take precedence.

    Raises:
        ValueError: If the old rows were measured with other settings.
    """
    if new:
        check_mergeable(old, new[0])
    measured = {(r["fraction"], r["model"]) for r in new}
    kept = [r for r in old if (r["fraction"], r["model"]) not in measured]
    order = {name: i for i, name in enumerate(MODELS)}
    return sorted(
        [*kept, *new],
        key=lambda r: (r["fraction"], order.get(r["model"], 99), r["model"]),
    )


def write_results(
    rows: Sequence[dict[str, Any]],
    out: Path,
    argv: Sequence[str],
    settings: dict[str, Any],
) -> tuple[Path, Path]:
    """Write ``scale.csv`` and ``scale.md`` under ``out``.

    Args:
        rows (Sequence[dict]): The output of :func:`run_scale`, maybe
            merged with earlier rows.
        out (Path): The output directory.
        argv (Sequence[str]): The command-line arguments, for the record.
        settings (dict): The batch sizes and chunk size used.
    """
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "scale.csv"
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    batch = settings["batch_size"]
    batch_text = (
        "full batch (one optimizer step over every training link, the "
        "graph encoded once)"
        if batch is None
        else f"mini-batches of {batch:,} positive links, each encoding the "
        "whole graph"
    )
    commands = "; ".join(
        f"`{c}`" for c in dict.fromkeys(r["command"] for r in rows)
    )
    codes = "; ".join(dict.fromkeys(r["code"] for r in rows))
    header = (
        "# Scale: ogbl-collab's size on one machine\n\n"
        f"Command: {commands} (written "
        f"{datetime.date.today().isoformat()}).\n"
        f"Code: {codes}.\n"
        f"Machine: {os.cpu_count()} CPU cores ({cpu_description()}), "
        f"torch {torch.__version__} with {torch.get_num_threads()} "
        "threads, PyG "
        f"{torch_geometric.__version__}, Python "
        f"{platform.python_version()}; one run per size, and single "
        "times vary by some 10-30% between runs.\n\n"
        "Graph: Barabasi-Albert thinned to ogbl-collab's node and edge "
        "counts at each fraction (power-law degrees), split 90/5/5. PE: "
        f"AddLaplacianPE(k={settings['k']}) of the training graph, once "
        "per size and shared by the models. Epoch: Adam, "
        f"{batch_text}; links scored {settings['score_batch_size']:,} at "
        "a time. Evaluation: the validation pairs (one negative per "
        f"positive) scored {settings['eval_batch_size']:,} at a time, "
        "ROC-AUC and Hits@50 (both after one epoch, so not meaningful as "
        f"accuracy). SignEqNet: chunk_size={settings['chunk_size']}. Peak "
        "MB: the whole process's peak resident memory in each phase, "
        "graph and PE included (the largest of the three). Total: PE + "
        "epoch + evaluation; targets: under "
        f"{TARGET_SECONDS / 60:.0f} minutes and "
        f"{TARGET_PEAK_MB / 1000:.0f} GB. Growth columns compare each row "
        "with the smallest size of its model.\n\n"
    )
    md_path = out / "scale.md"
    md_path.write_text(header + to_markdown(rows))
    return csv_path, md_path


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of the benchmark."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--fractions", type=float, nargs="+", default=list(FRACTIONS)
    )
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="positive links per optimizer step (default: full batch)",
    )
    parser.add_argument("--score-batch-size", type=int, default=65_536)
    parser.add_argument("--eval-batch-size", type=int, default=65_536)
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=16_384,
        help="nodes per chunk of SignEqNet (0: whole layers)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of other sizes and models in OUT/scale.csv",
    )
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(message)s",
    )
    settings = {
        "k": args.k,
        "batch_size": args.batch_size,
        "score_batch_size": args.score_batch_size,
        "eval_batch_size": args.eval_batch_size,
        "chunk_size": args.chunk_size or None,
    }
    stored = args.out / "scale.csv"
    try:
        old = read_results(stored) if args.merge and stored.exists() else []
        check_mergeable(old, settings)
        # The code as it is when the measurement starts.
        code = code_version()
        rows = run_scale(
            args.fractions, args.models, seed=args.seed, **settings
        )
        command = " ".join(["python -m benchmarks.scale", *argv])
        for row in rows:
            row.update(settings, code=code, command=command)
        rows = merge_rows(old, rows)
    except ValueError as error:
        log.error("%s", error)
        return 2
    _, md_path = write_results(rows, args.out, argv, settings)
    if not args.quiet:
        print(md_path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
