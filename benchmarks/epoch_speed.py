"""Seconds per training epoch of the zoo's models on the paper's graphs.

Builds the graphs of the paper's synthetic link-prediction experiment (two
copies of a 1000-node Erdos-Renyi or Barabasi-Albert graph plus 1000
random edges, :func:`pyg_signeq.data.nearly_symmetric`), splits their edges
80/10/10 with PyG's ``RandomLinkSplit`` and attaches k = 16 Laplacian
eigenvectors of the training graph (:func:`pyg_signeq.transforms.
add_train_pe`). Then it times full-batch training epochs
(:func:`pyg_signeq.training.train_epoch`: encode the graph, draw as many
uniform negatives as positives, score, BCE, backward, Adam step) of every
model, interleaved: each round runs one epoch of every model, in an order
rotated from round to round, so that a slow phase of a shared machine
hits all models alike. Medians over rounds and their ratios to the paper's
GCN are reported.

Usage::

    python -m benchmarks.epoch_speed                # the committed results
    python -m benchmarks.epoch_speed --repeats 3 --families er
"""

from __future__ import annotations

import argparse
import csv
import datetime
import logging
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch_geometric
import torch_geometric.transforms as T

from benchmarks._provenance import code_version
from pyg_signeq.data import nearly_symmetric
from pyg_signeq.nn import MODEL_NAMES, build_model
from pyg_signeq.training import train_epoch
from pyg_signeq.transforms import AddLaplacianPE, add_train_pe

log = logging.getLogger("benchmarks.epoch_speed")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
FAMILIES = {"er": "Erdos-Renyi, p = 0.05", "ba": "Barabasi-Albert, m = 20"}
#: The reference model of the ratios, and the model the target is about.
REFERENCE, TARGET_MODEL, TARGET_RATIO = "gcn", "sign_dss", 1.5
FIELDS = (
    "family",
    "num_nodes",
    "num_edges",
    "num_train_links",
    "k",
    "model",
    "num_parameters",
    "trained",
    "threads",
    "repeats",
    "warmup",
    "median_seconds",
    "min_seconds",
    "max_seconds",
    "ratio_to_gcn",
    "pe_seconds",
    "all_seconds",
)


def _check_names(values: Sequence[str], allowed: Sequence[str], name: str):
    if isinstance(values, str):
        raise TypeError(
            f"'{name}' must be a sequence of names, got {values!r}"
        )
    for value in values:
        if value not in allowed:
            raise ValueError(
                f"'{name}' must hold names from {tuple(allowed)}, got "
                f"{value!r}"
            )


def _split(family: str, base_nodes: int, num_extra_edges: int, seed: int):
    data = nearly_symmetric(family, base_nodes, 2, num_extra_edges, seed=seed)
    split = T.RandomLinkSplit(
        num_val=0.1,
        num_test=0.1,
        is_undirected=True,
        add_negative_train_samples=False,
    )
    # RandomLinkSplit shuffles with the global generator; seed it without
    # leaving a trace for the caller.
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return data, split(data)


def run_epoch_speed(
    families: Sequence[str] = ("er", "ba"),
    models: Sequence[str] = MODEL_NAMES,
    base_nodes: int = 1000,
    num_extra_edges: int = 1000,
    k: int = 16,
    repeats: int = 5,
    warmup: int = 1,
    threads: int = 1,
    seed: int = 0,
) -> list[dict]:
    """Time full-batch training epochs of every model on every family.

    Args:
        families: Keys of :data:`FAMILIES`.
        models: Names from :data:`pyg_signeq.nn.MODEL_NAMES`.
        base_nodes: Nodes of each of the two copies.
        num_extra_edges: Random edges added across the copies.
        k: Eigenvectors in the PE.
        repeats: Timed rounds; every round times one epoch of every model.
        warmup: Untimed rounds before them (first-call allocations).
        threads: ``torch.set_num_threads`` during the run; restored after.
        seed: Seed of the graph, the split, the PE, the initial weights
            and the negatives.

    Returns:
        list[dict]: One row per family and model, keys :data:`FIELDS`.
    """
    _check_names(families, tuple(FAMILIES), "families")
    _check_names(models, MODEL_NAMES, "models")
    for name, value, minimum in [
        ("repeats", repeats, 1),
        ("warmup", warmup, 0),
        ("threads", threads, 1),
    ]:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"'{name}' must be an int, got {value!r}")
        if value < minimum:
            raise ValueError(
                f"'{name}' must be at least {minimum}, got {value}"
            )

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        rows = []
        for family in families:
            rows.extend(
                _time_family(
                    family,
                    models,
                    base_nodes,
                    num_extra_edges,
                    k,
                    repeats,
                    warmup,
                    seed,
                )
            )
    finally:
        torch.set_num_threads(previous_threads)
    return rows


def _time_family(
    family: str,
    models: Sequence[str],
    base_nodes: int,
    num_extra_edges: int,
    k: int,
    repeats: int,
    warmup: int,
    seed: int,
) -> list[dict]:
    data, (train, val, test) = _split(
        family, base_nodes, num_extra_edges, seed
    )
    start = time.perf_counter()
    train, _, _ = add_train_pe(train, val, test, AddLaplacianPE(k, seed=seed))
    pe_seconds = time.perf_counter() - start

    states = {}
    for name in models:
        # Initial weights come from the global generator: fork it so that
        # the benchmark leaves the caller's random state alone.
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = build_model(name, k=k, in_channels=train.x.size(1))
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=0.01) if params else None
        generator = torch.Generator().manual_seed(seed)
        states[name] = (model, optimizer, generator, params)

    times: dict[str, list[float]] = {name: [] for name in models}
    for round_ in range(warmup + repeats):
        shift = round_ % len(models)
        for name in [*models[shift:], *models[:shift]]:
            model, optimizer, generator, _ = states[name]
            start = time.perf_counter()
            train_epoch(model, train, optimizer, generator)
            seconds = time.perf_counter() - start
            if round_ >= warmup:
                times[name].append(seconds)
        log.info("%s: round %d of %d", family, round_ + 1, warmup + repeats)

    medians = {name: statistics.median(times[name]) for name in models}
    reference = medians.get(REFERENCE, float("nan"))
    rows = []
    for name in models:
        params = states[name][3]
        rows.append(
            {
                "family": family,
                "num_nodes": data.num_nodes,
                "num_edges": data.edge_index.size(1) // 2,
                "num_train_links": int((train.edge_label == 1).sum()),
                "k": k,
                "model": name,
                "num_parameters": sum(p.numel() for p in params),
                "trained": bool(params),
                "threads": torch.get_num_threads(),
                "repeats": repeats,
                "warmup": warmup,
                "median_seconds": medians[name],
                "min_seconds": min(times[name]),
                "max_seconds": max(times[name]),
                "ratio_to_gcn": medians[name] / reference,
                "pe_seconds": pe_seconds,
                "all_seconds": " ".join(f"{t:.6g}" for t in times[name]),
            }
        )
    return rows


def target_verdicts(rows: Sequence[dict]) -> dict[str, float]:
    """Return the SignDSS / GCN median ratio per family, where both ran."""
    return {
        row["family"]: row["ratio_to_gcn"]
        for row in rows
        if row["model"] == TARGET_MODEL and not math.isnan(row["ratio_to_gcn"])
    }


def to_markdown(rows: Sequence[dict]) -> str:
    """One table per family: medians, spread and ratios to GCN."""
    lines = []
    families = list(dict.fromkeys(row["family"] for row in rows))
    for family in families:
        part = [row for row in rows if row["family"] == family]
        first = part[0]
        lines += [
            f"## {FAMILIES[family]}: {first['num_nodes']:,} nodes, "
            f"{first['num_edges']:,} edges, {first['num_train_links']:,} "
            "training links",
            "",
            "| model | params | median s/epoch | min - max | ratio to GCN |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in part:
            note = "" if row["trained"] else " (no training step)"
            lines.append(
                f"| {row['model']}{note} | {row['num_parameters']:,} | "
                f"{row['median_seconds']:.4f} | "
                f"{row['min_seconds']:.4f} - {row['max_seconds']:.4f} | "
                f"{_ratio(row['ratio_to_gcn'])} |"
            )
        lines.append("")
    verdicts = target_verdicts(rows)
    if verdicts:
        lines.append(
            f"Target: {TARGET_MODEL} within {TARGET_RATIO}x of GCN's "
            "seconds per epoch."
        )
        for family, ratio in verdicts.items():
            met = "met" if ratio <= TARGET_RATIO else "NOT met"
            lines.append(
                f"- {FAMILIES[family]}: {TARGET_MODEL} / GCN = "
                f"{ratio:.2f}, {met}."
            )
        lines.append("")
    return "\n".join(lines)


def _ratio(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def write_results(
    rows: Sequence[dict], out: Path, argv: Sequence[str] = ()
) -> tuple[Path, Path]:
    """Write ``epoch_speed.csv`` and ``epoch_speed.md`` under ``out``.

    Args:
        rows: The output of :func:`run_epoch_speed`.
        out: The folder, created if missing.
        argv: The command-line arguments, recorded in the Markdown file.

    Returns:
        The paths of the two files.
    """
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "epoch_speed.csv"
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)

    first = rows[0] if rows else {}
    command = " ".join(["python -m benchmarks.epoch_speed", *argv])
    header = [
        "# Seconds per training epoch",
        "",
        f"Command: `{command}` ({datetime.date.today().isoformat()}).",
        f"Machine: {os.cpu_count()} CPU cores, torch {torch.__version__} "
        f"with {first.get('threads', '-')} thread(s), PyG "
        f"{torch_geometric.__version__}, Python "
        f"{platform.python_version()}; CPU only.",
        f"Code: {code_version()}.",
        "",
        "What is timed: one full-batch training epoch, "
        "`pyg_signeq.training.train_epoch` (encode the whole graph, draw as "
        "many uniform negatives as training positives, score both, BCE on "
        "logits, backward, one Adam step), wall time with "
        "`time.perf_counter`. The models take turns: every round runs one "
        "epoch of each, in an order rotated by one model per round; "
        f"{first.get('repeats', '-')} timed rounds after "
        f"{first.get('warmup', '-')} untimed warm-up round(s), "
        "medians reported, ratios are of medians, all on one graph per "
        "family in one process.",
        "",
        "Not timed: graph generation, the split, evaluation on validation "
        "and test links, and the Laplacian PE, which is computed once per "
        "graph before training (it took "
        + ", ".join(
            f"{row['pe_seconds']:.2f} s on {row['family']}"
            for row in {r["family"]: r for r in rows}.values()
        )
        + "). The paper's seconds per epoch include evaluation, so they "
        "are not comparable with these. `eigvec_dot` has no parameters: "
        "its row is the forward pass and loss only. GPUs were not "
        "measured. On a shared machine single times vary; the min - max "
        "column shows by how much.",
        "",
    ]
    md_path = out / "epoch_speed.md"
    md_path.write_text("\n".join(header) + "\n" + to_markdown(rows))
    return csv_path, md_path


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.epoch_speed", description=__doc__
    )
    parser.add_argument(
        "--families", nargs="+", default=list(FAMILIES), choices=FAMILIES
    )
    parser.add_argument(
        "--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES
    )
    parser.add_argument("--base-nodes", type=int, default=1000)
    parser.add_argument("--extra-edges", type=int, default=1000)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default: 1, steady on a shared machine)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(message)s",
    )
    rows = run_epoch_speed(
        families=args.families,
        models=args.models,
        base_nodes=args.base_nodes,
        num_extra_edges=args.extra_edges,
        k=args.k,
        repeats=args.repeats,
        warmup=args.warmup,
        threads=args.threads,
        seed=args.seed,
    )
    _, md_path = write_results(rows, args.out, argv)
    if not args.quiet:
        print(md_path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
