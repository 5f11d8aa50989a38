"""The public entry point: smallest non-trivial Laplacian eigenpairs."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from pyg_signeq._warnings import warn_once
from pyg_signeq.spectral.laplacian import (
    NORMALIZATIONS,
    SymmetricLaplacian,
    build_laplacian,
    validate_graph,
)
from pyg_signeq.spectral.solvers import (
    Eigenpairs,
    NotConvergedError,
    rayleigh_ritz,
    solve_chebyshev,
    solve_dense,
    solve_lanczos,
    solve_shift_invert,
)

log = logging.getLogger(__name__)

SOLVERS = ("auto", "dense", "lanczos", "chebyshev", "shift_invert")

#: Graphs with at most this many non-isolated nodes are solved densely by
#: ``solver='auto'``; dense ``eigh`` takes about a second at this size.
DENSE_MAX_NODES = 2048

#: Largest graph (non-isolated nodes) that ``solver='dense'`` accepts: its
#: float64 matrix takes about 3 GB.
DENSE_LIMIT_NODES = 20_000

#: Residual tolerances used when ``tol`` is not given. Chebyshev stops at
#: ``1e-5``, where its float32 filter still makes full progress; PyG's
#: ARPACK results, stored in float32, measure a few ``1e-6``.
DEFAULT_TOL = {
    "dense": 1e-8,
    "lanczos": 1e-6,
    "chebyshev": 1e-5,
    "shift_invert": 1e-6,
}


@dataclass(frozen=True)
class LaplacianEig:
    """Result of :func:`laplacian_eig`.

    Unpacks as ``eig_vals, eig_vecs = laplacian_eig(...)``; the other
    attributes describe how trustworthy the columns are.

    Attributes:
        eig_vals (torch.Tensor): Ascending eigenvalues ``[k]``, zero in
            padded columns (every real one is positive, since trivial
            eigenvalues are excluded).
        eig_vecs (torch.Tensor): Eigenvectors ``[N, k]``, zero in padded
            columns and in the rows of isolated nodes.
        num_valid (int): How many leading columns are real; the rest are
            zero padding.
        solver (str): The solver that produced the result.
        max_residual (float): ``max_i ||L v_i - lambda_i v_i||`` over real
            columns, measured in float64 on the final vectors.
        orthogonality (float): ``max |V^T V - I|`` over real columns (for
            ``'rw'``: of the symmetric problem's vectors).
        cutoff_gap (float, optional): ``lambda_{k+1} - lambda_k``; :obj:`None`
            when the graph has no further non-trivial eigenvalue.
        degenerate (bool): Whether two consecutive eigenvalues among the
            ``k + 1`` smallest are closer than the solver can separate. The
            affected columns are then defined only up to a rotation, which
            sign equivariance does not remove.
        seconds (float): Wall time of the solve.
    """

    eig_vals: torch.Tensor
    eig_vecs: torch.Tensor
    num_valid: int
    solver: str
    max_residual: float
    orthogonality: float
    cutoff_gap: float | None
    degenerate: bool
    seconds: float

    def __iter__(self) -> Iterator[torch.Tensor]:
        yield self.eig_vals
        yield self.eig_vecs

    @property
    def mask(self) -> torch.Tensor:
        """Boolean ``[k]`` mask of the real (not padded) columns."""
        k = self.eig_vals.numel()
        index = torch.arange(k, device=self.eig_vals.device)
        return index < self.num_valid


def check_eig_options(
    k: int,
    normalization: str | None,
    solver: str,
    tol: float | None,
    seed: int,
) -> None:
    """Validate the options of :func:`laplacian_eig`, naming the culprit.

    Raises:
        TypeError: If ``k`` or ``seed`` is not an int.
        ValueError: If an option is out of range or unknown.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"'k' must be an int, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"'k' must be at least 1, got {k}")
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"'normalization' must be one of {NORMALIZATIONS}, got "
            f"{normalization!r}"
        )
    if solver not in SOLVERS:
        raise ValueError(f"'solver' must be one of {SOLVERS}, got {solver!r}")
    if tol is not None and not (isinstance(tol, (int, float)) and tol > 0):
        raise ValueError(f"'tol' must be a positive number, got {tol!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"'seed' must be an int, got {type(seed).__name__}")


def _pick_solver(solver: str, n: int, num: int, available: int) -> str:
    # Iterative solvers need room for a block or Krylov space beyond the
    # wanted pairs; below that, dense is both exact and instant.
    too_small = available < 2 * num + 16
    if solver == "dense" and n > DENSE_LIMIT_NODES:
        raise ValueError(
            f"solver='dense' builds an [N, N] matrix and accepts at most "
            f"{DENSE_LIMIT_NODES} non-isolated nodes, got {n}; use "
            "'chebyshev' or 'lanczos'"
        )
    if solver == "auto":
        if n <= DENSE_MAX_NODES or (too_small and n <= DENSE_LIMIT_NODES):
            return "dense"
        # Many small components can leave too few pairs for a block even on
        # a large graph; ARPACK only needs a Krylov space beyond them.
        return "lanczos" if too_small else "chebyshev"
    if solver != "dense" and too_small:
        log.info(
            "graph with %d nodes is too small for solver=%r; using 'dense'",
            n,
            solver,
        )
        return "dense"
    return solver


def laplacian_eig(
    edge_index: torch.Tensor,
    num_nodes: int,
    k: int,
    edge_weight: torch.Tensor | None = None,
    normalization: str | None = "sym",
    solver: str = "auto",
    tol: float | None = None,
    seed: int = 0,
) -> LaplacianEig:
    r"""The ``k`` smallest non-trivial eigenpairs of a graph Laplacian.

    Computes eigenpairs of

    .. math::
        L_{\mathrm{sym}} = I - D^{-1/2} A D^{-1/2}, \quad
        L_{\mathrm{rw}} = I - D^{-1} A \quad\text{or}\quad L = D - A

    for ``normalization='sym'``, ``'rw'`` or :obj:`None`. The graph is
    treated as undirected: a one-way edge counts in both directions and, where
    both directions are given, the larger weight is kept; repeated entries of
    the same directed edge add up; self-loops are ignored.

    Every eigenvalue-0 eigenvector (one per connected component, constant on
    it up to degree scaling) is excluded, so no column is a component
    indicator. Nodes without edges get zero rows. The remaining eigenpairs
    of all components are ranked together: a small component has few and
    large eigenvalues (a single edge has only :math:`\lambda = 2` under
    ``'sym'``), so its nodes usually get zero rows in the ``k`` smallest
    columns, which belong to the large components, and get non-zero entries
    only in columns of their own component's eigenvectors.

    If fewer than ``k`` non-trivial eigenpairs exist, the output is padded
    with zero columns and zero eigenvalues (a warning is issued once);
    :attr:`LaplacianEig.num_valid` and :attr:`LaplacianEig.mask` tell which
    columns are real.

    For ``'sym'`` and :obj:`None` the columns are orthonormal. For ``'rw'``
    they are :math:`D^{-1/2} u` for the ``'sym'`` eigenvectors :math:`u`,
    rescaled to unit norm, so they are :math:`D`-orthogonal.

    Solvers (``solver='auto'`` picks ``'dense'`` up to
    :data:`DENSE_MAX_NODES` non-isolated nodes, ``'chebyshev'`` above):

    - ``'dense'``: LAPACK on the dense matrix.
    - ``'lanczos'``: ARPACK's implicitly restarted Lanczos on the deflated
      operator, with an enlarged Krylov space and no shift-invert.
    - ``'chebyshev'``: Chebyshev-filtered subspace iteration in torch, on
      the device of ``edge_index`` (GPU tensors stay on the GPU), with
      float32 filtering and float64 Rayleigh-Ritz steps.
    - ``'shift_invert'``: ARPACK on a sparse LU factor of the Laplacian,
      the fastest choice on mesh-like graphs (grids, meshes, road
      networks), and very slow on expander-like ones, so never automatic.

    Every result is checked by a float64 Rayleigh-Ritz step against the
    undeflated Laplacian: residuals :math:`\|L v - \lambda v\|` must stay
    below ``tol`` and columns must be orthonormal. If ``'chebyshev'`` misses
    that, ``'lanczos'`` is tried (logged); if that fails too, a
    :class:`RuntimeError` is raised.

    Args:
        edge_index (torch.Tensor): Graph connectivity.
        num_nodes (int): The number of nodes.
        k (int): The number of eigenpairs.
        edge_weight (torch.Tensor, optional): Non-negative edge weights of
            any real dtype. (default: :obj:`None`)
        normalization (str, optional): ``'sym'``, ``'rw'`` or :obj:`None`.
            (default: ``'sym'``)
        solver (str): ``'auto'``, ``'dense'``, ``'lanczos'``,
            ``'chebyshev'`` or ``'shift_invert'``. (default: ``'auto'``)
        tol (float, optional): Largest accepted residual norm of a unit
            eigenvector. (default: :obj:`None`: ``1e-8`` for ``'dense'``,
            ``1e-5`` for ``'chebyshev'``, ``1e-6`` otherwise)
        seed (int): Seed of the iterative solvers' start vectors; a fixed
            seed gives identical output. (default: ``0``)

    Returns:
        LaplacianEig: Eigenvalues, eigenvectors (float64, on the device of
        ``edge_index``) and diagnostics.

    Raises:
        TypeError: For non-integer ``edge_index``, ``k``, ``num_nodes`` or
            ``seed``.
        ValueError: For out-of-range or malformed arguments, naming the
            argument and its value.
        RuntimeError: If no solver reaches ``tol``.

    Shapes:
        - **edge_index**: :math:`[2, E]`
        - **edge_weight**: :math:`[E]` or :math:`[E, 1]`
        - **eig_vals**: :math:`[k]`
        - **eig_vecs**: :math:`[N, k]`
    """
    check_eig_options(k, normalization, solver, tol, seed)
    validate_graph(edge_index, num_nodes, edge_weight)
    device = edge_index.device
    start = time.perf_counter()

    lap = build_laplacian(edge_index, num_nodes, edge_weight, normalization)
    n = lap.matrix.shape[0]
    available = lap.num_nontrivial if n else 0
    num_valid = min(k, available)
    if num_valid < k:
        warn_once(
            "laplacian_eig.padding",
            f"'k'={k} exceeds the {available} non-trivial Laplacian "
            "eigenvectors of a graph; its PE is zero-padded (see "
            "LaplacianEig.num_valid). Further graphs with the same problem "
            "are padded silently.",
        )
    eig_vals = torch.zeros(k, dtype=torch.float64, device=device)
    eig_vecs = torch.zeros(num_nodes, k, dtype=torch.float64, device=device)
    if num_valid == 0:
        return LaplacianEig(
            eig_vals, eig_vecs, 0, "none", 0.0, 0.0, None, False, 0.0
        )

    # One pair beyond k measures the gap at the cut-off.
    num = num_valid + 1 if available > num_valid else num_valid
    chosen = _pick_solver(solver, n, num, available)
    pairs, chosen = _solve_checked(lap, num, chosen, tol, seed, device)

    vals = pairs.eig_vals
    vecs = pairs.eig_vecs
    gaps = torch.diff(vals)
    tol_used = tol if tol is not None else DEFAULT_TOL[chosen]
    # Two eigenvalues closer than the residual cannot be told apart, and
    # the solver's basis of their joint eigenspace is arbitrary.
    gap_tol = max(10.0 * tol_used, 1e-10)
    degenerate = bool((gaps <= gap_tol).any()) if gaps.numel() else False
    cutoff_gap = float(gaps[-1]) if num > num_valid else None
    if degenerate:
        where = (
            "at the cut-off"
            if cutoff_gap is not None and cutoff_gap <= gap_tol
            else "among the returned columns"
        )
        warn_once(
            "laplacian_eig.degenerate",
            f"repeated Laplacian eigenvalues {where} (smallest gap "
            f"{float(gaps.min()):.1e} <= {gap_tol:.1e}): the affected "
            "eigenvectors are defined only up to a rotation, which sign "
            "equivariance does not remove. Further occurrences are not "
            "reported.",
        )

    vals = vals[:num_valid]
    vecs = vecs[:, :num_valid]
    if normalization == "rw":
        scale = torch.from_numpy(1.0 / np.sqrt(lap.deg)).to(vecs)
        vecs = vecs * scale.unsqueeze(1)
        vecs = vecs / torch.linalg.vector_norm(vecs, dim=0)
    eig_vals[:num_valid] = vals.to(device)
    active = torch.from_numpy(lap.active).to(device)
    eig_vecs[active, :num_valid] = vecs.to(device)

    seconds = time.perf_counter() - start
    log.info(
        "laplacian_eig: N=%d k=%d solver=%s residual=%.1e in %.2fs",
        num_nodes,
        k,
        chosen,
        float(pairs.residuals[:num_valid].max()),
        seconds,
    )
    return LaplacianEig(
        eig_vals=eig_vals,
        eig_vecs=eig_vecs,
        num_valid=num_valid,
        solver=chosen,
        max_residual=float(pairs.residuals[:num_valid].max()),
        orthogonality=pairs.orthogonality,
        cutoff_gap=cutoff_gap,
        degenerate=degenerate,
        seconds=seconds,
    )


def _solve_checked(
    lap: SymmetricLaplacian,
    num: int,
    solver: str | None,
    tol: float | None,
    seed: int,
    device: torch.device,
) -> tuple[Eigenpairs, str]:
    """Run ``solver``, verify its output and fall back where it fails."""
    chain = {
        "chebyshev": "lanczos",
        "lanczos": None,
        "dense": None,
        "shift_invert": None,
    }
    failures = []
    while solver is not None:
        tol_used = tol if tol is not None else DEFAULT_TOL[solver]
        try:
            if solver == "dense":
                basis = solve_dense(lap, num)
            elif solver == "lanczos":
                basis = solve_lanczos(lap, num, tol_used, seed)
            elif solver == "shift_invert":
                basis = solve_shift_invert(lap, num, tol_used, seed)
            else:
                basis = solve_chebyshev(lap, num, tol_used, seed, device)
        except NotConvergedError as err:
            failures.append(f"{solver}: {err}")
        else:
            pairs = rayleigh_ritz(lap, basis.to(device), num)
            worst = float(pairs.residuals.max())
            if worst <= tol_used and pairs.orthogonality <= 1e-8:
                return pairs, solver
            failures.append(
                f"{solver}: residual {worst:.1e} (tol {tol_used:.1e}), "
                f"orthogonality error {pairs.orthogonality:.1e}"
            )
        following = chain[solver]
        if following is not None:
            log.warning(
                "eigensolver %r failed (%s); falling back to %r",
                solver,
                failures[-1],
                following,
            )
        solver = following
    raise RuntimeError(
        "no eigensolver reached the tolerance: "
        + "; ".join(failures)
        + ". Raise 'tol' or try solver='dense' on small graphs."
    )


def canonicalize_signs(eig_vecs: torch.Tensor) -> torch.Tensor:
    r"""Fix the sign of every column by a deterministic rule.

    Each column :math:`v` is flipped so that :math:`\sum_i v_i^3 > 0`, a
    rule that does not depend on node order. Where that sum vanishes (up to
    ``1e-8`` of :math:`\sum_i |v_i|^3`), as it must for an eigenvector that
    an automorphism maps to its negative, the entry of largest magnitude
    (the first one on ties) is made positive instead; that fallback depends
    on node order, and no rule can avoid it for such columns. Zero columns
    stay zero. Either rule gives a column and its negation the same sign,
    so the result is sign invariant:

    .. math::
        c(V S) = c(V).

    Args:
        eig_vecs (torch.Tensor): Eigenvectors, one per column.

    Returns:
        torch.Tensor: ``eig_vecs`` with some columns negated.

    Shapes:
        - **eig_vecs**: :math:`[N, k]`
        - **output**: :math:`[N, k]`
    """
    if eig_vecs.dim() != 2:
        raise ValueError(
            "'eig_vecs' must have shape [num_nodes, k], got "
            f"{list(eig_vecs.shape)}"
        )
    cubes = eig_vecs.pow(3)
    skew = cubes.sum(dim=0)
    scale = cubes.abs().sum(dim=0)
    peak = eig_vecs.abs().argmax(dim=0)
    peak_sign = torch.sign(eig_vecs.gather(0, peak.unsqueeze(0)).squeeze(0))
    sign = torch.where(skew.abs() > 1e-8 * scale, torch.sign(skew), peak_sign)
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    return eig_vecs * sign


__all__ = [
    "DENSE_MAX_NODES",
    "LaplacianEig",
    "SOLVERS",
    "canonicalize_signs",
    "laplacian_eig",
]
