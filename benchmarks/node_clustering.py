"""Node clustering where clusters are symmetric copies of one another.

Each trial draws a graph of :func:`pyg_signeq.data.symmetric_blocks`: four
identical random blocks (the clusters) joined as a square of blocks, with
the same bridges between every pair of neighbouring blocks, so that
relabelling the blocks is an automorphism. A node's cluster is then
invisible to structure: sign-invariant models (SignNet, a GCN on constant
features) give automorphic nodes identical embeddings and sit at chance,
while sign-equivariant PE networks keep each node's position.

Cluster labels are only defined up to those automorphisms, so models are
trained on a question the automorphisms leave alone: do two nodes share a
cluster? A model scores node pairs (``z_u * z_w`` summed over the
eigenvectors, the link heads of :mod:`pyg_signeq.nn`), trained with BCE on
fresh balanced pairs of training nodes every epoch. Nodes are split by
orbit (all copies of one block node together, 60/20/20), so a test node
has no copy among the labelled ones. Reported, at the epoch of best
validation node accuracy:

- node accuracy: each test node joins the cluster whose training nodes it
  scores highest on average (chance: one over the number of clusters);
- pair accuracy: the sign of the logit on balanced held-out pairs of test
  nodes (chance 0.5).

Every model sees the same graphs, splits, PE (k = 16 Laplacian
eigenvectors) and training pairs in each trial. Every finished (model,
seed) is appended to ``results.jsonl``; running the same command again
skips what is done. The run then writes ``results.csv``, ``results.md``
and ``results.png`` to the output directory.

Usage::

    python -m benchmarks.node_clustering            # 10 trials, ~5 min
    python -m benchmarks.node_clustering --quick    # under a minute
    python -m benchmarks.node_clustering --models sign_eq signnet
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import logging
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import torch_geometric
from torch import Tensor
from torch_geometric.data import Data

from benchmarks._provenance import code_version
from benchmarks.link_pred import ResultsFile, check_settings
from pyg_signeq.data import orbit_split, symmetric_blocks
from pyg_signeq.nn import MODEL_NAMES, LinkPredictor, build_model
from pyg_signeq.nn import describe_model as _describe_zoo_model
from pyg_signeq.transforms import AddLaplacianPE

log = logging.getLogger("benchmarks.node_clustering")

DEFAULT_MODELS: tuple[str, ...] = (
    "gcn",
    "signnet",
    "eigvec_dot",
    "sign_dss",
    "sign_eq",
)
"""A GCN on constant features, SignNet, raw eigenvectors, the authors'
sign-equivariant network and ours, all from :func:`build_model`."""

SIGN_INVARIANT: tuple[str, ...] = ("gcn", "signnet", "peg")
"""Zoo models whose node embeddings are sign invariant: automorphic nodes
get identical embeddings, so they cannot beat chance here."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a run's numbers depend on; one output directory, one setting.

    The models and the number of trials may grow between runs in the same
    directory; these may not.
    """

    epochs: int = 100
    k: int = 16
    lr: float = 0.01
    num_blocks: int = 4
    block_size: int = 128
    p: float = 0.04
    bridges: tuple[int, ...] = (96, 160)
    pairs: int = 2048
    val_fraction: float = 0.2
    test_fraction: float = 0.2


QUICK = {"trials": 2, "epochs": 30}
"""What ``--quick`` changes: fewer trials and epochs."""


@dataclasses.dataclass
class Task:
    """One graph ready for node clustering.

    Attributes:
        data (Data): The graph with ``x``, ``edge_index``, ``pe``, ``y``
            (cluster) and ``orbit``.
        train (torch.Tensor): The training nodes, sorted.
        val (torch.Tensor): The validation nodes, sorted.
        test (torch.Tensor): The test nodes, sorted.
        val_pairs (torch.Tensor): Balanced pairs of validation nodes,
            ``[2, L]``, same-cluster pairs first.
        val_pair_label (torch.Tensor): ``1`` for same-cluster pairs,
            ``0`` otherwise, ``[L]``.
        test_pairs (torch.Tensor): Balanced pairs of test nodes, ``[2, L]``.
        test_pair_label (torch.Tensor): Their labels, ``[L]``.
    """

    data: Data
    train: Tensor
    val: Tensor
    test: Tensor
    val_pairs: Tensor
    val_pair_label: Tensor
    test_pairs: Tensor
    test_pair_label: Tensor


def check_models(models: Sequence[str]) -> None:
    """Raise a ``ValueError`` listing the valid names for unknown ones.

    Args:
        models (Sequence[str]): Model names.
    """
    if not models:
        raise ValueError("'models' must name at least one model")
    for name in models:
        if name not in MODEL_NAMES:
            raise ValueError(
                f"'models': unknown model {name!r}; valid names are "
                f"{', '.join(MODEL_NAMES)}"
            )


def _by_block(
    y: Tensor, orbit: Tensor, nodes: Tensor, num_blocks: int
) -> Tensor:
    # [num_blocks, m]: the nodes of every block, in orbit order, so that
    # column j holds the copies of one block node in every block.
    order = torch.argsort(y[nodes] * (int(orbit.max()) + 1) + orbit[nodes])
    table = nodes[order].view(num_blocks, -1)
    if not torch.equal(orbit[table], orbit[table[:1]].expand(num_blocks, -1)):
        raise ValueError(
            "'nodes' must hold the same orbits in every block (use "
            "orbit_split)"
        )
    return table


def sample_pairs(
    y: Tensor,
    orbit: Tensor,
    nodes: Tensor,
    num_pairs: int,
    num_blocks: int,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor]:
    """Draw balanced same-cluster and cross-cluster pairs of ``nodes``.

    Half of the pairs join two nodes of one cluster, half two nodes of
    different clusters, all uniformly, and the two ends of a pair always
    lie in different orbits: a node and its own copy would be a
    cross-cluster pair that a sign-invariant model recognises by its
    identical embeddings, a shortcut no held-out pair offers.

    Args:
        y (torch.Tensor): The cluster of every node, ``[N]``.
        orbit (torch.Tensor): The orbit of every node, ``[N]``.
        nodes (torch.Tensor): The nodes to pair, the same orbits in every
            cluster, at least two orbits.
        num_pairs (int): The number of pairs of each kind.
        num_blocks (int): The number of clusters, at least 2.
        generator (torch.Generator): The source of randomness.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: ``edge_label_index`` ``[2,
        2 * num_pairs]``, same-cluster pairs first, and ``edge_label``
        ``[2 * num_pairs]``, ``1.0`` for same-cluster pairs.
    """
    table = _by_block(y, orbit, nodes, num_blocks)
    per_block = table.size(1)
    if per_block < 2:
        raise ValueError(
            f"'nodes' must hold at least two orbits, got {per_block}"
        )

    def draw(high: int, size: int) -> Tensor:
        return torch.randint(high, (size,), generator=generator)

    # A second index drawn from the other high - 1 values, shifted past
    # the first, is uniform among the values that differ from it.
    columns = draw(per_block, 2 * num_pairs)
    others = draw(per_block - 1, 2 * num_pairs)
    others = others + (others >= columns).long()
    blocks = draw(num_blocks, 2 * num_pairs)
    partner = draw(num_blocks - 1, num_pairs)
    partner = partner + (partner >= blocks[num_pairs:]).long()
    partner = torch.cat([blocks[:num_pairs], partner])
    edge_label_index = torch.stack(
        [table[blocks, columns], table[partner, others]]
    )
    edge_label = torch.cat([torch.ones(num_pairs), torch.zeros(num_pairs)])
    return edge_label_index, edge_label


def cluster_accuracy(
    scores: Tensor, train_y: Tensor, test_y: Tensor, num_blocks: int
) -> float:
    """Accuracy of assigning each test node to its best-scoring cluster.

    Test node ``t`` joins the cluster ``c`` that maximises the mean of
    ``scores[t, r]`` over the training nodes ``r`` of cluster ``c``. The
    rule depends only on which training nodes share a cluster, not on the
    names of the clusters, so it is as defined as the clusters are.

    Args:
        scores (torch.Tensor): Same-cluster logits, ``[T, R]``.
        train_y (torch.Tensor): The clusters of the training nodes, ``[R]``.
        test_y (torch.Tensor): The clusters of the test nodes, ``[T]``.
        num_blocks (int): The number of clusters.
    """
    one_hot = F.one_hot(train_y, num_blocks).to(scores.dtype)
    means = (scores @ one_hot) / one_hot.sum(0).clamp(min=1)
    return float((means.argmax(dim=1) == test_y).double().mean())


def load_task(seed: int, settings: Settings) -> Task:
    """Build the graph, split, PE and held-out pairs of one trial.

    Args:
        seed (int): Seeds the graph, the split and the held-out pairs.
        settings (Settings): Graph sizes, ``k`` and the split fractions.
    """
    data = symmetric_blocks(
        settings.num_blocks,
        settings.block_size,
        settings.p,
        list(settings.bridges),
        seed,
    )
    data = AddLaplacianPE(k=settings.k, seed=seed)(data)
    train, val, test = orbit_split(
        data.orbit,
        val=settings.val_fraction,
        test=settings.test_fraction,
        seed=seed,
    )
    generator = torch.Generator().manual_seed(seed)
    nodes = [mask.nonzero().view(-1) for mask in (train, val, test)]
    pairs = [
        sample_pairs(
            data.y,
            data.orbit,
            held_out,
            settings.pairs,
            settings.num_blocks,
            generator,
        )
        for held_out in nodes[1:]
    ]
    return Task(data, *nodes, *pairs[0], *pairs[1])


def _scores(
    model: LinkPredictor, embedding: Any, rows: Tensor, cols: Tensor
) -> Tensor:
    # [len(rows), len(cols)]: the logit of every (row, col) pair.
    pairs = torch.stack(
        [
            rows.repeat_interleave(cols.numel()),
            cols.repeat(rows.numel()),
        ]
    )
    return model.decode(embedding, pairs).view(rows.numel(), cols.numel())


@torch.no_grad()
def _evaluate(
    model: LinkPredictor, embedding: Any, task: Task, num_blocks: int
) -> dict[str, float]:
    y = task.data.y
    val = _scores(model, embedding, task.val, task.train)
    test = _scores(model, embedding, task.test, task.train)
    result = {
        "val_node_acc": cluster_accuracy(
            val, y[task.train], y[task.val], num_blocks
        ),
        "test_node_acc": cluster_accuracy(
            test, y[task.train], y[task.test], num_blocks
        ),
    }
    for split in ("val", "test"):
        pairs = getattr(task, f"{split}_pairs")
        label = getattr(task, f"{split}_pair_label")
        predicted = (model.decode(embedding, pairs) > 0).float()
        result[f"{split}_pair_acc"] = float(
            (predicted == label).double().mean()
        )
    return result


def _key(result: dict[str, float]) -> tuple[float, float]:
    # Model selection: validation node accuracy, which saturates early on
    # easy graphs, then validation pair accuracy.
    return result["val_node_acc"], result["val_pair_acc"]


def train_one(
    model: LinkPredictor, task: Task, settings: Settings, seed: int
) -> dict[str, Any]:
    """Train ``model`` on one task; report the best-validation epoch.

    Every epoch draws ``settings.pairs`` same-cluster and as many
    cross-cluster pairs of training nodes (:func:`sample_pairs`), encodes
    the whole graph once and takes one Adam step on the BCE of their
    logits. Before each step, and after the last, the current embeddings
    are evaluated; the test numbers of the evaluation with the best
    validation node accuracy, ties broken by validation pair accuracy and
    then by the earlier epoch, are returned. A model without parameters is
    evaluated once.

    Args:
        model (LinkPredictor): The pair scorer.
        task (Task): The trial.
        settings (Settings): Epochs, learning rate and pairs per epoch.
        seed (int): Seeds the training pairs.

    Returns:
        dict: ``test_node_acc``, ``val_node_acc``, ``test_pair_acc``,
        ``val_pair_acc``, ``best_epoch``, ``seconds_per_epoch`` and
        ``num_parameters``.
    """
    data = task.data
    parameters = [p for p in model.parameters() if p.requires_grad]
    num_parameters = sum(p.numel() for p in parameters)
    epochs = settings.epochs if parameters else 0
    optimizer = None
    if parameters:
        optimizer = torch.optim.Adam(parameters, lr=settings.lr)
    generator = torch.Generator().manual_seed(seed + 1)

    best: dict[str, float] | None = None
    best_epoch = 0
    seconds = 0.0
    for epoch in range(epochs + 1):
        start = time.perf_counter()
        model.train()
        embedding = model.encode_data(data)
        train_time = time.perf_counter() - start
        detached = type(embedding)(
            *(None if t is None else t.detach() for t in embedding)
        )
        result = _evaluate(model, detached, task, settings.num_blocks)
        if best is None or _key(result) > _key(best):
            best, best_epoch = result, epoch
        if epoch == epochs:
            break
        start = time.perf_counter()
        pairs, label = sample_pairs(
            data.y,
            data.orbit,
            task.train,
            settings.pairs,
            settings.num_blocks,
            generator,
        )
        logits = model.decode(embedding, pairs)
        loss = F.binary_cross_entropy_with_logits(logits, label)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seconds += train_time + time.perf_counter() - start

    return {
        **best,
        "best_epoch": best_epoch,
        "seconds_per_epoch": seconds / epochs if epochs else 0.0,
        "num_parameters": num_parameters,
    }


def run_node_clustering(
    models: Sequence[str] = DEFAULT_MODELS,
    trials: int = 10,
    settings: Settings | None = None,
    out: Path = Path("benchmarks/results/node_clustering"),
    first_seed: int = 0,
) -> list[dict[str, Any]]:
    """Run every model on every seed, resuming finished ones.

    Args:
        models (Sequence[str]): Model names from :func:`build_model`.
        trials (int): Seeds ``first_seed, ..., first_seed + trials - 1``.
        settings (Settings, optional): Graph and training settings.
        out (Path): The output directory.
        first_seed (int): The first seed, non-negative.

    Returns:
        list[dict]: Every row of ``results.jsonl``, old and new.
    """
    settings = settings or Settings()
    check_models(models)
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"'trials' must be a positive int, got {trials!r}")
    if (
        isinstance(first_seed, bool)
        or not isinstance(first_seed, int)
        or first_seed < 0
    ):
        raise ValueError(
            f"'first_seed' must be a non-negative int, got {first_seed!r}"
        )
    check_settings(out, settings)
    results = ResultsFile(out / "results.jsonl")
    rows = results.read()
    done = {(r["model"], r["seed"]) for r in rows}
    skipped = sum(
        (name, seed) in done
        for seed in range(first_seed, first_seed + trials)
        for name in models
    )
    if skipped:
        log.info("resuming: %d finished trials found in %s", skipped, out)

    code = None
    for seed in range(first_seed, first_seed + trials):
        todo = [name for name in models if (name, seed) not in done]
        if not todo:
            continue
        # Timings belong to code: every row names the commit it ran on.
        code = code or code_version()
        task = load_task(seed, settings)
        for name in todo:
            torch.manual_seed(seed)
            model = build_model(name, k=settings.k)
            row = {
                "model": name,
                "seed": seed,
                "threads": torch.get_num_threads(),
                "code": code,
                **train_one(model, task, settings, seed),
            }
            results.append(row)
            rows.append(row)
            log.info(
                "seed %d %s: test node accuracy %.3f, pair accuracy %.3f",
                seed,
                name,
                row["test_node_acc"],
                row["test_pair_acc"],
            )
    return rows


def summarize(
    rows: Sequence[dict[str, Any]], models: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Aggregate trials into one row per model.

    Args:
        rows (Sequence[dict]): Rows of ``results.jsonl``.
        models (Sequence[str], optional): Which models, in order.

    Returns:
        list[dict]: ``model``, ``node_acc`` and ``pair_acc`` (mean and
        sample std over trials as ``*_mean``, ``*_std``; std 0 for one
        trial), ``trials``, ``seconds_per_epoch`` and ``num_parameters``.
    """
    models = list(models or dict.fromkeys(r["model"] for r in rows))
    summary = []
    for model in models:
        chosen = [r for r in rows if r["model"] == model]
        if not chosen:
            continue
        entry: dict[str, Any] = {"model": model, "trials": len(chosen)}
        for metric in ("node_acc", "pair_acc"):
            values = np.array([r[f"test_{metric}"] for r in chosen])
            entry[f"{metric}_mean"] = float(values.mean())
            entry[f"{metric}_std"] = (
                float(values.std(ddof=1)) if len(values) > 1 else 0.0
            )
        entry["seconds_per_epoch"] = float(
            np.mean([r["seconds_per_epoch"] for r in chosen])
        )
        entry["num_parameters"] = int(chosen[0]["num_parameters"])
        summary.append(entry)
    return summary


def to_markdown(summary: Sequence[dict[str, Any]]) -> str:
    """Render the summary as a Markdown table.

    Args:
        summary (Sequence[dict]): The output of :func:`summarize`.
    """
    lines = [
        "| model | node accuracy | pair accuracy | trials | s / epoch "
        "| parameters |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in summary:
        seconds = (
            f"{row['seconds_per_epoch']:.3f}"
            if row["num_parameters"]
            else "- (untrained)"
        )
        lines.append(
            f"| {row['model']} "
            f"| {row['node_acc_mean']:.3f} +- {row['node_acc_std']:.3f} "
            f"| {row['pair_acc_mean']:.3f} +- {row['pair_acc_std']:.3f} "
            f"| {row['trials']} | {seconds} | {row['num_parameters']:,} |"
        )
    return "\n".join(lines) + "\n"


def describe_model(name: str) -> str:
    """Describe a model of this benchmark in one line.

    Args:
        name (str): A zoo model name.
    """
    kind = (
        "sign invariant"
        if name in SIGN_INVARIANT
        else "positional (sign equivariant or raw eigenvectors)"
    )
    return f"{_describe_zoo_model(name)}; {kind}"


def write_outputs(
    rows: Sequence[dict[str, Any]],
    out: Path,
    argv: Sequence[str],
    settings: Settings,
    models: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Write ``results.csv``, ``results.md`` and ``results.png``.

    Args:
        rows (Sequence[dict]): Rows of ``results.jsonl``.
        out (Path): The output directory.
        argv (Sequence[str]): The command-line arguments, for the record.
        settings (Settings): The settings of the run.
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
    first = ["model", "seed"]
    fields = sorted(
        {key for row in rows for key in row},
        key=lambda key: (first.index(key) if key in first else 2, key),
    )
    with open(paths["csv"], "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in sorted(rows, key=lambda r: (r["model"], r["seed"])):
            writer.writerow(row)

    summary = summarize(rows, models)
    command = " ".join(["python -m benchmarks.node_clustering", *argv])
    codes = sorted({row.get("code", "unknown") for row in rows})
    threads = sorted({str(row.get("threads", "unknown")) for row in rows})
    num_nodes = settings.num_blocks * settings.block_size
    descriptions = "\n".join(
        f"- `{row['model']}`: {describe_model(row['model'])}"
        for row in summary
    )
    header = (
        "# Node clustering with symmetric clusters\n\n"
        f"Command: `{command}` ({time.strftime('%Y-%m-%d')}).\n"
        f"Machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, "
        f"PyG {torch_geometric.__version__}, Python "
        f"{platform.python_version()}; torch threads: "
        f"{', '.join(threads)}.\n"
        f"Code: {'; '.join(codes)}.\n\n"
        f"Graphs: `symmetric_blocks({settings.num_blocks}, "
        f"{settings.block_size}, p={settings.p}, "
        f"num_bridges={list(settings.bridges)}, seed)`, {num_nodes} nodes, "
        f"a fresh graph per trial; PE: k = {settings.k} eigenvectors of "
        f"the normalized Laplacian. Nodes split by orbit "
        f"{1 - settings.val_fraction - settings.test_fraction:.0%} / "
        f"{settings.val_fraction:.0%} / {settings.test_fraction:.0%}; "
        f"{settings.epochs} epochs of Adam (lr {settings.lr}), each on "
        f"{settings.pairs} fresh same-cluster and as many cross-cluster "
        "pairs of training nodes.\n\n"
        "Test numbers at the epoch of best validation node accuracy, mean "
        "+- sample std over trials; every model sees the same graphs, "
        "splits, PE and training pairs in each trial. Node accuracy: each "
        "test node joins the cluster whose training nodes it scores "
        f"highest on average (chance {1 / settings.num_blocks:.3f}). Pair "
        "accuracy: the sign of the logit on balanced pairs of test nodes "
        "(chance 0.5). Sign-invariant models give the copies of a node "
        "identical embeddings, so every cluster scores alike for them "
        "(their node accuracy is decided by rounding noise) and their "
        "expected pair accuracy is one half. "
        "Seconds per epoch are training only (no evaluation).\n\n"
    )
    paths["md"].write_text(
        header + to_markdown(summary) + "\nModels:\n\n" + descriptions + "\n"
    )
    _plot(summary, paths["png"], 1 / settings.num_blocks)
    return paths


def _plot(
    summary: Sequence[dict[str, Any]], path: Path, chance: float
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = [row["model"] for row in summary]
    figure, axes = plt.subplots(figsize=(1.2 + 0.9 * len(models), 3.6))
    positions = np.arange(len(models))
    for offset, metric, label, level in [
        (-0.2, "node_acc", "node accuracy", chance),
        (0.2, "pair_acc", "pair accuracy", 0.5),
    ]:
        bars = axes.bar(
            positions + offset,
            [row[f"{metric}_mean"] for row in summary],
            0.4,
            yerr=[row[f"{metric}_std"] for row in summary],
            capsize=3,
            label=label,
        )
        axes.hlines(
            level,
            -0.5,
            len(models) - 0.5,
            colors=bars.patches[0].get_facecolor(),
            linewidth=0.8,
            linestyles="--",
        )
    axes.set_xticks(positions)
    axes.set_xticklabels(models, rotation=30, ha="right")
    axes.set_xlim(-0.5, len(models) - 0.5)
    axes.set_ylim(0.0, 1.05)
    axes.set_ylabel("test accuracy (dashed: chance)")
    axes.legend(loc="upper left", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of the benchmark."""
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.node_clustering",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=list(DEFAULT_MODELS),
        help=f"any of {', '.join(MODEL_NAMES)}",
    )
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--k", type=int, default=defaults.k)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument(
        "--blocks",
        type=int,
        default=defaults.num_blocks,
        help="clusters, a power of two",
    )
    parser.add_argument("--block-size", type=int, default=defaults.block_size)
    parser.add_argument(
        "--p",
        type=float,
        default=defaults.p,
        help="edge probability inside a block",
    )
    parser.add_argument(
        "--bridges",
        type=int,
        nargs="+",
        default=list(defaults.bridges),
        help="bridges per hypercube direction, log2(blocks) counts",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=defaults.pairs,
        help="training pairs of each kind per epoch",
    )
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: small graphs use more poorly)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output directory (default: benchmarks/results/"
        "node_clustering, or node_clustering_quick with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"fewer trials and epochs: {QUICK}",
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
    trials = args.trials or (QUICK["trials"] if args.quick else 10)
    epochs = args.epochs or (QUICK["epochs"] if args.quick else 100)
    out = args.out or Path(
        "benchmarks/results/node_clustering" + ("_quick" if args.quick else "")
    )
    settings = Settings(
        epochs=epochs,
        k=args.k,
        lr=args.lr,
        num_blocks=args.blocks,
        block_size=args.block_size,
        p=args.p,
        bridges=tuple(args.bridges),
        pairs=args.pairs,
    )
    previous_threads = torch.get_num_threads()
    if args.threads < 1:
        log.error("'threads' must be a positive int, got %d", args.threads)
        return 2
    torch.set_num_threads(args.threads)
    try:
        rows = run_node_clustering(
            args.models, trials, settings, out, first_seed=args.seed
        )
    except (ValueError, TypeError) as error:
        log.error("%s", error)
        return 2
    finally:
        torch.set_num_threads(previous_threads)
    seeds = range(args.seed, args.seed + trials)
    chosen = [
        r for r in rows if r["seed"] in seeds and r["model"] in args.models
    ]
    paths = write_outputs(chosen, out, argv, settings, args.models)
    if not args.quiet:
        print(paths["md"].read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
