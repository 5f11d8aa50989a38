"""Where the headroom is on the paper's nearly symmetric graphs.

The paper's synthetic study (two identical copies of a 1000-node graph plus
1000 random edges, an 80/10/10 edge split) has three sources of signal a
link predictor can use: which copy each node is in, node degrees, and the
twin structure (a held-out edge ``(u, w)`` in one copy has a twin
``(u', w')`` in the other, a training edge 80% of the time). This script
measures, on the same graphs and splits as ``benchmarks.link_pred``:

- analytic oracles that know the copy, the copy and the training degrees,
  the copy and the twin's training edge, and all three (test ROC-AUC; each
  oracle scores pairs lexicographically by what it knows);
- whether the training graph's Laplacian eigenvectors carry the twin
  structure at all: the test ROC-AUC, among pairs inside one copy, of the
  basis-independent projector score ``sum_i V[u, i] V[w, i]`` over the
  ``k`` lowest eigenvectors, and the mean canonical correlation between
  the eigenvectors restricted to copy 0 and to copy 1 (twins aligned).

Run ``python -m benchmarks.headroom``; it writes
``benchmarks/results/headroom.{csv,md}``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from benchmarks._provenance import code_version
from benchmarks.link_pred import Settings, Task, load_task
from pyg_signeq.metrics import roc_auc

RESULTS_DIR = Path(__file__).resolve().parent / "results"

ORACLES = ("copy", "copy_degree", "copy_twin", "copy_twin_degree")
"""Oracle names, by what they know."""


def _labelled(task: Task) -> tuple[Tensor, Tensor, Tensor]:
    index = task.test.edge_label_index
    label = task.test.edge_label.bool()
    same = task.copy[index[0]] == task.copy[index[1]]
    return index, label, same


def _auc(score: Tensor, label: Tensor) -> float:
    score = score.double()
    return roc_auc(score[label], score[~label])


def twin_of(node: Tensor, base_nodes: int, num_copies: int = 2) -> Tensor:
    """Return the twin of every node in the next copy.

    Node ``i`` of copy ``c`` has id ``c * base_nodes + i``
    (:func:`~pyg_signeq.data.nearly_symmetric`); its twin in copy
    ``c + 1`` (cyclically) has the same ``i``.

    Args:
        node (Tensor): Node ids.
        base_nodes (int): Nodes per copy.
        num_copies (int): Copies in the graph. (default: :obj:`2`)
    """
    return (node + base_nodes) % (num_copies * base_nodes)


def oracle_aucs(task: Task, base_nodes: int) -> dict[str, float]:
    """Test ROC-AUC of the four oracles on one task.

    Each oracle ranks pairs lexicographically: first by whether both ends
    share a copy, then (``twin``) by whether the twin pair is an edge of
    the training graph, then (``degree``) by the product of the ends'
    training degrees.

    Args:
        task (Task): A task on two identical copies.
        base_nodes (int): Nodes per copy.
    """
    index, label, same = _labelled(task)
    num_nodes = task.train.num_nodes
    edge_index = task.train.edge_index
    degree = torch.bincount(edge_index[0], minlength=num_nodes).double()
    product = degree[index[0]] * degree[index[1]]
    product = product / (product.max() + 1.0)  # in [0, 1)
    keys = set((edge_index[0] * num_nodes + edge_index[1]).tolist())
    twins = twin_of(index, base_nodes)
    twin_edge = torch.tensor(
        [k in keys for k in (twins[0] * num_nodes + twins[1]).tolist()],
        dtype=torch.double,
    )
    same = same.double()
    return {
        "copy": _auc(same, label),
        "copy_degree": _auc(2 * same + product, label),
        "copy_twin": _auc(2 * same + twin_edge, label),
        "copy_twin_degree": _auc(4 * same + 2 * twin_edge + product, label),
    }


def pe_diagnostics(task: Task, base_nodes: int) -> dict[str, float]:
    """How much of the twin structure the training PE carries.

    Args:
        task (Task): A task on two identical copies, with ``train.pe``.
        base_nodes (int): Nodes per copy.

    Returns:
        dict: ``projector_auc_within_copy``, the test ROC-AUC of
        ``sum_i pe[u, i] pe[w, i]`` over pairs inside one copy, and
        ``twin_correlation``, the mean canonical correlation between the
        rows of ``pe`` in copy 0 and their twins' rows in copy 1.
    """
    index, label, same = _labelled(task)
    pe = task.train.pe.double()
    score = (pe[index[0]] * pe[index[1]]).sum(-1)
    within = _auc(score[same], label[same])
    first = pe[:base_nodes].numpy()
    second = pe[base_nodes : 2 * base_nodes].numpy()
    q_first, _ = np.linalg.qr(first)
    q_second, _ = np.linalg.qr(second)
    correlations = np.linalg.svd(q_first.T @ q_second, compute_uv=False)
    return {
        "projector_auc_within_copy": within,
        "twin_correlation": float(correlations.mean()),
    }


def run(
    families: Sequence[str] = ("er", "ba"),
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    ks: Sequence[int] = (16, 64, 256),
    base_nodes: int = 1000,
    extra_edges: int = 1000,
) -> list[dict]:
    """Measure oracles and PE diagnostics on every family, seed and ``k``.

    Graphs and splits are those of ``benchmarks.link_pred`` for the same
    seed; the PE is computed for each ``k``.

    Args:
        families (Sequence[str]): ``"er"`` and/or ``"ba"``.
        seeds (Sequence[int]): Graph and split seeds.
        ks (Sequence[int]): Numbers of eigenvectors.
        base_nodes (int): Nodes per copy.
        extra_edges (int): Random edges added across the copies.

    Returns:
        list[dict]: One row per family, seed and quantity (``k`` is 0 for
        the oracles, which use no PE).
    """
    rows = []
    for family in families:
        for seed in seeds:
            for k in ks:
                settings = Settings(
                    k=k, base_nodes=base_nodes, extra_edges=extra_edges
                )
                task = load_task(family, seed, settings)
                if k == ks[0]:
                    for name, value in oracle_aucs(task, base_nodes).items():
                        rows.append(
                            dict(
                                family=family,
                                seed=seed,
                                k=0,
                                quantity=f"oracle_{name}",
                                value=value,
                            )
                        )
                for name, value in pe_diagnostics(task, base_nodes).items():
                    rows.append(
                        dict(
                            family=family,
                            seed=seed,
                            k=k,
                            quantity=name,
                            value=value,
                        )
                    )
    return rows


def summarize(rows: Sequence[dict]) -> list[dict]:
    """Mean and sample std over seeds per family, quantity and ``k``.

    Args:
        rows (Sequence[dict]): The output of :func:`run`.
    """
    groups: dict[tuple, list[float]] = {}
    for row in rows:
        key = (row["family"], row["quantity"], row["k"])
        groups.setdefault(key, []).append(row["value"])
    return [
        dict(
            family=family,
            quantity=quantity,
            k=k,
            mean=statistics.fmean(values),
            std=statistics.stdev(values) if len(values) > 1 else 0.0,
            seeds=len(values),
        )
        for (family, quantity, k), values in groups.items()
    ]


def to_markdown(summary: Sequence[dict], argv: Sequence[str]) -> str:
    """Render the summary with what it measures and how it was made.

    Args:
        summary (Sequence[dict]): The output of :func:`summarize`.
        argv (Sequence[str]): The command-line arguments, for the record.
    """
    lines = [
        "# Headroom on the paper's nearly symmetric graphs",
        "",
        f"Command: `python -m benchmarks.headroom {' '.join(argv)}`"
        f" ({time.strftime('%Y-%m-%d')}). Code: {code_version()}.",
        "",
        "Same graphs, splits and PE settings as `benchmarks.link_pred` for "
        "the same seeds. Oracles rank test pairs lexicographically by what "
        "they know: same copy, then whether the twin pair is a training "
        "edge, then the product of training degrees (test ROC-AUC). "
        "`projector_auc_within_copy` is the test ROC-AUC, among pairs "
        "inside one copy, of `sum_i V[u, i] V[w, i]` over the `k` lowest "
        "non-trivial eigenvectors of the training graph: a score that no "
        "rotation of the basis changes, so the arbitrary basis inside "
        "near-repeated eigenvalues cannot hide what it carries. "
        "`twin_correlation` is the mean canonical correlation between the "
        "eigenvectors restricted to copy 0 and to the twins in copy 1 (1 "
        "if both copies span the same positions). Mean +- sample std over "
        "seeds.",
        "",
        "| family | quantity | k | mean +- std | seeds |",
        "|---|---|---:|---:|---:|",
    ]
    for row in summary:
        k = row["k"] if row["k"] else "-"
        lines.append(
            f"| {row['family']} | {row['quantity']} | {k} "
            f"| {row['mean']:.3f} +- {row['std']:.3f} | {row['seeds']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurements and write ``headroom.{csv,md}``.

    Args:
        argv (Sequence[str], optional): The arguments, without the program
            name. (default: :obj:`None`, ``sys.argv[1:]``)

    Returns:
        The exit status, 0 on success.
    """
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.headroom",
        description="Oracles and PE diagnostics on the paper's graphs.",
    )
    parser.add_argument(
        "--families", nargs="+", default=["er", "ba"], choices=["er", "ba"]
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4]
    )
    parser.add_argument("--k", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument(
        "--base-nodes", type=int, default=1000, help="nodes per copy"
    )
    parser.add_argument("--extra-edges", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--quiet", action="store_true", help="do not print the table"
    )
    args = parser.parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    rows = run(
        args.families, args.seeds, args.k, args.base_nodes, args.extra_edges
    )
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "headroom.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    text = to_markdown(summarize(rows), argv)
    (args.out / "headroom.md").write_text(text)
    if not args.quiet:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
