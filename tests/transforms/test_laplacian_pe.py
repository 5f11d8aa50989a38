import pytest
import torch
import torch_geometric.transforms as T
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from torch_geometric.utils import barabasi_albert_graph, to_undirected

from pyg_signeq.spectral import canonicalize_signs, laplacian_eig
from pyg_signeq.transforms import AddLaplacianPE, add_train_pe


def ba_data(n=60, m=3, seed=0):
    torch.manual_seed(seed)
    return Data(edge_index=barabasi_albert_graph(n, m), num_nodes=n)


def ring(n):
    row = torch.arange(n)
    return Data(
        edge_index=to_undirected(torch.stack([row, (row + 1) % n])),
        num_nodes=n,
    )


def test_stores_pe_and_eig_vals():
    data = ba_data()
    out = AddLaplacianPE(k=5)(data)
    ref = laplacian_eig(data.edge_index, data.num_nodes, 5)
    assert out.pe.shape == (60, 5) and out.pe.dtype == torch.float32
    assert out.eig_vals.shape == (1, 5)
    assert torch.allclose(out.pe, ref.eig_vecs.float())
    assert torch.allclose(out.eig_vals[0], ref.eig_vals.float())
    # The transform works on a copy and leaves the input alone.
    assert "pe" not in data


def test_custom_names_and_dtype():
    out = AddLaplacianPE(
        k=3, attr_name="lap", eig_vals_attr_name="lam", dtype=torch.float64
    )(ba_data())
    assert out.lap.dtype == torch.float64 and out.lam.shape == (1, 3)


def test_batches_of_small_graphs_in_compose():
    graphs = [ring(n) for n in (5, 7, 9, 4)]
    transform = T.Compose([T.ToUndirected(), AddLaplacianPE(k=4)])
    with pytest.warns(UserWarning, match="zero-padded"):
        data_list = [transform(g) for g in graphs]
    batch = next(iter(DataLoader(data_list, batch_size=4)))
    assert batch.pe.shape == (25, 4)
    assert batch.eig_vals.shape == (4, 4)
    # The 4-cycle has 3 non-trivial eigenpairs; its last column is padding.
    assert float(batch.eig_vals[3, 3]) == 0.0
    assert bool((batch.eig_vals[:3] > 0).all())


def test_graph_without_edges_gets_zero_pe():
    data = Data(edge_index=torch.zeros(2, 0, dtype=torch.long), num_nodes=3)
    with pytest.warns(UserWarning, match="without edges"):
        out = AddLaplacianPE(k=2)(data)
    assert out.pe.shape == (3, 2) and bool((out.pe == 0).all())
    assert bool((out.eig_vals == 0).all())


def test_random_sign_is_seeded_and_leaves_global_rng_alone():
    data = ba_data()
    plain = AddLaplacianPE(k=6)(data).pe
    state = torch.get_rng_state()
    a = AddLaplacianPE(k=6, sign="random", seed=3)
    b = AddLaplacianPE(k=6, sign="random", seed=3)
    out_a = [a(data).pe for _ in range(4)]
    out_b = [b(data).pe for _ in range(4)]
    assert torch.equal(torch.get_rng_state(), state)
    for x, y in zip(out_a, out_b, strict=True):
        assert torch.equal(x, y)
        # Only whole columns change sign.
        signs = torch.sign((x * plain).sum(0))
        assert torch.equal(x, plain * signs)
    # Over several graphs, flips do happen.
    assert any(not torch.equal(x, plain) for x in out_a)


def test_canonical_sign():
    data = ba_data()
    out = AddLaplacianPE(k=6, sign="canonical")(data)
    raw = AddLaplacianPE(k=6)(data)
    assert torch.equal(out.pe, canonicalize_signs(raw.pe.double()).float())


def test_uses_integer_column_edge_weight():
    data = ba_data()
    gen = torch.Generator().manual_seed(0)
    und = data.edge_index[:, data.edge_index[0] < data.edge_index[1]]
    w = torch.randint(1, 5, (und.size(1), 1), generator=gen)
    data = Data(
        edge_index=torch.cat([und, und.flip(0)], 1),
        edge_weight=torch.cat([w, w]),
        num_nodes=60,
    )
    weighted = AddLaplacianPE(k=4)(data)
    ref = laplacian_eig(data.edge_index, 60, 4, data.edge_weight.double())
    assert torch.allclose(weighted.eig_vals[0], ref.eig_vals.float())
    unweighted = AddLaplacianPE(k=4, edge_weight_attr_name=None)(data)
    assert not torch.allclose(weighted.eig_vals, unweighted.eig_vals)


def test_repr():
    assert repr(AddLaplacianPE(k=4)) == (
        "AddLaplacianPE(k=4, normalization='sym', solver='auto', sign='none')"
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"k": 0}, ValueError, "'k' must be at least 1, got 0"),
        ({"k": "4"}, TypeError, "'k' must be an int, got str"),
        ({"normalization": "x"}, ValueError, "'normalization'.*'x'"),
        ({"solver": "x"}, ValueError, "'solver' must be one of.*'x'"),
        ({"sign": "flip"}, ValueError, "'sign' must be one of.*'flip'"),
        ({"seed": 1.5}, TypeError, "'seed' must be an int or None"),
        ({"eig_vals_attr_name": "pe"}, ValueError, "must differ.*'pe'"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    args = {"k": 4}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        AddLaplacianPE(**args)


def test_bad_data():
    with pytest.raises(ValueError, match="'data.edge_index' is missing"):
        AddLaplacianPE(k=2)(Data(num_nodes=3))
    bad = Data(edge_index=torch.tensor([[0, 5], [5, 0]]), num_nodes=3)
    with pytest.raises(ValueError, match="node index 5, out of range"):
        AddLaplacianPE(k=2)(bad)


# ------------------------------------------------------------ link splits


def test_add_train_pe_uses_training_edges_only():
    data = ba_data(n=120)
    split = T.RandomLinkSplit(num_val=0.1, num_test=0.2, is_undirected=True)
    torch.manual_seed(0)
    train, val, test = split(data)
    transform = AddLaplacianPE(k=6)
    train_pe, val_pe, test_pe = add_train_pe(train, val, test, transform)

    expected = laplacian_eig(train.edge_index, 120, 6).eig_vecs.float()
    for split_data in (train_pe, val_pe, test_pe):
        assert torch.equal(split_data.pe, expected)
        assert torch.equal(split_data.eig_vals, train_pe.eig_vals)
    # The test split's message-passing graph holds the validation edges,
    # so a PE computed on it would differ: the helper must not use it.
    leaked = laplacian_eig(test.edge_index, 120, 6).eig_vals.float()
    assert not torch.allclose(leaked, train_pe.eig_vals[0])
    # Splits keep their own labels and edges.
    assert torch.equal(test_pe.edge_label_index, test.edge_label_index)
    assert "pe" not in train


def test_add_train_pe_bad_input():
    a, b = ba_data(n=40), ba_data(n=50)
    with pytest.raises(
        ValueError, match=r"same number of nodes.*\[40, 40, 50\]"
    ):
        add_train_pe(a, a, b, AddLaplacianPE(k=2))
    with pytest.raises(TypeError, match="'transform' must be an AddLaplacian"):
        add_train_pe(a, a, a, T.ToUndirected())
