import numpy as np
import pytest
import torch
from torch_geometric.utils import coalesce, is_undirected

from pyg_signeq.data import erdos_renyi, nearly_symmetric
from pyg_signeq.data.synthetic import _pair_from_index


def edge_set(edge_index):
    return set(zip(*edge_index.tolist(), strict=True))


def check_simple_undirected(edge_index, num_nodes):
    row, col = edge_index
    assert edge_index.dtype == torch.long
    assert int(edge_index.min()) >= 0 and int(edge_index.max()) < num_nodes
    assert not bool((row == col).any())
    assert is_undirected(edge_index, num_nodes=num_nodes)
    # Coalesced: sorted by (row, col) without duplicates.
    assert torch.equal(coalesce(edge_index, num_nodes=num_nodes), edge_index)


def test_pair_index_matches_enumeration():
    pairs = [(u, w) for w in range(60) for u in range(w)]
    u, w = _pair_from_index(np.arange(len(pairs)))
    assert list(zip(u.tolist(), w.tolist(), strict=True)) == pairs
    # Far beyond float32, where the square root alone would be off.
    big = np.array([10**13, 5 * 10**13 - 1])
    u, w = _pair_from_index(big)
    assert np.all(w * (w - 1) // 2 + u == big) and np.all(u < w)


def test_erdos_renyi_is_simple_and_has_expected_density():
    n, p = 600, 0.05
    edge_index = erdos_renyi(n, p, seed=3)
    check_simple_undirected(edge_index, n)
    num_edges = edge_index.size(1) // 2
    mean = p * n * (n - 1) / 2
    # Binomial standard deviation is about 66; allow five.
    assert abs(num_edges - mean) < 5 * (mean * (1 - p)) ** 0.5
    assert torch.equal(edge_index, erdos_renyi(n, p, seed=3))
    assert not torch.equal(edge_index, erdos_renyi(n, p, seed=4))


def test_erdos_renyi_pairs_are_uniform():
    # Every pair of a 6-node graph should appear about p of the time.
    n, p, trials = 6, 0.3, 400
    counts = torch.zeros(n, n)
    for seed in range(trials):
        edge_index = erdos_renyi(n, p, seed)
        counts[edge_index[0], edge_index[1]] += 1
    upper = counts[torch.triu_indices(n, n, 1).unbind()] / trials
    # Binomial(400, 0.3) has standard deviation 0.023 as a frequency.
    assert float((upper - p).abs().max()) < 0.1


@pytest.mark.parametrize(("p", "num_edges"), [(0.0, 0), (1.0, 45)])
def test_erdos_renyi_extremes(p, num_edges):
    edge_index = erdos_renyi(10, p, seed=0)
    assert edge_index.size(1) == 2 * num_edges


@pytest.mark.parametrize("family", ["er", "ba"])
@pytest.mark.parametrize("num_copies", [2, 3])
def test_nearly_symmetric_copies_are_identical(family, num_copies):
    base, extra = 150, 40
    data = nearly_symmetric(
        family, base, num_copies, extra, seed=1, p=0.1, m=3
    )
    n = base * num_copies
    assert data.num_nodes == n
    assert torch.equal(data.x, torch.ones(n, 1))
    check_simple_undirected(data.edge_index, n)
    assert torch.equal(
        data.copy, torch.arange(num_copies).repeat_interleave(base)
    )

    # The induced subgraph of every copy, shifted back to ids [0, base).
    row, col = data.edge_index
    induced = []
    for c in range(num_copies):
        mask = (data.copy[row] == c) & (data.copy[col] == c)
        induced.append(edge_set(data.edge_index[:, mask] - c * base))
    base_graph = {(u, w) for u, w in set.intersection(*induced) if u < w}
    copies = {
        (u + c * base, w + c * base)
        for c in range(num_copies)
        for u, w in base_graph
    }
    edges = {(u, w) for u, w in edge_set(data.edge_index) if u < w}
    # Apart from exactly `extra` added edges, the graph is num_copies
    # shifted copies of one base graph.
    assert copies <= edges
    assert len(edges - copies) == extra
    if family == "er":
        expected = 0.1 * base * (base - 1) / 2
        assert abs(len(base_graph) - expected) < 0.15 * expected
    else:
        assert 2.5 * base < len(base_graph) <= 3 * base


def test_copy_zero_equals_copy_one_after_shift():
    base = 200
    data = nearly_symmetric("er", base, 2, num_extra_edges=0, seed=5, p=0.05)
    row, col = data.edge_index
    copy0 = data.edge_index[:, (row < base) & (col < base)]
    copy1 = data.edge_index[:, (row >= base) & (col >= base)] - base
    assert torch.equal(copy0, copy1)
    assert copy0.size(1) == data.edge_index.size(1) // 2
    # With extra edges the base graph is the same: they come from a
    # separate random stream.
    more = nearly_symmetric("er", base, 2, num_extra_edges=30, seed=5, p=0.05)
    assert edge_set(data.edge_index) <= edge_set(more.edge_index)
    assert more.edge_index.size(1) == data.edge_index.size(1) + 60


def test_paper_sizes():
    data = nearly_symmetric("er", seed=0)
    assert data.num_nodes == 2000
    num_edges = data.edge_index.size(1) // 2
    # Two copies of G(1000, 0.05), about 24,975 edges each, plus 1000.
    assert 2 * 23_500 + 1000 < num_edges < 2 * 26_500 + 1000
    assert num_edges % 2 == 0  # 2 * E_base + 1000 is even


@pytest.mark.parametrize("family", ["er", "ba"])
def test_nearly_symmetric_is_deterministic_per_seed(family):
    kwargs = dict(base_nodes=100, num_extra_edges=20, p=0.1, m=3)
    first = nearly_symmetric(family, seed=7, **kwargs)
    second = nearly_symmetric(family, seed=7, **kwargs)
    other = nearly_symmetric(family, seed=8, **kwargs)
    assert torch.equal(first.edge_index, second.edge_index)
    assert not torch.equal(first.edge_index, other.edge_index)


def test_extra_edges_cross_copies_uniformly():
    # Uniform pairs of two equal copies cross them about half the time.
    data = nearly_symmetric("er", 500, 2, num_extra_edges=2000, p=0.01)
    row, col = data.edge_index
    crossing = int((data.copy[row] != data.copy[col]).sum()) // 2
    assert 850 < crossing < 1150


def test_every_non_edge_can_be_filled():
    # Asking for all remaining pairs must end, with the complete graph.
    copies_only = nearly_symmetric("er", 5, 2, num_extra_edges=0, p=0.4)
    free = 45 - copies_only.edge_index.size(1) // 2
    data = nearly_symmetric("er", 5, 2, num_extra_edges=free, p=0.4)
    assert data.edge_index.size(1) == 2 * 45
    check_simple_undirected(data.edge_index, 10)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(family="ws"), ValueError, r"'family' must be one of .*'ws'"),
        (dict(base_nodes=1), ValueError, "'base_nodes' must be at least 2"),
        (dict(num_copies=0), ValueError, "'num_copies' must be at least 1"),
        (
            dict(num_extra_edges=-1),
            ValueError,
            "'num_extra_edges' must be at least 0, got -1",
        ),
        (dict(num_extra_edges=2.5), TypeError, "'num_extra_edges' must be"),
        (dict(p=1.5), ValueError, r"'p' must lie in \[0, 1\], got 1.5"),
        (dict(p="0.1"), TypeError, "'p' must be a float, got str"),
        (dict(family="ba", m=0), ValueError, "'m' must be at least 1"),
        (dict(seed=-1), ValueError, "'seed' must be non-negative, got -1"),
        (dict(seed=1.0), TypeError, "'seed' must be an int, got float"),
        (
            dict(base_nodes=4, p=1.0, num_extra_edges=17),
            ValueError,
            "'num_extra_edges' must be at most the 16 node pairs .* got 17",
        ),
    ],
)
def test_nearly_symmetric_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        nearly_symmetric(**kwargs)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((1, 0.5, 0), ValueError, "'num_nodes' must be at least 2, got 1"),
        ((10, -0.1, 0), ValueError, r"'p' must lie in \[0, 1\], got -0.1"),
        ((10, 0.5, "a"), TypeError, "'seed' must be an int, got str"),
    ],
)
def test_erdos_renyi_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        erdos_renyi(*args)
