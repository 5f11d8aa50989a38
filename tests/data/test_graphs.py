import numpy as np
import pytest
import torch

from pyg_signeq.data import barabasi_albert, random_regular


def check_simple_undirected(edge_index, n):
    row, col = edge_index
    assert int(edge_index.min()) >= 0 and int(edge_index.max()) < n
    assert not bool((row == col).any())
    pairs = set(zip(row.tolist(), col.tolist(), strict=True))
    assert len(pairs) == edge_index.size(1)  # no duplicates
    assert all((w, u) in pairs for u, w in pairs)  # both directions


@pytest.mark.parametrize("seed", [0, 1])
def test_barabasi_albert(seed):
    n, m = 3000, 4
    e = barabasi_albert(n, m, seed)
    check_simple_undirected(e, n)
    deg = torch.bincount(e[0], minlength=n)
    # About m edges per node, minus the few merged duplicates.
    assert 2 * m * 0.97 <= e.size(1) / n <= 2 * m
    assert int(deg[1:].min()) >= 1
    # Preferential attachment: the oldest nodes collect the most edges.
    assert deg[:30].float().mean() > 5 * deg[-1000:].float().mean()
    assert torch.equal(e, barabasi_albert(n, m, seed))


def test_barabasi_albert_degree_tail():
    # A power law with exponent about 3: the largest degree grows like
    # sqrt(n), far above what a uniform attachment would give.
    e = barabasi_albert(20_000, 3, 0)
    deg = torch.bincount(e[0]).numpy()
    assert deg.max() > 10 * np.median(deg)


def test_random_regular():
    n, d = 2000, 6
    e = random_regular(n, d, 3)
    check_simple_undirected(e, n)
    deg = torch.bincount(e[0], minlength=n)
    assert int(deg.max()) == d
    assert float((deg == d).float().mean()) > 0.99
    assert not torch.equal(e, random_regular(n, d, 4))


@pytest.mark.parametrize(
    ("fn", "args", "match"),
    [
        (random_regular, (10, 3, 0), "'degree' must be even, got 3"),
        (random_regular, (2, 2, 0), "'num_nodes' must be at least 3, got 2"),
        (barabasi_albert, (10, 0, 0), "'num_edges' must be at least 1"),
    ],
)
def test_bad_sizes(fn, args, match):
    with pytest.raises(ValueError, match=match):
        fn(*args)
