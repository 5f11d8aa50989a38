"""Each network against a slow, obvious re-implementation on tiny graphs."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor
from torch_geometric.nn import GCNConv, GINConv

from pyg_signeq.nn import PEGConv, SignDSS, SignEqConv, SignEqNet, SignNet
from pyg_signeq.nn._propagation import (
    Aggregation,
    aggregation,
    as_aggregation,
    propagate,
    propagation_matrix,
)
from pyg_signeq.testing import assert_equivariant


def _dense_adjacency(edge_index: Tensor, num_nodes: int, weight=None):
    adj = torch.zeros(num_nodes, num_nodes, dtype=torch.float64)
    if weight is None:
        weight = torch.ones(edge_index.size(1), dtype=torch.float64)
    for (source, target), value in zip(
        edge_index.T.tolist(), weight, strict=True
    ):
        adj[target, source] += float(value)
    return adj


@pytest.mark.parametrize("normalization", ["sum", "mean", "sym"])
def test_propagation_matches_dense_formula(
    normalization: str, graph, random_pe
) -> None:
    x = random_pe(graph.num_nodes, 3, 2, seed=0).double()
    adj = _dense_adjacency(
        graph.edge_index, graph.num_nodes, graph.edge_weight
    )
    degree = adj.sum(dim=1)
    if normalization == "mean":
        adj = adj / degree.clamp(min=1e-300)[:, None]
    elif normalization == "sym":
        inv = torch.where(degree > 0, degree.rsqrt(), 0.0)
        adj = inv[:, None] * adj * inv[None, :]
    expected = torch.einsum("uw,wkc->ukc", adj, x)

    sparse = propagation_matrix(
        graph.edge_index,
        graph.num_nodes,
        graph.edge_weight,
        normalization,
        torch.float64,
    )

    torch.testing.assert_close(propagate(sparse, x), expected)
    fast = aggregation(
        graph.edge_index,
        graph.num_nodes,
        graph.edge_weight,
        normalization,
        torch.float64,
    )
    assert isinstance(fast, Aggregation)
    torch.testing.assert_close(propagate(fast, x), expected)


@pytest.mark.parametrize("normalization", ["sum", "mean", "sym"])
def test_csr_aggregation_has_the_gradient_of_the_coo_product(
    normalization: str, make_graph, random_pe
) -> None:
    graph = make_graph("weighted")
    # Parallel edges (each edge listed twice, once with a new weight) and a
    # directed edge make the matrix neither coalesced nor symmetric, so a
    # backward pass that used A instead of A^T would show.
    index = torch.cat(
        [graph.edge_index, graph.edge_index[:, :5], torch.tensor([[0], [9]])],
        dim=1,
    )
    weight = torch.cat(
        [graph.edge_weight, torch.full((5,), 0.5), torch.tensor([2.0])]
    ).double()
    x = random_pe(graph.num_nodes, 3, 2, seed=5).double()
    coo = propagation_matrix(
        index, graph.num_nodes, weight, normalization, torch.float64
    )
    fast = aggregation(
        index, graph.num_nodes, weight, normalization, torch.float64
    )
    outputs, grads = [], []
    for adj in (coo, fast):
        leaf = x.clone().requires_grad_()
        out = propagate(adj, leaf)
        (out * torch.arange(out.numel()).view_as(out)).sum().backward()
        outputs.append(out)
        grads.append(leaf.grad)

    torch.testing.assert_close(outputs[1], outputs[0])
    torch.testing.assert_close(grads[1], grads[0])
    torch.testing.assert_close(
        as_aggregation(coo).matrix.to_dense(), coo.to_dense()
    )
    torch.testing.assert_close(
        as_aggregation(coo).transpose.to_dense(), coo.to_dense().T
    )


def test_aggregation_keeps_the_gradient_of_edge_weights(make_graph) -> None:
    graph = make_graph("weighted")
    weight = graph.edge_weight.double().requires_grad_()

    adj = aggregation(
        graph.edge_index, graph.num_nodes, weight, "sum", torch.float64
    )
    x = torch.ones(graph.num_nodes, 1, dtype=torch.float64)
    propagate(adj, x).sum().backward()

    assert not isinstance(adj, Aggregation)
    torch.testing.assert_close(weight.grad, torch.ones_like(weight))


def test_isolated_nodes_aggregate_to_zero(make_graph, random_pe) -> None:
    graph = make_graph("disconnected")
    x = random_pe(graph.num_nodes, 4, seed=1).double()
    for normalization in ("sum", "mean", "sym"):
        adj = propagation_matrix(
            graph.edge_index, graph.num_nodes, None, normalization, x.dtype
        )
        assert torch.all(propagate(adj, x)[7:] == 0)
        fast = aggregation(
            graph.edge_index, graph.num_nodes, None, normalization, x.dtype
        )
        assert torch.all(propagate(fast, x)[7:] == 0)


def _slow_sign_dss(module: SignDSS, pe: Tensor, edge_index: Tensor) -> Tensor:
    # One node and one gate at a time, neighbours found by scanning edges.
    def gate(g, y: Tensor) -> Tensor:
        return y + g.d * y * torch.sigmoid(g.mlp(y.abs()))

    x = pe
    for self_gate, neighbor_gate in zip(
        module.self_gates, module.neighbor_gates, strict=True
    ):
        rows = []
        for u in range(x.size(0)):
            sources = [s for s, t in edge_index.T.tolist() if t == u]
            mean = x[sources].mean(0) if sources else torch.zeros_like(x[u])
            rows.append(
                x[u] + gate(self_gate, x[u]) + gate(neighbor_gate, mean)
            )
        x = torch.stack(rows)
    return x


def test_sign_dss_matches_slow_loop(make_graph, random_pe) -> None:
    graph = make_graph("disconnected")
    module = SignDSS(3, hidden_channels=5, num_layers=3).double()
    pe = random_pe(graph.num_nodes, 3, seed=2).double()

    out = module(pe, graph.edge_index)

    torch.testing.assert_close(
        out, _slow_sign_dss(module, pe, graph.edge_index)
    )


def test_sign_dss_isolated_node_only_sees_its_own_gate(
    make_graph, random_pe
) -> None:
    graph = make_graph("disconnected")
    module = SignDSS(3, hidden_channels=5, num_layers=1).double()
    pe = random_pe(graph.num_nodes, 3, seed=2).double()
    gate = module.self_gates[0]

    out = module(pe, graph.edge_index)

    # Node 7 has no neighbours: its mean is 0 and the second gate of 0 is 0.
    y = pe[7]
    expected = y + y + gate.d * y * torch.sigmoid(gate.mlp(y.abs()))
    torch.testing.assert_close(out[7], expected)


def _slow_sign_eq_conv(
    conv: SignEqConv, x: Tensor, edge_index: Tensor, batch: Tensor
) -> Tensor:
    # Per node u, column i: the edge products are summed over edges, not
    # taken from x * (A x); the means are loops over columns and graphs.
    num_nodes, k, _ = x.shape
    neighbours = [
        [s for s, t in edge_index.T.tolist() if t == u]
        for u in range(num_nodes)
    ]
    m = torch.stack(
        [
            x[nbrs].mean(0) if nbrs else torch.zeros_like(x[0])
            for nbrs in neighbours
        ]
    )
    products = torch.stack(
        [
            sum((x[u] * x[w] for w in nbrs), torch.zeros_like(x[0]))
            / max(len(nbrs), 1)
            for u, nbrs in enumerate(neighbours)
        ]
    )
    phi = conv.phi
    z = torch.cat([x, m], dim=-1)
    even = torch.nn.functional.silu(phi(z)) + torch.nn.functional.silu(phi(-z))
    q = torch.cat([even, products], dim=-1)
    column_mean = q.mean(dim=1, keepdim=True).expand_as(q)
    graph_mean = torch.stack(
        [q[batch == batch[u]].mean(0) for u in range(num_nodes)]
    )
    hidden = (
        conv.gate_node(q)
        + conv.gate_columns(column_mean)
        + conv.gate_graph(graph_mean)
    )
    gate = torch.tanh(conv.gate_out(torch.nn.functional.silu(hidden)))
    out = (conv.lin_self(x) + conv.lin_neighbor(m)) * gate
    if conv.in_channels == conv.out_channels:
        out = out + x
    return out


@pytest.mark.parametrize("channels", [(2, 3), (3, 3)])
def test_sign_eq_conv_matches_slow_loop(
    channels: tuple[int, int], make_graph, random_pe
) -> None:
    graph = make_graph("batched")
    conv = SignEqConv(*channels, hidden_channels=4).double()
    x = random_pe(graph.num_nodes, 3, channels[0], seed=3).double()

    out = conv(x, graph.edge_index, batch=graph.batch)

    expected = _slow_sign_eq_conv(conv, x, graph.edge_index, graph.batch)
    torch.testing.assert_close(out, expected)


def test_sign_eq_conv_takes_a_precomputed_sparse_adjacency(
    make_graph, random_pe
) -> None:
    graph = make_graph("weighted")
    conv = SignEqConv(2, 3, normalization="sym").double()
    x = random_pe(graph.num_nodes, 4, 2, seed=4).double()
    weight = graph.edge_weight.double()
    adj = propagation_matrix(
        graph.edge_index, graph.num_nodes, weight, "sym", torch.float64
    )

    torch.testing.assert_close(conv(x, adj), conv(x, graph.edge_index, weight))
    with pytest.raises(ValueError, match=r"'edge_weight' must be None"):
        conv(x, adj, weight)
    with pytest.raises(ValueError, match=r"sparse 'edge_index' must have"):
        conv(x[:3], adj)


def _slow_sign_net(module: SignNet, pe: Tensor, edge_index: Tensor) -> Tensor:
    # phi on every column separately, one graph at a time.
    parts = [
        module.phi(pe[:, i : i + 1], edge_index, None)
        + module.phi(-pe[:, i : i + 1], edge_index, None)
        for i in range(pe.size(1))
    ]
    return module.rho(torch.cat(parts, dim=1), edge_index, None)


def test_sign_net_matches_per_column_loop(make_graph, random_pe) -> None:
    graph = make_graph("disconnected")
    module = SignNet(3, 6, 2, 5, 4).double()
    pe = random_pe(graph.num_nodes, 3, seed=5).double()

    torch.testing.assert_close(
        module(pe, graph.edge_index),
        _slow_sign_net(module, pe, graph.edge_index),
    )


def test_sign_net_accepts_any_conv_factory(make_graph, random_pe) -> None:
    graph = make_graph("connected")

    def gin(in_channels: int, out_channels: int) -> GINConv:
        return GINConv(torch.nn.Linear(in_channels, out_channels))

    module = SignNet(4, 8, 2, 8, 3, conv=gin)
    pe = random_pe(graph.num_nodes, 4, seed=6)

    assert module(pe, graph.edge_index).shape == (graph.num_nodes, 3)
    assert_equivariant(module, pe, graph.edge_index, sign="invariant")
    assert "conv=gin" in repr(module)


def test_sign_net_phi_count_matches_gcn() -> None:
    module = SignNet(16)
    assert sum(p.numel() for p in module.phi.parameters()) == 1288
    assert sum(p.numel() for p in module.rho.parameters()) == 24_768
    assert all(isinstance(conv, GCNConv) for conv in module.phi.convs)


def _random_orthogonal(k: int, seed: int) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    matrix = torch.randn(k, k, generator=generator, dtype=torch.float64)
    q, _ = torch.linalg.qr(matrix)
    return q


def _slow_peg(conv: PEGConv, x: Tensor, pe: Tensor, edge_index: Tensor):
    # GCN with self-loops, every message scaled by xi(|p_u - p_w|).
    num_nodes = x.size(0)
    adj = _dense_adjacency(edge_index, num_nodes) + torch.eye(
        num_nodes, dtype=torch.float64
    )
    degree = adj.sum(dim=1)
    distance = torch.cdist(pe, pe)
    xi = torch.sigmoid(conv.edge_mlp(distance.unsqueeze(-1))).squeeze(-1)
    weights = adj * xi / torch.sqrt(degree[:, None] * degree[None, :])
    return weights @ conv.lin(x) + conv.bias


def test_peg_matches_dense_formula(make_graph, random_pe) -> None:
    graph = make_graph("disconnected")
    conv = PEGConv(3, 2, edge_hidden_channels=4).double()
    torch.nn.init.normal_(conv.bias)
    x = random_pe(graph.num_nodes, 3, seed=7).double()
    pe = random_pe(graph.num_nodes, 4, seed=8).double()

    torch.testing.assert_close(
        conv(x, pe, graph.edge_index),
        _slow_peg(conv, x, pe, graph.edge_index),
    )


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_peg_is_orthogonally_invariant_and_permutation_equivariant(
    dtype: torch.dtype, graph, random_pe
) -> None:
    conv = PEGConv(3, 5).to(dtype)
    x = random_pe(graph.num_nodes, 3, seed=9).to(dtype)
    pe = random_pe(graph.num_nodes, 4, seed=10).to(dtype)
    weight = graph.edge_weight
    weight = None if weight is None else weight.to(dtype)
    q = _random_orthogonal(4, seed=11).to(dtype)
    tolerance = 1e-10 if dtype == torch.float64 else 1e-5

    out = conv(x, pe, graph.edge_index, weight)
    rotated = conv(x, pe @ q, graph.edge_index, weight)

    torch.testing.assert_close(rotated, out, atol=tolerance, rtol=tolerance)
    errors = assert_equivariant(
        lambda pe, edge_index, x, **kwargs: conv(x, pe, edge_index, **kwargs),
        pe,
        graph.edge_index,
        sign="invariant",
        edge_weight=weight,
        node_inputs={"x": x},
        dtype=None,
    )
    assert max(errors.values()) <= tolerance


def test_peg_gradients_flow_through_self_loops(make_graph, random_pe) -> None:
    # Self-loops sit at distance zero, where a norm has no derivative.
    graph = make_graph("disconnected")
    conv = PEGConv(3, 2).double()
    x = random_pe(graph.num_nodes, 3, seed=12).double()
    pe = random_pe(graph.num_nodes, 4, seed=13).double().requires_grad_(True)

    conv(x, pe, graph.edge_index).square().sum().backward()

    assert torch.isfinite(pe.grad).all()
    for name, param in conv.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), (
            name
        )


def test_peg_protocol_and_bad_input(make_graph, random_pe) -> None:
    graph = make_graph("connected")
    conv = PEGConv(3, 5, edge_hidden_channels=8)
    x = random_pe(graph.num_nodes, 3, seed=0)
    pe = random_pe(graph.num_nodes, 4, seed=1)

    assert repr(conv) == "PEGConv(3, 5, edge_hidden_channels=8)"
    assert sum(p.numel() for p in conv.parameters()) == 15 + 16 + 9 + 5
    with pytest.raises(ValueError, match=r"'x' must have in_channels=3"):
        conv(x[:, :2], pe, graph.edge_index)
    with pytest.raises(ValueError, match=r"'pe' must have one row per node"):
        conv(x, pe[:3], graph.edge_index)
    with pytest.raises(ValueError, match=r"'pe' must be finite"):
        conv(x, pe / 0 * 0, graph.edge_index)
    with pytest.raises(ValueError, match=r"'pe' must have rank 2"):
        conv(x, pe[:, :, None], graph.edge_index)
    with pytest.raises(ValueError, match=r"'edge_index' must have shape"):
        conv(x, pe, graph.edge_index[:1])
    with pytest.raises(ValueError, match=r"'in_channels' must be positive"):
        PEGConv(0, 3)


def test_sign_eq_net_with_channels_matches_layer_stack(
    make_graph, random_pe
) -> None:
    graph = make_graph("batched")
    net = SignEqNet(2, 4, 3, num_layers=2).double()
    pe = random_pe(graph.num_nodes, 3, 2, seed=14).double()

    x = pe
    for conv in net.convs:
        x = conv(x, graph.edge_index, batch=graph.batch)

    torch.testing.assert_close(net(pe, graph.edge_index, batch=graph.batch), x)
