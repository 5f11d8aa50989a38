"""Eigensolvers for the smallest non-trivial eigenpairs of a Laplacian.

Every solver works on a :class:`SymmetricLaplacian` whose eigenvalue-0
eigenvectors (one per connected component) are known in closed form. They
are deflated by adding ``shift * T T^T`` to the operator, which moves the
trivial eigenvalues to ``shift`` while leaving every other eigenpair alone,
so the smallest eigenpairs of the shifted operator are exactly the
non-trivial ones. The solvers return approximate eigenvectors only; the
caller checks them (:func:`rayleigh_ritz`) before anything is returned to
the user.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse.linalg as spla
import torch

from pyg_signeq.spectral.laplacian import SymmetricLaplacian

log = logging.getLogger(__name__)


class NotConvergedError(RuntimeError):
    """Raised when an iterative eigensolver misses its tolerance."""


@dataclass(frozen=True)
class Eigenpairs:
    """Eigenpairs checked by a final Rayleigh-Ritz step in float64.

    Attributes:
        eig_vals: Ascending eigenvalues ``[m]``.
        eig_vecs: Orthonormal eigenvectors ``[n, m]``, orthogonal to every
            trivial eigenvector.
        residuals: ``||L v - lambda v||`` of every column ``[m]``.
        orthogonality: ``max |V^T V - I|``.
    """

    eig_vals: torch.Tensor
    eig_vecs: torch.Tensor
    residuals: torch.Tensor
    orthogonality: float


class _TorchOperator:
    """The deflated Laplacian ``L + shift * T T^T`` as torch tensors.

    ``like`` is another operator of the same Laplacian whose index tensors
    are shared rather than built again.
    """

    def __init__(
        self,
        lap: SymmetricLaplacian,
        shift: float,
        dtype: torch.dtype,
        device: torch.device,
        like: _TorchOperator | None = None,
    ) -> None:
        mat = lap.matrix
        if like is not None:
            # Same pattern: share the index tensors instead of rebuilding.
            self.crow, self.col = like.crow, like.col
            self.diag_mask = like.diag_mask.to(dtype)
        else:
            # 32-bit indices halve the index traffic of the sparse product.
            index_dtype = torch.int32 if mat.nnz < 2**31 else torch.int64
            self.crow = torch.from_numpy(mat.indptr).to(device, index_dtype)
            self.col = torch.from_numpy(mat.indices).to(device, index_dtype)
            rows = np.repeat(np.arange(mat.shape[0]), np.diff(mat.indptr))
            is_diag = torch.from_numpy(rows == mat.indices).to(device)
            self.diag_mask = is_diag.to(dtype)
        self.values = torch.from_numpy(mat.data).to(device, dtype)
        self.size = mat.shape
        self.shift = shift
        self.trivial = torch.from_numpy(lap.trivial).to(device, dtype)
        self.comp = torch.from_numpy(lap.comp).to(device)
        self.num_components = lap.num_components
        self.dtype = dtype
        self.matrix = self.csr(self.values)

    def csr(self, values: torch.Tensor) -> torch.Tensor:
        """A CSR tensor with the operator's pattern and ``values``."""
        with warnings.catch_warnings():
            # torch labels sparse CSR as beta; the products used here are
            # covered by this package's tests.
            warnings.filterwarnings("ignore", message=".*CSR.*beta")
            return torch.sparse_csr_tensor(
                self.crow,
                self.col,
                values,
                size=self.size,
                check_invariants=False,
            )

    def shifted(self, center: float, scale: float) -> torch.Tensor:
        """``(L - center * I) / scale`` as a CSR tensor (no deflation)."""
        return self.csr((self.values - center * self.diag_mask) / scale)

    def add_projection_(
        self, out: torch.Tensor, x: torch.Tensor, alpha: float
    ) -> torch.Tensor:
        """``out += alpha * T T^T x`` in place, without ``[n, m]`` temps.

        ``T`` holds one unit trivial eigenvector per component; they do not
        overlap, so ``T^T x`` is a per-component sum.
        """
        if self.num_components == 1:
            coef = _column_dots(self.trivial, x)
            # A rank-one matrix product runs as BLAS; ``addr_`` took twice
            # as long on a [10^5, 24] block.
            return out.addmm_(
                self.trivial.unsqueeze(1), coef.unsqueeze(0), alpha=alpha
            )
        # Sums over large components lose float32 precision; accumulate
        # them in float64.
        coef = torch.zeros(
            self.num_components,
            x.size(1),
            dtype=torch.float64,
            device=x.device,
        )
        coef.index_add_(
            0, self.comp, (self.trivial.unsqueeze(1) * x).to(torch.float64)
        )
        scaled = self.trivial.unsqueeze(1) * coef[self.comp].to(x.dtype)
        return out.add_(scaled, alpha=alpha)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """``T T^T x``: the component of ``x`` in the trivial eigenspace."""
        return self.add_projection_(torch.zeros_like(x), x, 1.0)

    def __call__(
        self, x: torch.Tensor, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The operator applied to ``x``, written into ``out`` if given.

        Writing into a reused ``out`` saves the page faults of a fresh
        block, which cost more than half as much as the float64 product
        itself on 10^5 nodes.
        """
        if out is None:
            # Zeros rather than empty: ``beta=0`` must ignore ``out``, but
            # a backend that multiplied its content would only ever see
            # finite values (this and every later product).
            out = torch.zeros_like(x)
        out.addmm_(self.matrix, x, beta=0.0)
        if self.shift == 0.0:
            return out
        return self.add_projection_(out, x, self.shift)


#: Largest condition number of a block's Gram matrix for which
#: :func:`_ritz` skips the QR factorization; orthonormality then holds to
#: about ``1e-8`` in float64.
_GRAM_MAX_COND = 1e8

#: The same bound for the final check, :func:`rayleigh_ritz`, whose
#: output must be orthonormal to ``1e-8``: Gram matrices up to this
#: condition number leave an error near ``1e-12``.
_FINAL_MAX_COND = 1e4


def _column_dots(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``t @ x`` with float64 accumulation across chunks of rows.

    A float32 dot product over 10^6 rows carries an absolute error near
    ``1e-5``; in the deflation term that error acts as a rank-one change of
    the operator and floors the filter's residual at the same level. Dots
    over chunks of 1024 rows, summed in float64, keep it near ``1e-7``.
    """
    if x.dtype == torch.float64:
        return t @ x
    n, m = x.shape
    chunk = 1024
    blocks = n // chunk
    head = blocks * chunk
    coef = (
        torch.bmm(
            t[:head].view(blocks, 1, chunk),
            x[:head].view(blocks, chunk, m),
        )
        .view(blocks, m)
        .to(torch.float64)
        .sum(dim=0)
    )
    if head < n:
        coef += (t[head:] @ x[head:]).to(torch.float64)
    return coef.to(x.dtype)


def rayleigh_ritz(
    lap: SymmetricLaplacian,
    basis: torch.Tensor,
    num: int,
) -> Eigenpairs:
    """Project ``basis`` off the trivial space and solve within its span.

    This is the common final step of every solver: in float64, it removes
    every trivial component, orthonormalizes, diagonalizes the Laplacian
    restricted to the span and measures the true residuals, so that what
    the user receives has been checked against the undeflated Laplacian.
    Solvers hand over nearly orthonormal blocks, so the orthonormalization
    goes through the Gram matrix (:func:`_ritz`) unless its condition
    number exceeds :data:`_FINAL_MAX_COND`, where Householder QR takes
    over.

    Args:
        lap (SymmetricLaplacian): The Laplacian.
        basis (torch.Tensor): Approximate eigenvectors ``[n, m]``, ``m >=
            num``.
        num (int): How many of the smallest Ritz pairs to return.

    Returns:
        Eigenpairs: The checked pairs.
    """
    op = _TorchOperator(lap, 0.0, torch.float64, basis.device)
    x = basis.to(torch.float64)
    x = op.add_projection_(x.clone(), x, -1.0)
    theta, vecs, residuals = _ritz(op, x, num=num, max_cond=_FINAL_MAX_COND)
    gram = vecs.T @ vecs
    eye = torch.eye(num, dtype=gram.dtype, device=gram.device)
    orthogonality = float((gram - eye).abs().max()) if num else 0.0
    return Eigenpairs(theta, vecs, residuals, orthogonality)


def solve_dense(lap: SymmetricLaplacian, num: int) -> torch.Tensor:
    """The ``num`` smallest non-trivial eigenvectors by dense ``eigh``.

    Args:
        lap (SymmetricLaplacian): The Laplacian.
        num (int): Number of eigenpairs, at most ``lap.num_nontrivial``.

    Returns:
        torch.Tensor: Eigenvectors ``[n, num]`` in float64.
    """
    n = lap.matrix.shape[0]
    dense = lap.matrix.toarray()
    trivial = np.zeros((n, lap.num_components))
    trivial[np.arange(n), lap.comp] = lap.trivial
    # Shift the trivial eigenvalues strictly above the spectrum, so that
    # they cannot mix with a non-trivial eigenvalue at the top.
    dense += (lap.upper + 1.0) * (trivial @ trivial.T)
    _, vecs = scipy.linalg.eigh(dense, subset_by_index=(0, num - 1))
    return torch.from_numpy(vecs)


def solve_lanczos(
    lap: SymmetricLaplacian,
    num: int,
    tol: float,
    seed: int,
    ncv: int | None = None,
) -> torch.Tensor:
    """Implicitly restarted Lanczos (ARPACK) on the deflated Laplacian.

    No shift-invert: factorizing an expander-like Laplacian fills in and
    takes minutes, while the product with the sparse matrix stays cheap.
    A Krylov space larger than ARPACK's default (``ncv``) cuts the number
    of restarts on the clustered low end of large spectra.

    Args:
        lap (SymmetricLaplacian): The Laplacian.
        num (int): Number of eigenpairs, below ``lap.num_nontrivial``.
        tol (float): Target residual norm.
        seed (int): Seed of the start vector.
        ncv (int, optional): Krylov space size. (default: :obj:`None`,
            ``max(4 * num, 64)`` capped by the matrix size)

    Returns:
        torch.Tensor: Eigenvectors ``[n, num]`` in float64.

    Raises:
        NotConvergedError: If ARPACK stops before converging.
    """
    n = lap.matrix.shape[0]
    mat = lap.matrix
    trivial, comp = lap.trivial, lap.comp
    shift = lap.upper + 1.0

    def matvec(x: np.ndarray) -> np.ndarray:
        x = x.reshape(-1)
        coef = np.bincount(
            comp, weights=trivial * x, minlength=lap.num_components
        )
        return mat @ x + shift * trivial * coef[comp]

    op = spla.LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    if ncv is None:
        ncv = max(4 * num, 64)
    ncv = min(ncv, n - 1)
    v0 = np.random.default_rng(seed).standard_normal(n)
    try:
        _, vecs = spla.eigsh(
            op,
            k=num,
            which="SA",
            v0=v0,
            ncv=ncv,
            tol=tol / (shift + 1.0),
            maxiter=max(1000, 20 * n // ncv),
        )
    except spla.ArpackNoConvergence as err:
        raise NotConvergedError(f"ARPACK did not converge: {err}") from err
    return torch.from_numpy(vecs)


def solve_shift_invert(
    lap: SymmetricLaplacian,
    num: int,
    tol: float,
    seed: int,
    sigma: float = -1e-3,
) -> torch.Tensor:
    """ARPACK in shift-invert mode around ``sigma``, for mesh-like graphs.

    Factorizes ``L - sigma I`` once (SuperLU) and runs Lanczos on its
    inverse, whose largest eigenvalues are the Laplacian's smallest. On
    grids, meshes and road networks the factor stays sparse and this is the
    fastest method; on expander-like graphs (social, random) the factor
    fills in and takes minutes, so :func:`laplacian_eig` never picks it on
    its own. The factor cannot hold the dense deflation term, so the
    trivial eigenvectors are computed too and then dropped.

    Args:
        lap (SymmetricLaplacian): The Laplacian.
        num (int): Number of non-trivial eigenpairs.
        tol (float): Target residual norm.
        seed (int): Seed of the start vector.
        sigma (float): The shift, below zero so that ``L - sigma I`` is
            positive definite. (default: ``-1e-3``)

    Returns:
        torch.Tensor: Eigenvectors ``[n, num]`` in float64.

    Raises:
        NotConvergedError: If ARPACK stops before converging.
    """
    n = lap.matrix.shape[0]
    total = min(num + lap.num_components, n - 1)
    v0 = np.random.default_rng(seed).standard_normal(n)
    try:
        _, vecs = spla.eigsh(
            lap.matrix.tocsc(),
            k=total,
            sigma=sigma,
            which="LM",
            v0=v0,
            tol=tol / (lap.upper + 1.0),
        )
    except spla.ArpackNoConvergence as err:
        raise NotConvergedError(f"ARPACK did not converge: {err}") from err
    # Drop the columns that lie in the trivial eigenspace (overlap about
    # one; the others about zero), keeping the smallest non-trivial pairs.
    coef = np.zeros((lap.num_components, total))
    np.add.at(coef, lap.comp, lap.trivial[:, None] * vecs)
    overlap = np.linalg.norm(coef, axis=0)
    keep = np.sort(np.argsort(overlap)[: total - lap.num_components])
    return torch.from_numpy(vecs[:, keep])


def _chebyshev_filter(
    op: _TorchOperator,
    x: torch.Tensor,
    degree: int,
    lower: float,
    upper: float,
    smallest: float,
    locked: torch.Tensor | None = None,
    locked_floor: float = 0.0,
) -> torch.Tensor:
    """Apply a scaled Chebyshev polynomial that damps ``[lower, upper]``.

    Eigen-components below ``lower`` grow like ``T_degree`` of their mapped
    eigenvalue while those inside ``[lower, upper]`` stay bounded by one.
    The three-term recurrence is rescaled at every step (Zhou and Saad,
    2007) so that the component at ``smallest`` keeps magnitude about one
    and nothing overflows in float32.

    The polynomial is applied to the Laplacian itself, not to the deflated
    operator: the block starts orthogonal to the trivial eigenvectors,
    which are exact eigenvectors of ``L``, so it stays orthogonal up to
    rounding. Eigenvalue zero lies furthest below the damped interval, so
    that rounding grows fastest; both terms of the recurrence are
    projected again before it has grown by ``1e6`` relative to
    ``smallest``, instead of paying for the projection at every step.

    Converged vectors (``locked``, orthonormal, whose smallest Ritz value
    is ``locked_floor``) are kept out the same way. Their eigenvalues lie
    below ``smallest`` too, and one well separated from the rest (measured:
    0.33 under a cluster at 0.40) grows by 10^8 over a filter of degree 50;
    rounding in float32 then swamps the wanted part of the block, and
    removing the locked directions only afterwards cannot repair it.
    """
    half = (upper - lower) / 2.0
    center = (upper + lower) / 2.0
    mat = op.shifted(center, half)
    sigma = half / (smallest - center)
    tau = 2.0 / sigma
    rate_smallest = math.acosh(max(abs(1.0 / sigma), 1.0))

    def period(value: float) -> int:
        # Steps until a component at ``value`` has grown by 1e6 over one at
        # ``smallest``.
        rate = math.acosh(max((center - value) / half, 1.0))
        excess = rate - rate_smallest
        return max(1, int(math.log(1e6) / excess)) if excess > 0 else degree

    trivial_period = period(0.0)
    if locked is not None and locked.size(1):
        locked = locked.to(x.dtype)
        locked_period = period(locked_floor)
    else:
        locked, locked_period = None, degree + 1

    def deflate_(v: torch.Tensor, step: int) -> None:
        if step % trivial_period == 0:
            op.add_projection_(v, v, -1.0)
        if locked is not None and step % locked_period == 0:
            v.addmm_(locked, locked.T @ v, alpha=-1.0)

    # Two buffers take turns, and each product is accumulated in place
    # into the older term: a fresh output block costs a quarter of the
    # product's time in page faults on large graphs, and an ``out=`` other
    # than the added term costs a copy of it (measured 16% of a product).
    prev = x.clone()
    deflate_(prev, 0)
    cur = torch.addmm(prev, mat, prev, beta=0.0, alpha=sigma)
    for step in range(2, degree + 1):
        sigma_next = 1.0 / (tau - sigma)
        prev.addmm_(mat, cur, beta=-sigma * sigma_next, alpha=2.0 * sigma_next)
        prev, cur, sigma = cur, prev, sigma_next
        deflate_(prev, step)
        deflate_(cur, step)
    deflate_(cur, 0)
    return cur


def _lanczos_upper_bound(
    op: _TorchOperator, steps: int, generator: torch.Generator
) -> tuple[float, float]:
    """Two upper estimates of the spectrum from a few Lanczos steps.

    Returns ``(tight, safe)``. ``safe`` is the largest Ritz value plus the
    last off-diagonal coefficient, which bounds the spectrum in practice
    (Zhou and Li, 2011) and is much tighter than Gershgorin on
    expander-like graphs. ``tight`` adds twice the residual norm of the
    largest Ritz pair instead: after 20 steps it lay 0.01-0.03 above the
    largest eigenvalue on random regular, Barabasi-Albert, Erdos-Renyi and
    grid graphs, where ``safe`` lay 0.3-0.5 above. A shorter Chebyshev
    interval raises the filter's growth rate (about 11% fewer products on
    a random 10-regular graph), and a ``tight`` value that falls short is
    noticed by :func:`solve_chebyshev`, which then widens to ``safe`` and,
    failing that, to the Laplacian's rigorous bound.
    """
    n = op.size[0]
    v = torch.randn(n, 1, generator=generator, dtype=op.dtype)
    v = (v / torch.linalg.vector_norm(v)).to(op.trivial.device)
    v_prev = torch.zeros_like(v)
    alphas, betas = [], []
    beta = 0.0
    for _ in range(min(steps, n)):
        w = op(v)
        alpha = float((w * v).sum())
        w = w - alpha * v - beta * v_prev
        beta = float(torch.linalg.vector_norm(w))
        alphas.append(alpha)
        betas.append(beta)
        if beta < 1e-12:
            break
        v_prev, v = v, w / beta
    tri = np.diag(alphas) + np.diag(betas[:-1], 1) + np.diag(betas[:-1], -1)
    ritz, vecs = np.linalg.eigh(tri)
    residual = abs(betas[-1] * vecs[-1, -1])
    return float(ritz[-1] + 2.0 * residual), float(ritz[-1] + betas[-1])


def _adaptive_degree(
    last_wanted: float,
    lower: float,
    upper: float,
    gain: float = 3.0,
    min_degree: int = 16,
    max_degree: int = 400,
) -> int:
    """A filter degree that amplifies the last wanted pair by ``e**gain``.

    A Chebyshev polynomial of degree ``d`` grows like ``cosh(d * r)`` at a
    point ``r = acosh(|sigma|)`` outside its damped interval. With a fixed
    small degree and a tiny gap (``d * r << 1``) the growth is only
    quadratic, ``1 + (d r)**2 / 2``, and repeated filtering crawls; picking
    ``d = gain / r`` keeps every iteration in the exponential regime. The
    estimate uses the current Ritz value of the last wanted pair, which
    lies above its eigenvalue, so it errs towards higher degrees. With the
    damped interval starting at the third-largest Ritz value (see
    :func:`solve_chebyshev`), ``gain = 3`` needed the fewest products
    over six seeds on two 10^5-node graphs; 2.5 tied, 4 and 5 needed
    13-25% more.
    """
    half = (upper - lower) / 2.0
    center = (upper + lower) / 2.0
    sigma = abs((last_wanted - center) / half)
    rate = math.acosh(max(sigma, 1.0 + 1e-12))
    return int(min(max(math.ceil(gain / rate), min_degree), max_degree))


def _default_block_size(num: int) -> int:
    """Vectors per block: a third more than ``num``, rounded for the CPU.

    Convergence of the last wanted pair improves with the gap to the first
    eigenvalue outside the block, so extra vectors help, but each one adds
    to the cost of every sparse product; a third more than ``num`` (at
    least 8) paid off best. The width is then rounded down to a multiple of
    8 where that keeps 4 guards: the CPU's sparse product runs a third
    slower on widths just past one (25 columns cost as much as 32, 24 as
    much as 20). Wider blocks were measured to lose on 10^5 and 10^6-node
    graphs with k = 16: 48 columns cost 2.6 times 24 per product at 10^6
    nodes and saved only a third of the products.
    """
    size = num + max(8, num // 2)
    rounded = size // 8 * 8
    return rounded if rounded >= num + 4 else size


def solve_chebyshev(
    lap: SymmetricLaplacian,
    num: int,
    tol: float,
    seed: int,
    device: torch.device | str = "cpu",
    degree: int | None = None,
    block_size: int | None = None,
    max_iter: int = 300,
) -> torch.Tensor:
    """Chebyshev-filtered subspace iteration in torch (CPU or GPU).

    A block of ``block_size`` vectors is repeatedly multiplied by a
    Chebyshev polynomial of the Laplacian that damps the unwanted part of
    the spectrum, then orthonormalized and rotated by a Rayleigh-Ritz step
    (Zhou and Saad, 2007). All work is sparse-times-block products, which
    run well on multi-core CPUs and GPUs. The bulk of the iterations runs
    in float32 and the last ones in float64, so the answer meets ``tol``
    in double precision at about half the memory traffic.

    Args:
        lap (SymmetricLaplacian): The Laplacian.
        num (int): Number of eigenpairs.
        tol (float): Target residual norm.
        seed (int): Seed of the start block.
        device (torch.device or str): Where to compute. (default: ``'cpu'``)
        degree (int, optional): Polynomial degree per iteration.
            (default: :obj:`None`, chosen by :func:`_adaptive_degree` at
            every iteration)
        block_size (int, optional): Vectors per block; more than ``num``
            guards convergence of the last wanted pairs. (default:
            :obj:`None`, chosen by :func:`_default_block_size`)
        max_iter (int): Maximum number of filter iterations. (default:
            ``300``)

    Returns:
        torch.Tensor: Eigenvectors ``[n, block_size]`` in float64, the
        wanted ones first.

    Raises:
        NotConvergedError: If ``max_iter`` iterations do not reach ``tol``.
    """
    device = torch.device(device)
    n = lap.matrix.shape[0]
    if block_size is None:
        block_size = _default_block_size(num)
    block_size = min(block_size, lap.num_nontrivial)
    generator = torch.Generator().manual_seed(seed)

    op64 = _TorchOperator(lap, 0.0, torch.float64, device)
    op32 = _TorchOperator(lap, 0.0, torch.float32, device, like=op64)
    # Undeflated (shift zero): the trivial eigenvalue stays at the bottom.
    # float32 is ample for an estimate and halves its cost.
    tight, safe = _lanczos_upper_bound(op32, 20, generator)
    # Ends of the damped interval to try in turn: the estimates, then the
    # rigorous bound.
    ends = sorted({min(lap.upper, tight), min(lap.upper, safe), lap.upper})
    upper = ends.pop(0)
    # The deflation shift moves the trivial eigenvalues above the whole
    # spectrum, out of the way of the wanted ones. Only the float64
    # Rayleigh-Ritz step applies it; the filter projects them out instead.
    op64.shift = lap.upper

    # Storage for the Ritz step's product, reused by every iteration (the
    # block narrows as vectors lock).
    storage = torch.zeros(n * block_size, dtype=torch.float64, device=device)

    def work(width: int) -> torch.Tensor:
        return storage[: n * width].view(n, width)

    # Drawn in float32, which is four times faster than float64 in torch,
    # and the precision of the first filter.
    x = torch.randn(n, block_size, generator=generator, dtype=torch.float32)
    x = x.to(device)
    # The Ritz values of a random block all lie near the mean eigenvalue,
    # trace(L) / n; the first filter damps everything above it without a
    # Rayleigh-Ritz step on the random block.
    mean = float(lap.matrix.diagonal().mean())
    theta = torch.full((block_size,), mean, dtype=torch.float64)
    # Converged vectors are locked: they leave the block, which then costs
    # less to filter, and later blocks are kept orthogonal to them.
    locked = torch.empty(n, 0, dtype=torch.float64, device=device)
    locked_floor = 0.0
    # The filter, where nearly all the time goes, runs in float32 while it
    # still makes progress; the Rayleigh-Ritz step always runs in float64,
    # so residuals are measured exactly and stalls are real.
    op = op32
    best = math.inf
    stalled = 0
    worst = math.inf
    rate = 0.0
    for it in range(max_iter):
        while ends and float(theta[-1]) >= upper:
            # A Ritz value at or above the damped interval's end: an
            # eigenvalue above the estimate grew into the block (or, at
            # the start, the estimate lies below the mean eigenvalue).
            log.debug(
                "chebyshev: Ritz value %.4f above the upper estimate %.4f;"
                " widening to %.4f",
                float(theta[-1]),
                upper,
                ends[0],
            )
            upper = ends.pop(0)
        # The damped interval starts at the third-largest Ritz value (never
        # below the first guard). The largest one, the block's top guard,
        # barely converges and sits several eigenvalues past the first one
        # outside the block, whose components then grow almost as fast as
        # the wanted ones. Over six seeds on 10^5-node random regular and
        # Barabasi-Albert graphs this start needed 14% fewer products
        # than the largest Ritz value and 5% fewer than the second; the
        # fourth and lower lost again, as wanted pairs near the interval
        # grow too slowly.
        wanted = num - locked.size(1)
        top = theta.numel() - 1
        lower = float(theta[min(top, max(wanted, top - 2))])
        smallest = float(theta[0])
        if degree is None and it == 0:
            deg = 16
        elif degree is None and op is op32:
            deg = _adaptive_degree(float(theta[wanted - 1]), lower, upper)
            # Once ``tol`` is within this step's reach at the decay rate
            # just observed, stop a little past it instead of a full
            # ``e**3`` beyond.
            need = math.log(worst / tol)
            if rate > 0.0 and need < rate * deg:
                deg = max(16, math.ceil((need + 0.5) / rate))
        elif degree is None:
            # In float64 only the last factor down to ``tol`` is missing,
            # and every product costs twice as much: aim just past it.
            gain = max(1.5, math.log(worst / tol) + 1)
            deg = _adaptive_degree(
                float(theta[wanted - 1]), lower, upper, gain=gain
            )
        else:
            deg = degree
        y = _chebyshev_filter(
            op,
            x.to(op.dtype),
            deg,
            lower,
            upper,
            smallest,
            locked,
            locked_floor,
        )
        y = y.to(torch.float64)
        if locked.size(1):
            # The filter amplifies the locked (lowest) directions most, so
            # remove them twice to clear what rounding left behind.
            for _ in range(2):
                y = y - locked @ (locked.T @ y)
        theta, x, residuals = _ritz(op64, y, work=work(y.size(1)))
        previous, worst = worst, float(residuals[:wanted].max())
        log.debug(
            "chebyshev iteration %d (degree %d in %s, %d locked): "
            "residual %.2e",
            it,
            deg,
            op.dtype,
            locked.size(1),
            worst,
        )
        if worst <= tol:
            return torch.cat([locked, x], dim=1)
        # Residual decay per unit of degree, in nats (worst > tol > 0).
        rate = math.log(previous / worst) / deg if previous < math.inf else 0.0
        # Lock with a margin, so that the final check on the union of
        # locked and active vectors cannot tip over the tolerance.
        done = residuals[:wanted] <= 0.5 * tol
        num_done = int(done.long().cumprod(0).sum())
        if num_done:
            if not locked.size(1):
                locked_floor = float(theta[0])
            locked = torch.cat([locked, x[:, :num_done]], dim=1)
            theta, x = theta[num_done:], x[:, num_done:]
        # Each iteration aims at a large gain (see _adaptive_degree), so
        # less than halving the residual means float32 rounding, which
        # floors it at a few 1e-6 (measured on 10^5 and 10^6 nodes); above
        # 1e-4 it is slow progress on a small gap, which float64 would not
        # fix.
        stalled = stalled + 1 if worst > 0.5 * best else 0
        best = min(best, worst)
        limit = 1 if degree is None else 2
        if op is op32 and stalled >= limit and worst < 1e-4:
            op = op64
            stalled = 0
    raise NotConvergedError(
        f"Chebyshev subspace iteration reached residual {worst:.2e} after "
        f"{max_iter} iterations, above 'tol'={tol:.1e}"
    )


def _ritz(
    op: _TorchOperator,
    y: torch.Tensor,
    num: int | None = None,
    work: torch.Tensor | None = None,
    max_cond: float = _GRAM_MAX_COND,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rotate a block onto orthonormal Ritz vectors of ``op``.

    The Rayleigh-Ritz problem is solved in the span of ``y`` without an
    explicit orthonormal basis: with the Gram matrix ``G = Y^T Y`` and
    ``H = Y^T L Y``, the generalized problem ``H w = theta G w`` is
    reduced by ``G^{-1/2}``. That takes four thin matrix products instead
    of a Householder QR, which costs several times more on tall blocks.
    Orthonormality then holds up to ``cond(G) * eps``, so a block whose
    Gram matrix is worse conditioned than ``max_cond`` (columns nearly
    dependent) goes through QR instead.

    Args:
        op (_TorchOperator): The operator, in float64.
        y (torch.Tensor): The block ``[n, m]``.
        num (int, optional): Return only the ``num`` smallest Ritz pairs.
            (default: :obj:`None`, all ``m``)
        work (torch.Tensor, optional): A reused ``[n, m]`` buffer for the
            product ``op(y)``; its content is overwritten. (default:
            :obj:`None`)
        max_cond (float): Largest Gram condition number that skips QR.
            (default: :data:`_GRAM_MAX_COND`)

    Returns:
        tuple: Ritz values ``[num]``, Ritz vectors ``[n, num]`` and their
        residual norms ``[num]``.
    """
    gram = y.T @ y
    # Equilibrate the columns (in the small matrix): the condition number
    # that matters is that of the directions, not of the column norms.
    scale = gram.diagonal().clamp_min(1e-300).rsqrt()
    scaled = gram * scale.unsqueeze(1) * scale.unsqueeze(0)
    s, v = torch.linalg.eigh((scaled + scaled.T) / 2)
    if s[0] > s[-1] / max_cond:
        # Columns of y @ z are orthonormal: z^T G z = I.
        z = scale.unsqueeze(1) * (v * s.rsqrt())
        basis = y
    else:
        z = None
        basis, _ = torch.linalg.qr(y)
    product = op(basis, out=work)
    h = basis.T @ product
    if z is not None:
        h = z.T @ h @ z
    theta, w = torch.linalg.eigh((h + h.T) / 2)
    if num is not None:
        theta, w = theta[:num], w[:, :num]
    if z is not None:
        w = z @ w
    x, lx = basis @ w, product @ w
    # The residual block is not needed afterwards: square it in place.
    lx.addcmul_(x, theta, value=-1.0)
    residuals = lx.square_().sum(dim=0).sqrt_()
    return theta, x, residuals


__all__ = [
    "Eigenpairs",
    "NotConvergedError",
    "rayleigh_ritz",
    "solve_chebyshev",
    "solve_dense",
    "solve_lanczos",
    "solve_shift_invert",
]
