import pytest
import torch
from torch_geometric.utils import coalesce

from pyg_signeq.data.families import (
    as_data,
    circular_ladder,
    grid_2d,
    identical_blocks_sbm,
)


def check_coalesced_undirected(edge_index, n):
    assert edge_index.dtype == torch.long
    row, col = edge_index
    assert int(edge_index.min()) >= 0 and int(edge_index.max()) < n
    assert not bool((row == col).any())
    # Coalesced: sorted row-major without duplicates, as PyG would give.
    assert torch.equal(edge_index, coalesce(edge_index, num_nodes=n))
    flipped = coalesce(edge_index.flip(0), num_nodes=n)
    assert torch.equal(edge_index, flipped)


def edge_set(edge_index):
    return set(zip(*edge_index.tolist(), strict=True))


def relabel(edge_index, perm):
    return perm[edge_index]


@pytest.mark.parametrize("n", [3, 4, 7, 50])
def test_circular_ladder(n):
    e = circular_ladder(n)
    check_coalesced_undirected(e, 2 * n)
    assert e.size(1) == 2 * 3 * n
    assert torch.bincount(e[0], minlength=2 * n).tolist() == [3] * (2 * n)
    i = torch.arange(n)
    rotate = torch.cat([(i + 1) % n, n + (i + 1) % n])
    swap = torch.cat([n + i, i])
    for perm in (rotate, swap):
        assert edge_set(relabel(e, perm)) == edge_set(e)
    # Rungs join i and n + i; the cycles join neighbours.
    pairs = edge_set(e)
    assert all((k, n + k) in pairs for k in range(n))
    assert (0, n - 1) in pairs and (n, 2 * n - 1) in pairs


def test_circular_ladder_prism_of_three():
    # The triangular prism, written out by hand.
    expected = {(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)}
    expected |= {(0, 3), (1, 4), (2, 5)}
    expected |= {(w, u) for u, w in expected}
    assert edge_set(circular_ladder(3)) == expected


@pytest.mark.parametrize(("rows", "cols"), [(1, 1), (1, 5), (2, 3), (6, 4)])
def test_open_grid(rows, cols):
    n = rows * cols
    e = grid_2d(rows, cols)
    if n > 1:
        check_coalesced_undirected(e, n)
    assert e.size(1) == 2 * (rows * (cols - 1) + (rows - 1) * cols)
    deg = torch.bincount(e[0], minlength=n).view(rows, cols)
    # Degree = number of neighbours inside the rectangle, by a slow loop.
    for r in range(rows):
        for c in range(cols):
            inside = [
                0 <= r + dr < rows and 0 <= c + dc < cols
                for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0))
            ]
            assert int(deg[r, c]) == sum(inside)
    # Mirroring rows and columns is an automorphism.
    mirror = torch.arange(n).view(rows, cols).flip(0).flip(1).reshape(-1)
    assert edge_set(relabel(e, mirror)) == edge_set(e)


def test_grid_node_layout():
    pairs = edge_set(grid_2d(2, 3))
    assert (0, 1) in pairs and (0, 3) in pairs and (2, 5) in pairs
    assert (2, 3) not in pairs  # no wrap from the end of a row


@pytest.mark.parametrize(("rows", "cols"), [(3, 3), (3, 5), (8, 6)])
def test_torus(rows, cols):
    n = rows * cols
    e = grid_2d(rows, cols, periodic=True)
    check_coalesced_undirected(e, n)
    assert e.size(1) == 2 * 2 * n
    assert torch.bincount(e[0], minlength=n).tolist() == [4] * n
    grid = torch.arange(n).view(rows, cols)
    for shift, dim in ((1, 0), (1, 1), (2, 1)):
        perm = grid.roll(shift, dims=dim).reshape(-1)
        assert edge_set(relabel(e, perm)) == edge_set(e)
    pairs = edge_set(e)
    assert (0, cols - 1) in pairs and (0, (rows - 1) * cols) in pairs


def block_edges(edge_index, block, block_size):
    lo = block * block_size
    keep = (edge_index >= lo).all(0) & (edge_index < lo + block_size).all(0)
    return edge_index[:, keep] - lo


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_identical_blocks_sbm(seed):
    k, b = 4, 30
    n = k * b
    e = identical_blocks_sbm(k, b, 0.3, 0.02, seed)
    check_coalesced_undirected(e, n)
    first = block_edges(e, 0, b)
    assert first.size(1) > 0
    for c in range(1, k):
        assert torch.equal(block_edges(e, c, b), first)
    intra = sum(block_edges(e, c, b).size(1) for c in range(k))
    cross = e.size(1) - intra
    assert cross > 0
    assert torch.equal(e, identical_blocks_sbm(k, b, 0.3, 0.02, seed))
    assert not torch.equal(e, identical_blocks_sbm(k, b, 0.3, 0.02, seed + 10))


def test_identical_blocks_sbm_edge_counts():
    # Exact counts at p = 0 and p = 1.
    k, b = 3, 5
    full = identical_blocks_sbm(k, b, 1.0, 0.0, 0)
    assert full.size(1) == 2 * k * b * (b - 1) // 2
    complete = identical_blocks_sbm(k, b, 1.0, 1.0, 0)
    n = k * b
    assert complete.size(1) == n * (n - 1)
    cross_only = identical_blocks_sbm(k, b, 0.0, 1.0, 0)
    assert cross_only.size(1) == n * (n - 1) - k * b * (b - 1)
    block = cross_only // b
    assert bool((block[0] != block[1]).all())
    assert identical_blocks_sbm(k, b, 0.0, 0.0, 0).size(1) == 0
    assert identical_blocks_sbm(1, b, 0.5, 1.0, 0).max() < b


def test_identical_blocks_sbm_density():
    k, b, p_in, p_out = 5, 200, 0.05, 0.002
    e = identical_blocks_sbm(k, b, p_in, p_out, 7)
    intra = block_edges(e, 0, b).size(1) // 2
    cross = e.size(1) // 2 - k * intra
    expected_intra = p_in * b * (b - 1) / 2
    expected_cross = p_out * b * b * k * (k - 1) / 2
    assert abs(intra - expected_intra) < 5 * expected_intra**0.5
    assert abs(cross - expected_cross) < 5 * expected_cross**0.5


def test_as_data():
    data = as_data(circular_ladder(4), 8)
    assert data.num_nodes == 8
    assert torch.equal(data.x, torch.ones(8, 1))
    assert data.edge_index.size(1) == 24
    isolated = as_data(torch.empty(2, 0, dtype=torch.long), 3)
    assert isolated.num_nodes == 3


@pytest.mark.parametrize(
    ("fn", "args", "error", "match"),
    [
        (circular_ladder, (2,), ValueError, "'num_rungs' must be at least 3"),
        (circular_ladder, (3.0,), TypeError, "'num_rungs' must be an int"),
        (grid_2d, (0, 3), ValueError, "'rows' must be at least 1, got 0"),
        (grid_2d, (3, 2, True), ValueError, "'cols' must be at least 3"),
        (grid_2d, (3, 3, 1), TypeError, "'periodic' must be a bool, got int"),
        (
            identical_blocks_sbm,
            (2, 1, 0.5, 0.1, 0),
            ValueError,
            "'block_size' must be at least 2, got 1",
        ),
        (
            identical_blocks_sbm,
            (2, 5, 1.5, 0.1, 0),
            ValueError,
            r"'p_in' must lie in \[0, 1\], got 1.5",
        ),
        (
            identical_blocks_sbm,
            (2, 5, 0.5, -0.1, 0),
            ValueError,
            r"'p_out' must lie in \[0, 1\], got -0.1",
        ),
        (
            identical_blocks_sbm,
            (2, 5, 0.5, "0.1", 0),
            TypeError,
            "'p_out' must be a float, got str",
        ),
        (
            identical_blocks_sbm,
            (2, 5, 0.5, 0.1, -1),
            ValueError,
            "'seed' must be non-negative, got -1",
        ),
        (
            as_data,
            (torch.tensor([[0, 5], [5, 0]]), 5),
            ValueError,
            r"'num_nodes' must exceed every node id .*largest 5.*got 5",
        ),
        (
            as_data,
            (torch.zeros(3, 2, dtype=torch.long), 5),
            ValueError,
            r"'edge_index' must have shape \[2, E\], got \[3, 2\]",
        ),
    ],
)
def test_bad_arguments(fn, args, error, match):
    with pytest.raises(error, match=match):
        fn(*args)
