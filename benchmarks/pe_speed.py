"""Laplacian PE speed: pyg_signeq against PyG, on the same graphs.

Runs :class:`pyg_signeq.transforms.AddLaplacianPE` and PyG's
``AddLaplacianEigenvectorPE(k, is_undirected=True)`` one after the other in
one process on each graph, and records wall time, peak resident memory,
the largest residual ``||L v - lambda v||`` (measured by this script in
float64 for both) and the largest eigenvalue difference between the two.
A PyG run that exceeds ``--cap`` seconds is stopped and recorded as
capped; pyg_signeq always runs to the end. Graphs of at most
``--repeat-max-nodes`` nodes are timed ``--repeats`` times, the methods
taking turns, and reported as mean and sample std.

Usage::

    python -m benchmarks.pe_speed                 # the README's table
    python -m benchmarks.pe_speed --sizes 10000 --families ba --repeats 5
"""

from __future__ import annotations

import argparse
import csv
import datetime
import logging
import os
import platform
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch_geometric
from torch_geometric.data import Data
from torch_geometric.transforms import AddLaplacianEigenvectorPE

from benchmarks._provenance import code_version, cpu_description
from pyg_signeq.data import barabasi_albert, random_regular
from pyg_signeq.spectral.laplacian import build_laplacian
from pyg_signeq.transforms import AddLaplacianPE

log = logging.getLogger("benchmarks.pe_speed")

FAMILIES: dict[str, Callable[[int, int], torch.Tensor]] = {
    "ba": lambda n, seed: barabasi_albert(n, 5, seed),
    "rr": lambda n, seed: random_regular(n, 10, seed),
}
FAMILY_NAMES = {
    "ba": "Barabasi-Albert, m = 5",
    "rr": "random 10-regular",
}
METHODS = ("pyg_signeq", "pyg")
FIELDS = (
    "family",
    "num_nodes",
    "num_edges",
    "k",
    "method",
    "solver",
    "status",
    "runs",
    "seconds",
    "seconds_std",
    "peak_rss_mb",
    "max_residual",
    "max_eig_val_diff",
)


class _Capped(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _Capped


def _rss_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _timed(fn: Callable[[], object], cap: float) -> tuple[object, float, str]:
    """Run ``fn`` under a wall-clock cap; return result, seconds, status."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, cap)
    start = time.perf_counter()
    try:
        result, status = fn(), "ok"
    except _Capped:
        result, status = None, "capped"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return result, time.perf_counter() - start, status


def _reset_peak_rss() -> bool:
    # Writing 5 to clear_refs resets the peak resident set size (Linux).
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def _residual_and_vals(
    lap_matrix, vecs: np.ndarray
) -> tuple[float, np.ndarray]:
    """Float64 residuals of unit vectors, with Rayleigh quotients."""
    vecs = vecs / np.linalg.norm(vecs, axis=0)
    lv = lap_matrix @ vecs
    vals = np.einsum("ij,ij->j", vecs, lv)
    res = np.linalg.norm(lv - vecs * vals, axis=0)
    return float(res.max()), np.sort(vals)


def run_pe_speed(
    sizes: Sequence[int] = (10_000, 100_000, 1_000_000),
    families: Sequence[str] = ("ba", "rr"),
    k: int = 16,
    cap: float = 300.0,
    seed: int = 0,
    methods: Sequence[str] = METHODS,
    repeats: int = 3,
    repeat_max_nodes: int = 100_000,
) -> list[dict]:
    """Time both transforms on every (family, size); return one row each.

    Args:
        sizes: Numbers of nodes.
        families: Keys of :data:`FAMILIES`.
        k: Number of eigenvectors.
        cap: Seconds after which a PyG run is stopped and recorded as
            capped.
        seed: Seed of the graphs and of the solvers.
        methods: Subset of :data:`METHODS`.
        repeats: Timed runs per cell on graphs of at most
            ``repeat_max_nodes`` nodes (larger graphs run once); the two
            methods alternate, and a row reports the mean and sample std.
        repeat_max_nodes: Largest graph that is run ``repeats`` times.

    Returns:
        list[dict]: Rows with the keys of :data:`FIELDS`.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int):
        raise TypeError(f"'repeats' must be an int, got {repeats!r}")
    if repeats < 1:
        raise ValueError(f"'repeats' must be at least 1, got {repeats}")
    for family in families:
        if family not in FAMILIES:
            raise ValueError(
                f"'families' must hold names from {sorted(FAMILIES)}, got "
                f"{family!r}"
            )
    for method in methods:
        if method not in METHODS:
            raise ValueError(
                f"'methods' must hold names from {METHODS}, got {method!r}"
            )
    rows = []
    for family in families:
        for n in sizes:
            edge_index = FAMILIES[family](n, seed)
            data = Data(edge_index=edge_index, num_nodes=n)
            # The reference operator (on every node; these graphs have no
            # isolated nodes) that both results are checked against.
            lap = build_laplacian(edge_index, n).matrix
            runs = repeats if n <= repeat_max_nodes else 1
            transforms = {
                "pyg_signeq": AddLaplacianPE(k, seed=seed),
                "pyg": AddLaplacianEigenvectorPE(
                    k, attr_name="pe", is_undirected=True
                ),
            }
            times: dict[str, list[float]] = {m: [] for m in methods}
            peaks = dict.fromkeys(methods, float("nan"))
            status = dict.fromkeys(methods, "ok")
            outs: dict[str, object] = {}
            # The methods take turns, so that a slow spell of a shared
            # machine does not fall on one of them only.
            for _ in range(runs):
                for method in methods:
                    if status[method] != "ok":
                        continue
                    tracked = _reset_peak_rss()
                    # Only PyG is capped: ours always runs to the end, so
                    # every row of ours has a time and a residual.
                    limit = cap if method == "pyg" else 1e9
                    out, seconds, status[method] = _timed(
                        lambda t=transforms[method], d=data: t(d), limit
                    )
                    if tracked:
                        peaks[method] = np.fmax(
                            peaks[method], _rss_mb("VmHWM")
                        )
                    times[method].append(seconds)
                    outs[method] = out
                    log.info(
                        "%s n=%d %s: %s in %.1fs",
                        family,
                        n,
                        method,
                        status[method],
                        seconds,
                    )
            ours_vals = None
            for method in methods:
                seconds = times[method]
                row = {
                    "family": family,
                    "num_nodes": n,
                    "num_edges": edge_index.size(1) // 2,
                    "k": k,
                    "method": method,
                    "solver": "",
                    "status": status[method],
                    "runs": len(seconds),
                    "seconds": float(np.mean(seconds)),
                    "seconds_std": (
                        float(np.std(seconds, ddof=1))
                        if len(seconds) > 1
                        else float("nan")
                    ),
                    "peak_rss_mb": float(peaks[method]),
                    "max_residual": float("nan"),
                    "max_eig_val_diff": float("nan"),
                }
                if status[method] == "ok":
                    vecs = outs[method].pe.double().numpy()
                    res, vals = _residual_and_vals(lap, vecs)
                    row["max_residual"] = res
                    if method == "pyg_signeq":
                        last = transforms[method].last_result
                        row["solver"] = last.solver
                        ours_vals = vals
                    else:
                        row["solver"] = "arpack"
                    if ours_vals is not None:
                        diff = np.abs(vals - ours_vals).max()
                        row["max_eig_val_diff"] = float(diff)
                rows.append(row)
    return rows


def _fmt(value: float, spec: str) -> str:
    return "-" if value != value else format(value, spec)


def to_markdown(rows: Sequence[dict], cap: float) -> str:
    """A table with one line per graph, the two methods side by side."""
    lines = [
        "| graph | nodes | edges | pyg_signeq s | PyG s | speed-up | "
        "pyg_signeq residual | PyG residual | max eigenvalue diff | "
        "pyg_signeq peak RSS MB | PyG peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by_key: dict[tuple, dict] = {}
    for row in rows:
        key = (row["family"], row["num_nodes"])
        by_key.setdefault(key, {"edges": row["num_edges"]})[row["method"]] = (
            row
        )
    for (family, n), cell in by_key.items():
        ours = cell.get("pyg_signeq")
        pyg = cell.get("pyg")

        def seconds(r):
            if r is None:
                return "not run"
            if r["status"] == "capped":
                return f"> {cap:.0f} (capped)"
            if r["runs"] > 1:
                return f"{r['seconds']:.2f} +- {r['seconds_std']:.2f}"
            return f"{r['seconds']:.1f}"

        if ours and pyg and ours["status"] == "ok":
            ratio = pyg["seconds"] / ours["seconds"]
            prefix = "> " if pyg["status"] == "capped" else ""
            speedup = f"{prefix}{ratio:.1f}x"
        else:
            speedup = "-"

        def value(r, name, spec):
            return _fmt(float("nan") if r is None else r[name], spec)

        cells = [
            FAMILY_NAMES[family],
            f"{n:,}",
            f"{cell['edges']:,}",
            seconds(ours),
            seconds(pyg),
            speedup,
            value(ours, "max_residual", ".1e"),
            value(pyg, "max_residual", ".1e"),
            value(pyg, "max_eig_val_diff", ".1e"),
            value(ours, "peak_rss_mb", ".0f"),
            value(pyg, "peak_rss_mb", ".0f"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _runs_text(rows: Sequence[dict]) -> str:
    """How often the cells were timed, read off the rows themselves."""
    repeated = [r for r in rows if r["runs"] > 1]
    if not repeated:
        return "One run per cell."
    largest = max(r["num_nodes"] for r in repeated)
    runs = max(r["runs"] for r in repeated)
    return (
        f"Graphs of at most {largest:,} nodes are timed {runs} times, the "
        "two methods taking turns (mean +- sample std; the speed-up divides "
        "the means); larger ones once."
    )


def write_results(
    rows: Sequence[dict],
    out: Path,
    cap: float,
    argv: Sequence[str],
    code: str | None = None,
) -> tuple[Path, Path]:
    """Write ``pe_speed.csv`` and ``pe_speed.md`` under ``out``.

    ``code`` names the code measured (default: the checkout as it is now);
    the Markdown header also names the CPU and its last-level cache, on
    which the sparse products' speed depends.
    """
    if code is None:
        code = code_version()
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "pe_speed.csv"
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    md_path = out / "pe_speed.md"
    command = " ".join(["python -m benchmarks.pe_speed", *argv])
    header = (
        "# Laplacian PE speed, k = {k}\n\n"
        "Command: `{command}` ({date}).\n"
        "Code: {code}.\n"
        "Machine: {cpus} CPU cores ({cpu}), torch {torch} with {threads} "
        "threads, PyG {pyg}, Python {py}.\n\n"
        "Both transforms run on the same graph in the same process, one "
        "after the other. Residuals `max ||L v - lambda v||` over unit "
        "columns are measured here in float64 for both; the eigenvalue "
        "difference compares sorted Rayleigh quotients. Peak RSS is the "
        "whole process's peak during the call (graph included). A capped "
        "PyG run was stopped after {cap:.0f} s. {runs} Single times on a "
        "shared machine vary by some 10-20%.\n\n"
    ).format(
        k=rows[0]["k"] if rows else "-",
        command=command,
        date=datetime.date.today().isoformat(),
        code=code,
        cpus=os.cpu_count(),
        cpu=cpu_description(),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        pyg=torch_geometric.__version__,
        py=platform.python_version(),
        cap=cap,
        runs=_runs_text(rows),
    )
    md_path.write_text(header + to_markdown(rows, cap))
    return csv_path, md_path


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.pe_speed", description=__doc__
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000]
    )
    parser.add_argument(
        "--families", nargs="+", default=["ba", "rr"], choices=FAMILIES
    )
    parser.add_argument(
        "--methods", nargs="+", default=list(METHODS), choices=METHODS
    )
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument(
        "--cap", type=float, default=300.0, help="seconds per PyG run"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timed runs per cell on graphs of at most --repeat-max-nodes",
    )
    parser.add_argument("--repeat-max-nodes", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(message)s",
    )
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    # The code as it is when the measurement starts.
    code = code_version()
    rows = run_pe_speed(
        args.sizes,
        args.families,
        args.k,
        args.cap,
        args.seed,
        args.methods,
        args.repeats,
        args.repeat_max_nodes,
    )
    _, md_path = write_results(rows, args.out, args.cap, argv, code)
    if not args.quiet:
        print(md_path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
