"""Tests of the link heads, ``LinkPredictor`` and the model zoo."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.nn import GAT, GCN, GIN, GraphSAGE

from pyg_signeq.nn import (
    MODEL_NAMES,
    PAPER_MODELS,
    PAPER_PARAMETER_COUNTS,
    DotProductHead,
    HadamardMLPHead,
    LinkEmbedding,
    LinkPredictor,
    PEGNet,
    SignDSS,
    SignEqNet,
    SignNet,
    SignProductHead,
    build_model,
    describe_model,
)

K = 6


def _num_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _graph(num_nodes: int = 12, seed: int = 0) -> Data:
    # A random undirected graph with an isolated node, float64 inputs.
    generator = torch.Generator().manual_seed(seed)
    upper = torch.rand(num_nodes, num_nodes, generator=generator) < 0.3
    upper = torch.triu(upper, diagonal=1)
    upper[-1] = False
    upper[:, -1] = False
    edge_index = (upper | upper.T).nonzero().T.contiguous()
    pe = torch.randn(num_nodes, K, generator=generator, dtype=torch.float64)
    pe = pe / num_nodes**0.5
    x = torch.randn(num_nodes, 3, generator=generator, dtype=torch.float64)
    edge_label_index = torch.randint(
        0, num_nodes, (2, 20), generator=generator
    )
    return Data(
        x=x,
        edge_index=edge_index,
        pe=pe,
        edge_label_index=edge_label_index,
        num_nodes=num_nodes,
    )


def _logits(model: LinkPredictor, data: Data) -> torch.Tensor:
    return model(data.x, data.edge_index, data.edge_label_index, pe=data.pe)


def _flip(data: Data, seed: int) -> Data:
    generator = torch.Generator().manual_seed(seed)
    signs = torch.randint(0, 2, (K,), generator=generator) * 2 - 1
    flipped = data.clone()
    flipped.pe = data.pe * signs.to(data.pe.dtype)
    return flipped


def _permute(data: Data, seed: int) -> Data:
    generator = torch.Generator().manual_seed(seed)
    perm = torch.randperm(data.num_nodes, generator=generator)
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(data.num_nodes)
    order = torch.randperm(data.edge_index.size(1), generator=generator)
    permuted = data.clone()
    permuted.x = data.x[perm]
    permuted.pe = data.pe[perm]
    permuted.edge_index = inverse[data.edge_index[:, order]]
    permuted.edge_label_index = inverse[data.edge_label_index]
    return permuted


def _build(name: str, seed: int) -> LinkPredictor:
    torch.manual_seed(seed)
    return build_model(name, k=K, in_channels=3).double()


@pytest.mark.parametrize("name", MODEL_NAMES)
@torch.no_grad()
def test_zoo_logits_are_sign_invariant_and_follow_permutations(
    name: str, seed: int
) -> None:
    data = _graph(seed=seed)
    model = _build(name, seed).eval()
    logits = _logits(model, data)

    assert logits.shape == (data.edge_label_index.size(1),)
    assert logits.dtype == torch.float64
    for trial in range(4):
        flipped = _logits(model, _flip(data, seed + trial))
        permuted = _logits(model, _permute(data, seed + trial))
        both = _logits(model, _permute(_flip(data, trial), seed + trial))
        scale = 1.0 + float(logits.abs().max())
        assert float((flipped - logits).abs().max()) <= 1e-10 * scale
        assert float((permuted - logits).abs().max()) <= 1e-10 * scale
        assert float((both - logits).abs().max()) <= 1e-10 * scale


def test_paper_parameter_counts() -> None:
    counts = {
        name: _num_parameters(build_model(name)) for name in PAPER_MODELS
    }

    assert counts == PAPER_PARAMETER_COUNTS
    assert set(PAPER_MODELS) <= set(MODEL_NAMES)


@pytest.mark.parametrize("name", sorted(set(MODEL_NAMES) - set(PAPER_MODELS)))
def test_our_models_have_about_the_paper_budget(name: str) -> None:
    # Same budget as the paper's models, so comparisons are fair.
    assert 20_000 <= _num_parameters(build_model(name)) <= 27_000


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_describe_model(name: str) -> None:
    assert isinstance(describe_model(name), str)
    assert len(describe_model(name)) > 10


def test_build_model_rejects_unknown_names_and_sizes() -> None:
    with pytest.raises(ValueError, match="'name' must be one of .*'gat'"):
        build_model("gat")
    with pytest.raises(ValueError, match="'k' must be positive, got 0"):
        build_model("sign_dss", k=0)
    with pytest.raises(ValueError, match="'in_channels' must be positive"):
        build_model("gcn", in_channels=-1)


@pytest.mark.parametrize("name", [n for n in MODEL_NAMES if n != "eigvec_dot"])
def test_gradients_reach_every_parameter(name: str, seed: int) -> None:
    data = _graph(seed=seed)
    model = _build(name, seed)

    _logits(model, data).square().sum().backward()

    for param_name, param in model.named_parameters():
        assert param.grad is not None, param_name
        assert bool(param.grad.abs().sum() > 0), param_name


@pytest.mark.parametrize("name", [n for n in MODEL_NAMES if n != "eigvec_dot"])
def test_reset_parameters_draws_fresh_weights(name: str, seed: int) -> None:
    model = _build(name, seed)
    before = [p.detach().clone() for p in model.parameters()]

    torch.manual_seed(seed + 1)
    model.reset_parameters()
    after = [p.detach().clone() for p in model.parameters()]
    torch.manual_seed(seed + 1)
    model.reset_parameters()
    again = [p.detach() for p in model.parameters()]

    # Every sub-module is reset from the global RNG: the same state gives
    # the same weights, another one new weights.
    assert all(torch.equal(a, b) for a, b in zip(after, again, strict=True))
    assert any(
        not torch.equal(a, b) for a, b in zip(before, after, strict=True)
    )


@pytest.mark.parametrize(
    "encoder",
    [
        lambda: GCN(3, 16, num_layers=2),
        lambda: GraphSAGE(3, 16, num_layers=2),
        lambda: GIN(3, 16, num_layers=2),
        lambda: GAT(3, 16, num_layers=2, heads=2),
    ],
    ids=["gcn", "sage", "gin", "gat"],
)
@pytest.mark.parametrize(
    "head",
    [
        lambda: SignProductHead(8, 16, node_channels=16),
        lambda: SignProductHead(8, 16, node_channels=16, column_layers=0),
        lambda: HadamardMLPHead(16 + K * 8, 32),
        lambda: DotProductHead(),
    ],
    ids=["product", "channel_dot", "hadamard", "dot"],
)
@torch.no_grad()
def test_any_basic_gnn_composes_with_sign_eq_net(
    encoder, head, seed: int
) -> None:
    torch.manual_seed(seed)
    model = LinkPredictor(
        node_encoder=encoder(),
        pe_encoder=SignEqNet(1, 8, 8, num_layers=2, k=K),
        head=head(),
    ).double()
    model.eval()
    data = _graph(seed=seed)
    logits = _logits(model, data)

    flipped = _logits(model, _flip(data, seed))
    permuted = _logits(model, _permute(data, seed))

    scale = 1.0 + float(logits.abs().max())
    assert float((flipped - logits).abs().max()) <= 1e-10 * scale
    assert float((permuted - logits).abs().max()) <= 1e-10 * scale


def test_encode_then_decode_equals_forward(seed: int) -> None:
    data = _graph(seed=seed)
    model = _build("sign_eq_gnn", seed)

    embedding = model.encode(data.x, data.edge_index, data.pe)
    halves = data.edge_label_index.split(7, dim=1)

    assert isinstance(embedding, LinkEmbedding)
    assert embedding.h.shape == (data.num_nodes, 32)
    assert embedding.z.shape == (data.num_nodes, K, 8)
    chunked = torch.cat([model.decode(embedding, part) for part in halves])
    torch.testing.assert_close(chunked, _logits(model, data))
    torch.testing.assert_close(model.encode_data(data).z, embedding.z)


def test_dot_product_head_matches_a_loop(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(9, 4, 3, generator=generator, dtype=torch.float64)
    edge_label_index = torch.randint(0, 9, (2, 11), generator=generator)

    logits = DotProductHead()(x, edge_label_index)

    expected = torch.stack(
        [(x[u] * x[w]).sum() for u, w in edge_label_index.T.tolist()]
    )
    torch.testing.assert_close(logits, expected, rtol=0, atol=1e-12)


def test_hadamard_head_is_an_mlp_on_products(seed: int) -> None:
    torch.manual_seed(seed)
    head = HadamardMLPHead(5, 7, num_layers=2).double()
    x = torch.randn(6, 5, dtype=torch.float64)
    edge_label_index = torch.tensor([[0, 1, 5], [2, 1, 3]])

    logits = head(x, edge_label_index)

    first, second = head.mlp.lins
    for i, (u, w) in enumerate(edge_label_index.T.tolist()):
        expected = second(first(x[u] * x[w]).relu())
        assert abs(float(logits[i] - expected)) <= 1e-12
    assert _num_parameters(HadamardMLPHead(16, 148)) == 24_717


def test_channel_dot_head_is_an_mlp_on_channel_dot_products(
    seed: int,
) -> None:
    torch.manual_seed(seed)
    head = SignProductHead(3, 8, node_channels=2, column_layers=0).double()
    z = torch.randn(7, K, 3, dtype=torch.float64)
    h = torch.randn(7, 2, dtype=torch.float64)
    edge_label_index = torch.tensor([[0, 4, 6, 2], [1, 4, 3, 5]])

    logits = head(z, edge_label_index, h=h)

    assert head.column_mlp is None
    first, second = head.mlp.lins
    for i, (u, w) in enumerate(edge_label_index.T.tolist()):
        dots = (z[u] * z[w]).mean(dim=0)
        features = torch.cat([dots, h[u] * h[w]])
        expected = second(first(features).relu())
        assert abs(float(logits[i] - expected)) <= 1e-12
    assert _num_parameters(head) == (3 + 2) * 8 + 8 + 8 + 1
    with pytest.raises(ValueError, match="'column_layers' must be a non-neg"):
        SignProductHead(3, column_layers=-1)


def test_sign_product_head_is_sign_invariant_per_column(seed: int) -> None:
    torch.manual_seed(seed)
    head = SignProductHead(3, 8, node_channels=4).double()
    z = torch.randn(10, K, 3, dtype=torch.float64)
    h = torch.randn(10, 4, dtype=torch.float64)
    edge_label_index = torch.randint(0, 10, (2, 15))
    logits = head(z, edge_label_index, h=h)

    for column in range(K):
        flipped = z.clone()
        flipped[:, column] = -flipped[:, column]
        again = head(flipped, edge_label_index, h=h)
        torch.testing.assert_close(again, logits, rtol=0, atol=1e-12)
    # Not invariant to flipping one node alone: it sees positions.
    one_node = z.clone()
    one_node[edge_label_index[0, 0], 0] *= -1
    changed = head(one_node, edge_label_index, h=h)
    assert not torch.allclose(changed[0], logits[0])


def test_sign_equivariant_embeddings_keep_automorphic_nodes_apart() -> None:
    # Two disjoint paths 0-1-2 and 3-4-5 joined by nothing: 0 and 3 are
    # automorphic. A sign-invariant network must give them equal
    # embeddings; a sign-equivariant one may not, so pairs (0, w) and
    # (3, w) get different scores.
    edge_index = torch.tensor(
        [[0, 1, 1, 2, 3, 4, 4, 5], [1, 0, 2, 1, 4, 3, 5, 4]]
    )
    pe = torch.tensor(
        [
            [1.0, 0.5],
            [0.0, 0.2],
            [-1.0, 0.5],
            [1.0, -0.5],
            [0.0, -0.2],
            [-1.0, -0.5],
        ],
        dtype=torch.float64,
    )
    # Column 2 separates the copies only by sign.
    torch.manual_seed(0)
    invariant = SignNet(2, 8, 2, 8, 4).double()
    equivariant = SignDSS(2, 8, 2).double()
    pairs = torch.tensor([[0, 3], [1, 1]])

    h = invariant(pe, edge_index)
    torch.testing.assert_close(h[0], h[3])
    scores_eq = LinkPredictor(pe_encoder=equivariant)(
        None, edge_index, pairs, pe=pe
    )
    scores_inv = LinkPredictor(pe_encoder=invariant)(
        None, edge_index, pairs, pe=pe
    )
    torch.testing.assert_close(scores_inv[0], scores_inv[1])
    assert abs(float(scores_eq[0] - scores_eq[1])) > 1e-6


def test_peg_net_is_orthogonally_invariant(seed: int) -> None:
    torch.manual_seed(seed)
    data = _graph(seed=seed)
    net = PEGNet(3, 8, 4, num_layers=2).double()
    q, _ = torch.linalg.qr(torch.randn(K, K, dtype=torch.float64))

    out = net(data.x, data.pe, data.edge_index)
    rotated = net(data.x, data.pe @ q, data.edge_index)

    torch.testing.assert_close(rotated, out, rtol=0, atol=1e-12)
    assert repr(net) == "PEGNet(3, 4, hidden_channels=8, num_layers=2)"


def test_reprs_are_stable() -> None:
    assert repr(DotProductHead()) == "DotProductHead()"
    assert repr(HadamardMLPHead(16, 148)) == (
        "HadamardMLPHead(16, hidden_channels=148, num_layers=3)"
    )
    assert repr(SignProductHead(28, 40)) == (
        "SignProductHead(28, hidden_channels=40, node_channels=None, "
        "num_layers=2, column_layers=2)"
    )
    assert repr(build_model("sign_dss", k=16)) == (
        "LinkPredictor(node_encoder=None, pe_encoder=SignDSS(k=16, "
        "hidden_channels=92, num_layers=4), head=DotProductHead())"
    )


def test_missing_pe_names_the_transform(seed: int) -> None:
    data = _graph(seed=seed)
    model = _build("sign_dss", seed)
    del data.pe

    with pytest.raises(ValueError, match="'pe' is required.*AddLaplacianPE"):
        model(data.x, data.edge_index, data.edge_label_index)
    with pytest.raises(ValueError, match="no 'pe' attribute.*add_train_pe"):
        model.encode_data(data)


def test_missing_node_features_are_named(seed: int) -> None:
    data = _graph(seed=seed)
    model = _build("gcn", seed)

    with pytest.raises(ValueError, match="node features 'x' are required"):
        model(None, data.edge_index, data.edge_label_index)
    del data.x
    with pytest.raises(ValueError, match="no node features 'x'"):
        model.encode_data(data)


def test_mismatched_k_is_named(seed: int) -> None:
    data = _graph(seed=seed)
    model = _build("sign_dss", seed)

    with pytest.raises(ValueError, match=r"k=3 eigenvectors .* k=6"):
        model(None, data.edge_index, data.edge_label_index, pe=data.pe[:, :3])


@pytest.mark.parametrize(
    ("edge_label_index", "error", "match"),
    [
        (torch.tensor([[0, 12]]), ValueError, r"shape \[2, num_links\]"),
        (torch.tensor([[0, 12], [1, 2]]), ValueError, r"in \[0, 12\)"),
        (torch.tensor([[0, -1], [1, 2]]), ValueError, r"got values in \[-1"),
        (torch.tensor([[0.0, 1.0], [1.0, 2.0]]), TypeError, "torch.long"),
    ],
)
def test_bad_edge_label_index_is_named(
    edge_label_index: torch.Tensor, error: type, match: str, seed: int
) -> None:
    data = _graph(seed=seed)
    for name in ["gcn", "sign_eq", "eigvec_mlp"]:
        model = _build(name, seed)
        with pytest.raises(error, match=match):
            model(data.x, data.edge_index, edge_label_index, pe=data.pe)


def test_bad_components_are_named() -> None:
    with pytest.raises(TypeError, match="'head' must be a torch.nn.Module"):
        LinkPredictor(head=lambda x, i: x)
    with pytest.raises(ValueError, match="'in_channels' must be positive"):
        HadamardMLPHead(0)
    head = SignProductHead(4)
    z = torch.randn(5, 3, 4)
    pairs = torch.tensor([[0], [1]])
    with pytest.raises(ValueError, match="pass node_channels=2"):
        head(z, pairs, h=torch.randn(5, 2))
    with pytest.raises(ValueError, match=r"'z' must have shape \[num_nodes"):
        head(torch.randn(5, 3, 2), pairs)
    with pytest.raises(ValueError, match="'h' .* is required"):
        SignProductHead(4, node_channels=2)(z, pairs)
    with pytest.raises(ValueError, match="in_channels=16 features"):
        HadamardMLPHead(16)(torch.randn(5, 8), pairs)
    with pytest.raises(ValueError, match="needs a pe_encoder"):
        LinkPredictor(GCN(3, 4, 1), head=SignProductHead(4))(
            torch.randn(5, 3), torch.tensor([[0], [1]]), pairs
        )


@pytest.mark.parametrize(
    "encoder",
    [
        lambda: GCN(3, 16, num_layers=2),
        lambda: GraphSAGE(3, 16, num_layers=2),
        lambda: GIN(3, 16, num_layers=2),
    ],
    ids=["gcn", "sage", "gin"],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_adjacency_computes_the_same_function(
    encoder, weighted, seed: int
) -> None:
    torch.manual_seed(seed)
    node_encoder = encoder().double()
    dense_path = LinkPredictor(node_encoder=node_encoder)
    sparse_path = LinkPredictor(
        node_encoder=node_encoder, sparse_adjacency=True
    )
    data = _graph(seed=seed)
    x = data.x.double().requires_grad_()
    weight = None
    if weighted and isinstance(node_encoder, GCN):
        weight = torch.rand(data.edge_index.size(1), dtype=torch.float64)

    expected = dense_path(
        x, data.edge_index, data.edge_label_index, None, weight
    )
    logits = sparse_path(
        x, data.edge_index, data.edge_label_index, None, weight
    )
    torch.testing.assert_close(logits, expected, rtol=0, atol=1e-10)
    (grad,) = torch.autograd.grad(logits.sum(), x)
    (expected_grad,) = torch.autograd.grad(expected.sum(), x)
    torch.testing.assert_close(grad, expected_grad, rtol=0, atol=1e-10)


def test_sparse_adjacency_is_refused_for_pe_taking_encoders() -> None:
    with pytest.raises(ValueError, match="'sparse_adjacency=True' needs"):
        LinkPredictor(node_encoder=PEGNet(3, 8, 8), sparse_adjacency=True)
    with pytest.raises(TypeError, match="'sparse_adjacency' must be a bool"):
        LinkPredictor(sparse_adjacency=1)
