import pytest
import torch

from pyg_signeq.data import block_symmetry, orbit_split, symmetric_blocks
from pyg_signeq.nn import SignDSS, SignEqNet, SignNet, build_model
from pyg_signeq.transforms import AddLaplacianPE

K, B = 4, 12


def _edges(edge_index):
    return set(map(tuple, edge_index.t().tolist()))


def _graph(seed=0, **kwargs):
    options = {
        "num_blocks": K,
        "block_size": B,
        "p": 0.3,
        "num_bridges": [2, 4],
        "seed": seed,
    }
    options.update(kwargs)
    return symmetric_blocks(**options)


def test_labels_sizes_and_edge_index_conventions():
    data = _graph()

    node = torch.arange(K * B)
    assert data.num_nodes == K * B
    assert torch.equal(data.y, node // B)
    assert torch.equal(data.orbit, node % B)
    assert torch.equal(data.x, torch.ones(K * B, 1))
    row, col = data.edge_index
    assert (row != col).all()
    assert _edges(data.edge_index) == _edges(data.edge_index.flip(0))
    key = row * K * B + col
    assert (key[1:] > key[:-1]).all()  # sorted, no duplicates


def test_blocks_are_identical_copies_joined_along_hypercube_edges():
    data = _graph(seed=3)
    row, col = data.edge_index
    inside = data.y[row] == data.y[col]
    per_block = [
        _edges(data.edge_index[:, inside & (data.y[row] == c)] - c * B)
        for c in range(K)
    ]
    assert per_block[0] and all(e == per_block[0] for e in per_block)

    # Blocks c and c ^ 2^j only: the XOR of their labels is a power of 2.
    across = data.y[row[~inside]] ^ data.y[col[~inside]]
    assert set(across.tolist()) == {1, 2}


@pytest.mark.parametrize("element", range(K))
def test_every_block_symmetry_is_an_automorphism(element):
    data = _graph(seed=element)
    perm = block_symmetry(K, B, element)

    assert _edges(perm[data.edge_index]) == _edges(data.edge_index)
    assert torch.equal(perm[perm], torch.arange(K * B))
    assert torch.equal(data.y[perm], data.y ^ element)
    assert torch.equal(data.orbit[perm], data.orbit)


def test_the_automorphism_check_fails_on_a_broken_copy():
    # One bridge removed (both directions): the copies are no longer
    # symmetric, and the same check must notice.
    data = _graph()
    row, col = data.edge_index
    u, w = (
        int(row[data.y[row] != data.y[col]][0]),
        int(col[data.y[row] != data.y[col]][0]),
    )
    keep = ~(((row == u) & (col == w)) | ((row == w) & (col == u)))
    broken = data.edge_index[:, keep]
    perm = block_symmetry(K, B, int(data.y[u] ^ data.y[w]))

    assert _edges(perm[broken]) != _edges(broken)


def test_connected_even_without_random_edges():
    data = _graph(p=0.0, num_bridges=1)
    reached = torch.zeros(K * B, dtype=torch.bool)
    reached[0] = True
    row, col = data.edge_index
    for _ in range(K * B):
        reached[col[reached[row]]] = True
    assert reached.all()


def test_seed_decides_the_graph():
    assert torch.equal(_graph(5).edge_index, _graph(5).edge_index)
    assert not torch.equal(_graph(5).edge_index, _graph(6).edge_index)


def test_one_bridge_count_for_every_direction():
    data = _graph(num_bridges=3)
    row, col = data.edge_index
    across = data.y[row] != data.y[col]
    # At most 3 pairs, each listed in both orientations from both blocks.
    for direction in (1, 2):
        chosen = (data.y[row] ^ data.y[col]) == direction
        assert 0 < int((across & chosen).sum()) <= 2 * 2 * 3 * K


def _pe(data, k=6):
    return AddLaplacianPE(k=k, dtype=torch.float64)(data).pe


def _sign_flips(pe, perm):
    # (P V)[perm[u]] = V[u]; the symmetry acts as the signs S with
    # P V = V S.
    moved = torch.empty_like(pe)
    moved[perm] = pe
    return moved, torch.sign((moved * pe).sum(0))


@pytest.mark.parametrize("element", [1, 2, 3])
def test_block_symmetries_flip_eigenvector_signs(element):
    data = _graph(seed=1, block_size=20, p=0.25, num_bridges=[3, 7])
    pe = _pe(data)
    moved, signs = _sign_flips(pe, block_symmetry(K, 20, element))

    torch.testing.assert_close(moved, pe * signs, atol=1e-10, rtol=0)
    # Some eigenvector is odd under every non-trivial symmetry.
    assert (signs < 0).any()


def _moved(out, perm):
    moved = torch.empty_like(out)
    moved[perm] = out
    return moved


def test_sign_invariant_models_cannot_tell_copies_apart():
    data = _graph(seed=1, block_size=20, p=0.25, num_bridges=[3, 7])
    pe = _pe(data)
    torch.manual_seed(0)
    signnet = SignNet(6, 16, 4, 16, 8).double()
    gcn = build_model("gcn", k=6).double()

    invariant = [
        signnet(pe, data.edge_index),
        gcn.encode(data.x.double(), data.edge_index).h,
    ]
    for element in (1, 2, 3):
        perm = block_symmetry(K, 20, element)
        for out in invariant:
            assert out.abs().max() > 1e-3
            torch.testing.assert_close(
                _moved(out, perm), out, atol=1e-8, rtol=0
            )


@pytest.mark.parametrize(
    "network",
    [
        lambda: SignEqNet(1, 8, 4, num_layers=2, k=6, rescale=True),
        lambda: SignDSS(6, 16, num_layers=2),
    ],
    ids=["SignEqNet", "SignDSS"],
)
def test_sign_equivariant_models_keep_copies_apart(network):
    data = _graph(seed=1, block_size=20, p=0.25, num_bridges=[3, 7])
    pe = _pe(data)
    torch.manual_seed(0)
    z = network().double()(pe, data.edge_index)
    shape = (-1,) + (1,) * (z.dim() - 2)

    for element in (1, 2, 3):
        perm = block_symmetry(K, 20, element)
        _, signs = _sign_flips(pe, perm)
        moved = _moved(z, perm)
        # Copies get the same embedding up to the symmetry's sign flips,
        # and those flips make them differ.
        torch.testing.assert_close(
            moved, z * signs.view(shape), atol=1e-8, rtol=0
        )
        assert (moved - z).abs().max() > 1e-2


def test_orbit_split_keeps_orbits_together_and_blocks_alike():
    data = _graph(block_size=20)
    train, val, test = orbit_split(data.orbit, val=0.2, test=0.3, seed=4)

    assert torch.equal(
        train.long() + val.long() + test.long(), torch.ones(K * 20).long()
    )
    assert [int(m.sum()) for m in (train, val, test)] == [
        K * 10,
        K * 4,
        K * 6,
    ]
    for mask in (train, val, test):
        chosen = mask.view(K, 20)
        # Every block holds the same orbits.
        assert torch.equal(chosen, chosen[:1].expand(K, -1))
    again = orbit_split(data.orbit, val=0.2, test=0.3, seed=4)
    other = orbit_split(data.orbit, val=0.2, test=0.3, seed=5)
    assert torch.equal(again[2], test)
    assert not torch.equal(other[2], test)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_blocks": 3}, ValueError, "'num_blocks' must be a power"),
        ({"num_blocks": 1}, ValueError, "'num_blocks' must be at least 2"),
        ({"num_blocks": 2.0}, TypeError, "'num_blocks' must be an int"),
        ({"block_size": 1}, ValueError, "'block_size'"),
        ({"p": 1.5}, ValueError, "'p' must lie in"),
        ({"num_bridges": [2]}, ValueError, "'num_bridges' must have one"),
        ({"num_bridges": [2, 0]}, ValueError, "'num_bridges' must hold"),
        ({"num_bridges": "2"}, TypeError, "'num_bridges' must be an int"),
        ({"seed": -1}, ValueError, "'seed'"),
    ],
)
def test_symmetric_blocks_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        _graph(**kwargs)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((3, 4, 1), "'num_blocks'"),
        ((4, 1, 1), "'block_size'"),
        ((4, 4, 4), r"'element' must be an int in \[0, num_blocks\)"),
        ((4, 4, -1), "'element'"),
    ],
)
def test_block_symmetry_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        block_symmetry(*args)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"test": 0.0}, ValueError, "'test' must leave at least one"),
        ({"val": 0.5, "test": 0.5}, ValueError, "'val' \\+ 'test'"),
        ({"val": -0.1}, ValueError, "'val' must lie in"),
        ({"orbit": torch.zeros(4)}, TypeError, "'orbit' must be a torch"),
        (
            {"orbit": torch.zeros(2, 2, dtype=torch.long)},
            ValueError,
            "'orbit' must have shape",
        ),
    ],
)
def test_orbit_split_rejects_bad_input(kwargs, error, match):
    options = {"orbit": torch.arange(40) % 10}
    options.update(kwargs)
    with pytest.raises(error, match=match):
        orbit_split(**options)
