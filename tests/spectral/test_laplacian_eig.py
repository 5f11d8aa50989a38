import logging
import math

import networkx as nx
import numpy as np
import pytest
import torch

from pyg_signeq.spectral import canonicalize_signs, laplacian_eig
from pyg_signeq.spectral import solvers as solvers_module

# ---------------------------------------------------------------- graphs


def erdos_renyi(n, p, rng):
    upper = np.triu(rng.random((n, n)) < p, 1)
    row, col = np.nonzero(upper)
    return np.stack([np.r_[row, col], np.r_[col, row]])


def barabasi_albert(n, m, seed):
    g = nx.barabasi_albert_graph(n, m, seed=seed)
    e = np.array(g.edges()).T
    return np.concatenate([e, e[::-1]], axis=1)


def disconnected(rng):
    # Two random blocks, a path, a single edge and two isolated nodes.
    a = erdos_renyi(70, 0.15, rng)
    b = erdos_renyi(50, 0.2, rng) + 70
    path = np.array([[i, i + 1] for i in range(120, 139)]).T
    edge = np.array([[140], [141]])
    e = np.concatenate([a, b, path, path[::-1], edge, edge[::-1]], axis=1)
    return e, 144  # nodes 142 and 143 are isolated


def weights_for(edge_index, rng):
    # Symmetric positive weights: the same value in both directions.
    u, w = edge_index
    key = np.minimum(u, w) * 10_000 + np.maximum(u, w)
    _, inv = np.unique(key, return_inverse=True)
    return rng.uniform(0.5, 2.0, size=inv.max() + 1)[inv]


def reference(edge_index, n, weight, normalization):
    """Dense numpy eigh with trivial pairs removed, as an oracle."""
    if weight is None:
        weight = np.ones(edge_index.shape[1])
    adj = np.zeros((n, n))
    np.add.at(adj, (edge_index[0], edge_index[1]), weight)
    adj = np.maximum(adj, adj.T)
    np.fill_diagonal(adj, 0.0)
    deg = adj.sum(1)
    active = np.flatnonzero(deg > 0)
    sub = adj[np.ix_(active, active)]
    d = deg[active]
    if normalization is None:
        lap = np.diag(d) - sub
    else:
        s = 1 / np.sqrt(d)
        lap = np.eye(len(d)) - s[:, None] * sub * s[None, :]
    g = nx.from_numpy_array(sub)
    ncomp = nx.number_connected_components(g)
    vals, vecs = np.linalg.eigh(lap)
    vals, vecs = vals[ncomp:], vecs[:, ncomp:]
    if normalization == "rw":
        vecs = vecs / np.sqrt(d)[:, None]
        vecs = vecs / np.linalg.norm(vecs, axis=0)
    full = np.zeros((n, vecs.shape[1]))
    full[active] = vecs
    return vals, full


def graph_cases():
    rng = np.random.default_rng(0)
    er = erdos_renyi(150, 0.08, rng)
    ba = barabasi_albert(150, 3, seed=1)
    dis, n_dis = disconnected(rng)
    return {
        "er": (er, 150, None),
        "ba": (ba, 150, None),
        "disconnected": (dis, n_dis, None),
        "weighted": (er, 150, weights_for(er, rng)),
    }


CASES = graph_cases()


def as_tensors(edge_index, weight):
    ei = torch.from_numpy(edge_index).long()
    w = None if weight is None else torch.from_numpy(weight)
    return ei, w


def assert_same_subspace(vecs, ref, vals_ref, atol):
    """Compare eigenvectors up to sign, and projectors within clusters."""
    k = vecs.shape[1]
    # Group columns whose eigenvalues are (numerically) equal, and compare
    # the projectors onto each group, which are basis-independent.
    start = 0
    while start < k:
        stop = start + 1
        while stop < k and vals_ref[stop] - vals_ref[stop - 1] < 1e-6:
            stop += 1
        p = vecs[:, start:stop] @ vecs[:, start:stop].T
        q = ref[:, start:stop] @ ref[:, start:stop].T
        assert np.abs(p - q).max() < atol, (start, stop)
        start = stop


# ---------------------------------------------------------------- accuracy


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("normalization", ["sym", "rw", None])
@pytest.mark.parametrize(
    "solver", ["dense", "lanczos", "chebyshev", "shift_invert"]
)
def test_matches_dense_numpy(case, normalization, solver):
    edge_index, n, weight = CASES[case]
    k = 8
    ei, w = as_tensors(edge_index, weight)
    out = laplacian_eig(
        ei, n, k, w, normalization=normalization, solver=solver, tol=1e-10
    )
    vals_ref, vecs_ref = reference(edge_index, n, weight, normalization)
    # The cut-off must not split a cluster for the comparison to be fair.
    assert vals_ref[k] - vals_ref[k - 1] > 1e-6

    assert out.solver == solver
    assert out.num_valid == k
    assert out.eig_vals.dtype == torch.float64
    np.testing.assert_allclose(out.eig_vals.numpy(), vals_ref[:k], atol=1e-8)
    assert_same_subspace(out.eig_vecs.numpy(), vecs_ref[:, :k], vals_ref, 1e-6)
    assert out.max_residual <= 1e-10
    assert out.cutoff_gap == pytest.approx(vals_ref[k] - vals_ref[k - 1])


@pytest.mark.parametrize(
    "solver", ["dense", "lanczos", "chebyshev", "shift_invert"]
)
def test_columns_orthonormal_and_not_trivial(solver):
    edge_index, n, _ = CASES["disconnected"]
    ei, _ = as_tensors(edge_index, None)
    vals, vecs = laplacian_eig(ei, n, 10, solver=solver)
    gram = vecs.T @ vecs
    assert torch.allclose(gram, torch.eye(10, dtype=vecs.dtype), atol=1e-8)
    assert bool((vals > 1e-8).all())
    # No column may correlate with a component's trivial eigenvector.
    deg = torch.zeros(n, dtype=torch.float64).index_add_(
        0, ei[0], torch.ones(ei.size(1), dtype=torch.float64)
    )
    g = nx.Graph(edge_index.T.tolist())
    for comp in nx.connected_components(g):
        idx = torch.tensor(sorted(comp))
        trivial = torch.zeros(n, dtype=torch.float64)
        trivial[idx] = deg[idx].sqrt()
        trivial /= trivial.norm()
        assert float((trivial @ vecs).abs().max()) < 1e-8


def test_isolated_nodes_get_zero_rows_and_small_component_rule():
    edge_index, n, _ = CASES["disconnected"]
    ei, _ = as_tensors(edge_index, None)
    vals, vecs = laplacian_eig(ei, n, 6)
    assert bool((vecs[142:] == 0).all())
    # The single edge (140, 141) has only eigenvalue 2 under 'sym': the six
    # smallest eigenvalues belong to the larger components, so its rows are
    # zero.
    assert float(vals.max()) < 2.0
    assert bool((vecs[140:142] == 0).all())
    # With every eigenpair requested, the edge's own column appears.
    _, vecs_all = laplacian_eig(ei, n, 142 - 4)
    support = (vecs_all[140:142].abs() > 1e-8).any(dim=0)
    assert int(support.sum()) == 1


# ------------------------------------------------------------ closed form


def path(n):
    row = torch.arange(n - 1)
    return torch.stack([torch.cat([row, row + 1]), torch.cat([row + 1, row])])


def cycle(n):
    row = torch.arange(n)
    nxt = (row + 1) % n
    return torch.stack([torch.cat([row, nxt]), torch.cat([nxt, row])])


def complete(n):
    idx = torch.combinations(torch.arange(n)).T
    return torch.cat([idx, idx.flip(0)], dim=1)


@pytest.mark.parametrize("n", [5, 12, 40])
def test_path_spectrum(n):
    k = n - 1
    vals, vecs = laplacian_eig(path(n), n, k, normalization=None)
    expected = 2 - 2 * np.cos(np.pi * np.arange(1, n) / n)
    np.testing.assert_allclose(vals.numpy(), expected, atol=1e-10)
    # The Fiedler vector of a path is a cosine wave, up to sign.
    fiedler = np.cos(np.pi * (np.arange(n) + 0.5) / n)
    fiedler /= np.linalg.norm(fiedler)
    assert np.abs(np.abs(vecs[:, 0].numpy() @ fiedler) - 1) < 1e-10


def test_path_sym_spectrum():
    n = 30
    vals, _ = laplacian_eig(path(n), n, n - 1)
    # The normalized Laplacian of a path: 1 - cos(pi j / (n - 1)).
    expected = 1 - np.cos(np.pi * np.arange(1, n) / (n - 1))
    np.testing.assert_allclose(vals.numpy(), expected, atol=1e-10)


def test_cycle_spectrum_and_degeneracy_warning():
    n = 20
    with pytest.warns(UserWarning, match="repeated Laplacian eigenvalues"):
        out = laplacian_eig(cycle(n), n, 5)
    j = np.arange(1, n)
    expected = np.sort(1 - np.cos(2 * np.pi * j / n))[:5]
    np.testing.assert_allclose(out.eig_vals.numpy(), expected, atol=1e-10)
    # Eigenvalues come in pairs: k = 5 cuts the third pair in half.
    assert out.degenerate
    assert out.cutoff_gap < 1e-10


def test_complete_graph_spectrum():
    n = 9
    with pytest.warns(UserWarning, match="repeated"):
        vals, _ = laplacian_eig(complete(n), n, 4)
    np.testing.assert_allclose(vals.numpy(), n / (n - 1), atol=1e-12)


def test_no_degeneracy_warning_on_generic_graph(recwarn):
    edge_index, n, _ = CASES["er"]
    out = laplacian_eig(torch.from_numpy(edge_index), n, 8)
    assert not out.degenerate
    assert not [w for w in recwarn if "repeated" in str(w.message)]


# ------------------------------------------------------- padding and mask


def test_k_beyond_graph_pads_with_mask():
    n = 6
    with pytest.warns(UserWarning, match="zero-padded"):
        out = laplacian_eig(path(n), n, 9)
    assert out.num_valid == n - 1
    assert out.mask.tolist() == [True] * (n - 1) + [False] * 4
    assert bool((out.eig_vecs[:, n - 1 :] == 0).all())
    assert bool((out.eig_vals[n - 1 :] == 0).all())
    assert bool((out.eig_vals[: n - 1] > 0).all())


def test_padding_warning_is_emitted_once():
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        laplacian_eig(path(4), 4, 6)
        laplacian_eig(path(5), 5, 6)
    assert sum("zero-padded" in str(w.message) for w in caught) == 1


def test_only_self_loops_gives_all_padding():
    ei = torch.tensor([[0, 1], [0, 1]])
    with pytest.warns(UserWarning, match="zero-padded"):
        out = laplacian_eig(ei, 3, 2)
    assert out.num_valid == 0
    assert bool((out.eig_vecs == 0).all())


# ------------------------------------------------------- input handling


def test_integer_column_weights_match_float_weights():
    edge_index, n, weight = CASES["weighted"]
    ei = torch.from_numpy(edge_index)
    int_w = torch.from_numpy(np.round(weight * 4).astype(np.int64))
    a = laplacian_eig(ei, n, 6, int_w.view(-1, 1))
    b = laplacian_eig(ei, n, 6, int_w.double())
    assert torch.equal(a.eig_vals, b.eig_vals)
    assert torch.equal(a.eig_vecs, b.eig_vecs)


def test_one_way_edges_are_symmetrized():
    edge_index, n, _ = CASES["er"]
    ei = torch.from_numpy(edge_index)
    one_way = ei[:, ei[0] < ei[1]]
    a = laplacian_eig(one_way, n, 6)
    b = laplacian_eig(ei, n, 6)
    assert torch.allclose(a.eig_vals, b.eig_vals, atol=1e-12)


def test_duplicate_edges_add_up():
    # A path whose middle edge is listed twice in each direction weighs 2.
    ei = torch.tensor([[0, 1, 1, 1, 2, 2], [1, 0, 2, 2, 1, 1]])
    w = torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    a = laplacian_eig(ei, 3, 2, w, normalization=None)
    ref = laplacian_eig(
        torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]),
        3,
        2,
        torch.tensor([1.0, 1.0, 2.0, 2.0]),
        normalization=None,
    )
    assert torch.allclose(a.eig_vals, ref.eig_vals, atol=1e-12)


def test_rw_vectors_are_eigenvectors_of_random_walk_laplacian():
    edge_index, n, _ = CASES["ba"]
    ei = torch.from_numpy(edge_index)
    vals, vecs = laplacian_eig(ei, n, 6, normalization="rw")
    adj = torch.zeros(n, n, dtype=torch.float64)
    adj[ei[0], ei[1]] = 1.0
    lrw = torch.eye(n, dtype=torch.float64) - adj / adj.sum(1, keepdim=True)
    assert torch.allclose(lrw @ vecs, vecs * vals, atol=1e-8)
    assert torch.allclose(vecs.norm(dim=0), torch.ones(6, dtype=vecs.dtype))


@pytest.mark.parametrize("solver", ["dense", "chebyshev", "lanczos"])
def test_permuting_nodes_permutes_pe_up_to_sign(solver):
    edge_index, n, _ = CASES["ba"]
    ei = torch.from_numpy(edge_index)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(3))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(n)
    # Node i of the permuted graph is node perm[i] of the original.
    ei_perm = inv[ei]
    k = 6
    vals, vecs = laplacian_eig(ei, n, k, solver=solver, tol=1e-10)
    vals_p, vecs_p = laplacian_eig(ei_perm, n, k, solver=solver, tol=1e-10)
    assert torch.allclose(vals, vals_p, atol=1e-10)
    moved = vecs[perm]
    signs = torch.sign((moved * vecs_p).sum(0))
    assert torch.allclose(moved * signs, vecs_p, atol=1e-7)


@pytest.mark.parametrize("solver", ["chebyshev", "lanczos", "dense"])
def test_same_seed_same_output(solver):
    edge_index, n, _ = CASES["er"]
    ei = torch.from_numpy(edge_index)
    a = laplacian_eig(ei, n, 8, solver=solver, seed=7)
    b = laplacian_eig(ei, n, 8, solver=solver, seed=7)
    assert torch.equal(a.eig_vecs, b.eig_vecs)
    assert torch.equal(a.eig_vals, b.eig_vals)


def test_auto_uses_dense_for_small_graphs():
    edge_index, n, _ = CASES["er"]
    assert laplacian_eig(torch.from_numpy(edge_index), n, 4).solver == "dense"


def test_iterative_solver_on_tiny_graph_uses_dense():
    out = laplacian_eig(path(10), 10, 4, solver="chebyshev")
    assert out.solver == "dense"


def test_dense_refuses_huge_graphs():
    n = 20_002
    with pytest.raises(ValueError, match="solver='dense'.*got 20002"):
        laplacian_eig(path(n), n, 2, solver="dense")


def test_unpacks_as_pair():
    vals, vecs = laplacian_eig(path(8), 8, 3)
    assert vals.shape == (3,) and vecs.shape == (8, 3)


# ------------------------------------------------------- fallback chain


def test_chebyshev_failure_falls_back_to_lanczos(monkeypatch, caplog):
    def fail(*args, **kwargs):
        raise solvers_module.NotConvergedError("forced")

    monkeypatch.setattr("pyg_signeq.spectral.eig.solve_chebyshev", fail)
    edge_index, n, _ = CASES["er"]
    with caplog.at_level(logging.WARNING):
        out = laplacian_eig(
            torch.from_numpy(edge_index), n, 5, solver="chebyshev"
        )
    assert out.solver == "lanczos"
    assert "falling back to 'lanczos'" in caplog.text


def test_garbage_from_a_solver_is_caught(monkeypatch):
    def garbage(lap, num, *args, **kwargs):
        gen = torch.Generator().manual_seed(0)
        n = lap.matrix.shape[0]
        return torch.randn(n, num, generator=gen, dtype=torch.float64)

    monkeypatch.setattr("pyg_signeq.spectral.eig.solve_chebyshev", garbage)
    monkeypatch.setattr("pyg_signeq.spectral.eig.solve_lanczos", garbage)
    edge_index, n, _ = CASES["er"]
    with pytest.raises(RuntimeError, match="no eigensolver reached"):
        laplacian_eig(torch.from_numpy(edge_index), n, 5, solver="chebyshev")


def test_chebyshev_reports_non_convergence():
    from pyg_signeq.spectral.laplacian import build_laplacian

    edge_index, n, _ = CASES["er"]
    lap = build_laplacian(torch.from_numpy(edge_index), n)
    with pytest.raises(solvers_module.NotConvergedError, match="'tol'"):
        solvers_module.solve_chebyshev(
            lap, 6, tol=1e-14, seed=0, degree=2, max_iter=2
        )


# ------------------------------------------------------ solver internals


def torch_operator(case, dtype=torch.float64, shift=0.0):
    from pyg_signeq.spectral.laplacian import build_laplacian

    edge_index, n, weight = CASES[case]
    ei, w = as_tensors(edge_index, weight)
    lap = build_laplacian(ei, n, w)
    op = solvers_module._TorchOperator(lap, shift, dtype, torch.device("cpu"))
    return lap, op


def test_ritz_without_qr_matches_the_subspace_problem():
    lap, op = torch_operator("disconnected", shift=2.0)
    n = lap.matrix.shape[0]
    gen = torch.Generator().manual_seed(0)
    y = torch.randn(n, 9, generator=gen, dtype=torch.float64)
    y = y * torch.logspace(-3, 3, 9, dtype=torch.float64)
    theta, x, residuals = solvers_module._ritz(op, y)
    eye = torch.eye(9, dtype=torch.float64)
    assert torch.allclose(x.T @ x, eye, atol=1e-12)
    # Same span as the input, and the Ritz values of the projected
    # operator, with the residuals it reports.
    q, _ = torch.linalg.qr(y)
    assert torch.allclose(x @ x.T, q @ q.T, atol=1e-12)
    expected = torch.linalg.eigvalsh(q.T @ op(q))
    assert torch.allclose(theta, expected, atol=1e-12)
    true = torch.linalg.vector_norm(op(x) - x * theta, dim=0)
    assert torch.allclose(residuals, true, atol=1e-12)


def test_ritz_of_nearly_dependent_columns_stays_orthonormal():
    lap, op = torch_operator("er", shift=2.0)
    n = lap.matrix.shape[0]
    gen = torch.Generator().manual_seed(1)
    base = torch.randn(n, 4, generator=gen, dtype=torch.float64)
    # Columns 4-7 differ from 0-3 by 1e-7: Gram condition near 1e14, past
    # what the QR-free path can orthonormalize.
    noise = torch.randn(n, 4, generator=gen, dtype=torch.float64)
    y = torch.cat([base, base + 1e-7 * noise], dim=1)
    theta, x, residuals = solvers_module._ritz(op, y)
    eye = torch.eye(8, dtype=torch.float64)
    assert torch.allclose(x.T @ x, eye, atol=1e-12)
    true = torch.linalg.vector_norm(op(x) - x * theta, dim=0)
    assert torch.allclose(residuals, true, atol=1e-10)


def dense_filter(lap, x, degree, lower, upper, smallest):
    """The filter's recurrence on the deflated dense matrix, as an oracle."""
    n = lap.matrix.shape[0]
    trivial = np.zeros((n, lap.num_components))
    trivial[np.arange(n), lap.comp] = lap.trivial
    proj = trivial @ trivial.T
    mat = lap.matrix.toarray() + upper * proj
    half, center = (upper - lower) / 2, (upper + lower) / 2
    sigma = half / (smallest - center)
    tau = 2 / sigma
    prev = x
    cur = sigma / half * (mat @ x - center * x)
    for _ in range(2, degree + 1):
        nxt_sigma = 1 / (tau - sigma)
        nxt = 2 * nxt_sigma / half * (mat @ cur - center * cur)
        prev, cur = cur, nxt - sigma * nxt_sigma * prev
        sigma = nxt_sigma
    return cur - proj @ cur


@pytest.mark.parametrize("degree", [1, 2, 7, 40])
def test_chebyshev_filter_matches_the_deflated_polynomial(degree):
    # Three components, a path among them: eigenvalue zero lies far below
    # the damped interval, and a degree of 40 spans several of the
    # periodic re-projections.
    lap, op = torch_operator("disconnected")
    n = lap.matrix.shape[0]
    x = np.random.default_rng(2).standard_normal((n, 5))
    lower, upper, smallest = 0.3, lap.upper, 0.05
    out = solvers_module._chebyshev_filter(
        op, torch.from_numpy(x), degree, lower, upper, smallest
    ).numpy()
    ref = dense_filter(lap, x, degree, lower, upper, smallest)
    scale = np.abs(ref).max()
    np.testing.assert_allclose(out / scale, ref / scale, atol=1e-10)
    # Nothing of the trivial eigenvectors is left.
    assert np.abs(op.project(torch.from_numpy(out)).numpy()).max() < (
        1e-12 * scale
    )


@pytest.mark.parametrize("degree", [7, 60])
def test_chebyshev_filter_keeps_locked_vectors_out(degree):
    # Lock the two lowest non-trivial eigenvectors, which the filter
    # amplifies far more than ``smallest``: the output is the deflated
    # polynomial with them projected out (they commute), and they do not
    # come back through rounding however high the degree.
    lap, op = torch_operator("er")
    n = lap.matrix.shape[0]
    _, ref_vecs = reference(*CASES["er"][:2], None, "sym")
    locked = torch.from_numpy(ref_vecs[:, :2].copy())
    x = np.random.default_rng(3).standard_normal((n, 5))
    lower, upper, smallest = 0.75, lap.upper, 0.6
    out = solvers_module._chebyshev_filter(
        op, torch.from_numpy(x), degree, lower, upper, smallest, locked, 0.3
    ).numpy()
    ref = dense_filter(lap, x, degree, lower, upper, smallest)
    q = ref_vecs[:, :2]
    ref = ref - q @ (q.T @ ref)
    scale = np.abs(ref).max()
    np.testing.assert_allclose(out / scale, ref / scale, atol=1e-10)
    assert np.abs(q.T @ out).max() < 1e-12 * scale


def test_build_laplacian_takes_the_larger_direction_of_each_edge():
    from pyg_signeq.spectral.laplacian import build_laplacian

    # A triangle whose edges weigh differently in their two directions,
    # and one edge given one way only.
    ei = torch.tensor([[0, 1, 1, 2, 2, 0, 2], [1, 0, 2, 1, 0, 2, 3]])
    w = torch.tensor([1.0, 3.0, 2.0, 0.5, 4.0, 4.0, 1.5])
    lap = build_laplacian(ei, 4, w, normalization=None)
    adj = np.zeros((4, 4))
    for (u, v), x in zip(ei.T.tolist(), w.tolist(), strict=True):
        adj[u, v] = max(adj[u, v], x)
    adj = np.maximum(adj, adj.T)
    expected = np.diag(adj.sum(1)) - adj
    np.testing.assert_array_equal(lap.matrix.toarray(), expected)
    assert lap.matrix.has_sorted_indices


@pytest.mark.parametrize("case", ["er", "disconnected"])
def test_upper_estimates_bound_the_spectrum(case):
    lap, op = torch_operator(case)
    gen = torch.Generator().manual_seed(0)
    tight, safe = solvers_module._lanczos_upper_bound(op, 20, gen)
    top = np.linalg.eigvalsh(lap.matrix.toarray())[-1]
    assert top <= tight <= safe
    # The tight one is what shortens the filter's interval.
    assert tight - top < 0.1 < safe - top


def test_chebyshev_recovers_from_a_low_upper_estimate(monkeypatch, caplog):
    # A tight estimate far below the top of the spectrum lets the top
    # eigenvectors grow into the block; the solver notices and widens.
    edge_index, n, _ = CASES["er"]
    ei = torch.from_numpy(edge_index)
    ref_vals, ref_vecs = reference(edge_index, n, None, "sym")
    estimate = solvers_module._lanczos_upper_bound

    def too_low(op, steps, generator):
        _, safe = estimate(op, steps, generator)
        return 1.0, safe

    monkeypatch.setattr(solvers_module, "_lanczos_upper_bound", too_low)
    with caplog.at_level(logging.DEBUG, logger="pyg_signeq"):
        out = laplacian_eig(ei, n, 6, solver="chebyshev")
    assert "widening" in caplog.text
    assert out.solver == "chebyshev"
    np.testing.assert_allclose(out.eig_vals.numpy(), ref_vals[:6], atol=1e-8)
    assert_same_subspace(out.eig_vecs.numpy(), ref_vecs[:, :6], ref_vals, 1e-4)


def test_operator_and_ritz_ignore_what_their_buffers_held():
    lap, op = torch_operator("disconnected", shift=2.0)
    n = lap.matrix.shape[0]
    y = torch.randn(n, 7, generator=torch.Generator().manual_seed(3))
    y = y.double()
    fresh = op(y)
    stale = torch.full((n, 7), float("nan"), dtype=torch.float64)
    assert torch.equal(op(y, out=stale), fresh)
    stale.fill_(float("nan"))
    theta, x, residuals = solvers_module._ritz(op, y, num=4, work=stale)
    ref_theta, ref_x, ref_residuals = solvers_module._ritz(op, y)
    assert torch.allclose(theta, ref_theta[:4], atol=1e-12)
    assert torch.allclose(residuals, ref_residuals[:4], atol=1e-12)
    ones = torch.ones(4, dtype=torch.float64)
    assert torch.allclose((x * ref_x[:, :4]).sum(0).abs(), ones)


def test_rayleigh_ritz_orthonormalizes_nearly_dependent_columns():
    lap, _ = torch_operator("er")
    n = lap.matrix.shape[0]
    gen = torch.Generator().manual_seed(4)
    base = torch.randn(n, 5, generator=gen, dtype=torch.float64)
    noise = torch.randn(n, 5, generator=gen, dtype=torch.float64)
    # Gram condition near 1e6: past the final check's QR-free bound.
    basis = torch.cat([base, base + 1e-3 * noise], dim=1)
    pairs = solvers_module.rayleigh_ritz(lap, basis, 6)
    assert pairs.orthogonality < 1e-12
    op = solvers_module._TorchOperator(
        lap, 0.0, torch.float64, torch.device("cpu")
    )
    vecs = pairs.eig_vecs
    true = torch.linalg.vector_norm(op(vecs) - vecs * pairs.eig_vals, dim=0)
    assert torch.allclose(pairs.residuals, true, atol=1e-12)
    assert op.project(vecs).abs().max() < 1e-12


def test_default_block_width_is_a_multiple_of_eight_when_cheap():
    size = solvers_module._default_block_size
    assert size(17) == 24
    assert size(16) == 24
    assert size(40) == 56
    # Rounding down would leave fewer than 4 guards: keep the width.
    assert size(5) == 13


# ----------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"k": 0}, ValueError, "'k' must be at least 1, got 0"),
        ({"k": 2.0}, TypeError, "'k' must be an int"),
        ({"normalization": "lap"}, ValueError, "'normalization'.*'lap'"),
        ({"solver": "magic"}, ValueError, "'solver' must be one of.*'magic'"),
        ({"tol": -1.0}, ValueError, "'tol' must be a positive"),
        ({"num_nodes": 0}, ValueError, "'num_nodes' must be at least 1"),
        ({"num_nodes": 3}, ValueError, "node index 4, out of range.*=3"),
        (
            {"edge_index": torch.tensor([[0, -1], [1, 0]])},
            ValueError,
            r"negative node index \(-1\)",
        ),
        (
            {"edge_index": torch.tensor([[0.0, 1.0], [1.0, 0.0]])},
            TypeError,
            "'edge_index' must hold integer.*float32",
        ),
        (
            {"edge_index": torch.zeros(2, 0, dtype=torch.long)},
            ValueError,
            "'edge_index' is empty",
        ),
        (
            {"edge_index": torch.zeros(3, 4, dtype=torch.long)},
            ValueError,
            r"shape \[2, num_edges\], got \[3, 4\]",
        ),
        (
            {"edge_weight": torch.tensor([1.0, math.nan, 1, 1, 1, 1, 1, 1])},
            ValueError,
            "'edge_weight' holds NaN or infinite",
        ),
        (
            {"edge_weight": torch.tensor([1.0, math.inf, 1, 1, 1, 1, 1, 1])},
            ValueError,
            "'edge_weight' holds NaN or infinite",
        ),
        (
            {"edge_weight": -torch.ones(8)},
            ValueError,
            "'edge_weight' must be non-negative, got minimum -1.0",
        ),
        (
            {"edge_weight": torch.ones(7)},
            ValueError,
            r"'edge_weight' must have shape \[8\] or \[8, 1\].*\[7\]",
        ),
        (
            {"edge_weight": torch.ones(8, 2)},
            ValueError,
            r"'edge_weight' must have shape.*\[8, 2\]",
        ),
    ],
)
def test_bad_input(kwargs, error, match):
    args = {"edge_index": path(5), "num_nodes": 5, "k": 2}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        laplacian_eig(**args)


# --------------------------------------------------------- canonical signs


def test_canonical_signs_ignore_flips_and_node_order():
    gen = torch.Generator().manual_seed(0)
    vecs = torch.randn(30, 5, generator=gen, dtype=torch.float64)
    flips = torch.tensor([1.0, -1, -1, 1, -1], dtype=torch.float64)
    perm = torch.randperm(30, generator=gen)
    canon = canonicalize_signs(vecs)
    assert torch.equal(canonicalize_signs(vecs * flips), canon)
    assert torch.equal(canonicalize_signs(vecs[perm]), canon[perm])
    assert bool(((canon**3).sum(0) > 0).all())


def test_canonical_signs_fallback_for_antisymmetric_columns():
    # (1, -1) is mapped to its negative by swapping the nodes: the sum of
    # cubes vanishes and the largest entry (the first on ties) decides.
    vecs = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    out = canonicalize_signs(vecs)
    assert out[:, 0].tolist() == [1.0, -1.0]
    assert out[:, 1].tolist() == [0.0, 0.0]


def test_canonical_signs_bad_shape():
    with pytest.raises(ValueError, match=r"'eig_vecs' must have shape.*\[3\]"):
        canonicalize_signs(torch.ones(3))


def test_shift_invert_on_a_grid():
    side = 40
    n = side * side
    idx = torch.arange(n).view(side, side)
    right = torch.stack([idx[:, :-1].reshape(-1), idx[:, 1:].reshape(-1)])
    down = torch.stack([idx[:-1].reshape(-1), idx[1:].reshape(-1)])
    ei = torch.cat([right, down, right.flip(0), down.flip(0)], dim=1)
    out = laplacian_eig(ei, n, 6, normalization=None, solver="shift_invert")
    # Grid spectrum: sums of two path eigenvalues 2 - 2 cos(pi j / side).
    p = 2 - 2 * np.cos(np.pi * np.arange(side) / side)
    expected = np.sort(np.add.outer(p, p).ravel())[1:7]
    np.testing.assert_allclose(out.eig_vals.numpy(), expected, atol=1e-8)
    assert out.solver == "shift_invert"


# ------------------------------------------------------------- larger


@pytest.mark.slow
def test_chebyshev_agrees_with_lanczos_on_expander():
    rng = np.random.default_rng(5)
    n, d = 20_000, 10
    rows = []
    for _ in range(d // 2):
        p = rng.permutation(n)
        rows.append(np.stack([p, np.roll(p, 1)]))
    e = np.concatenate(rows, axis=1)
    ei = torch.from_numpy(np.concatenate([e, e[::-1]], axis=1))
    a = laplacian_eig(ei, n, 16, solver="chebyshev")
    a_tight = laplacian_eig(ei, n, 16, solver="chebyshev", tol=1e-7)
    b = laplacian_eig(ei, n, 16, solver="lanczos")
    assert a.max_residual <= 1e-5 and b.max_residual <= 1e-6
    # Below float32's reach the last iterations run in float64.
    assert a_tight.max_residual <= 1e-7
    # Eigenvalue error is bounded by the residual norm.
    assert torch.allclose(a.eig_vals, b.eig_vals, atol=1e-5)
    assert torch.allclose(a_tight.eig_vals, b.eig_vals, atol=2e-7)
