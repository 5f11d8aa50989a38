"""Properties every PE network must have: symmetry, gradients, protocol."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch import Tensor
from torch_geometric.nn import GraphConv

from pyg_signeq.nn import SignDSS, SignEqConv, SignEqNet, SignGate, SignNet
from pyg_signeq.testing import assert_equivariant

K = 4


@dataclass
class Case:
    """A module under test and how to call it."""

    build: Callable[[], torch.nn.Module]
    channels: tuple[int, ...] = ()
    sign: str = "equivariant"
    # SignGate acts per node and takes neither edge_weight nor batch.
    node_wise: bool = False


CASES = {
    "SignGate": Case(lambda: SignGate(K, hidden_channels=16), node_wise=True),
    "SignDSS": Case(lambda: SignDSS(K, hidden_channels=16, num_layers=2)),
    "SignDSS-sym": Case(
        lambda: SignDSS(
            K, hidden_channels=16, num_layers=2, normalization="sym"
        )
    ),
    "SignEqConv": Case(lambda: SignEqConv(3, 5), channels=(3,)),
    "SignEqNet": Case(lambda: SignEqNet(1, 8, 4, num_layers=2, k=K)),
    "SignEqNet-rescaled": Case(
        lambda: SignEqNet(1, 8, 4, num_layers=2, k=K, rescale=True)
    ),
    "SignEqNet-channels-sum": Case(
        lambda: SignEqNet(3, 8, 2, num_layers=3, normalization="sum"),
        channels=(3,),
    ),
    "SignNet": Case(
        lambda: SignNet(K, 8, 2, 8, 4), sign="invariant", channels=(1,)
    ),
    "SignNet-GraphConv": Case(
        lambda: SignNet(K, 8, 2, 8, 4, conv=GraphConv), sign="invariant"
    ),
}


def _call(case: Case, module: torch.nn.Module) -> Callable[..., Tensor]:
    if case.node_wise:
        return lambda pe, edge_index, **kwargs: module(pe, edge_index)
    return module


def _build(case: Case, seed: int, dtype: torch.dtype) -> torch.nn.Module:
    torch.manual_seed(seed)
    return case.build().to(dtype)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize(
    ("dtype", "bound"),
    [
        (torch.float64, 1e-10),
        # float32: the checkers' documented default, 1e-5 + 1e-4 * max|out|.
        (torch.float32, None),
    ],
)
def test_sign_and_permutation_symmetry(
    name: str,
    dtype: torch.dtype,
    bound: float | None,
    graph,
    seed: int,
    random_pe,
) -> None:
    case = CASES[name]
    module = _build(case, seed, dtype)
    pe = random_pe(graph.num_nodes, K, *case.channels, seed=seed).to(dtype)
    edge_weight = graph.edge_weight
    if edge_weight is not None:
        edge_weight = edge_weight.to(dtype)

    errors = assert_equivariant(
        _call(case, module),
        pe,
        graph.edge_index,
        sign=case.sign,
        edge_weight=edge_weight,
        batch=graph.batch,
        dtype=None,
        generator=torch.Generator().manual_seed(seed),
    )

    assert len(errors) == 8
    if bound is not None:
        assert max(errors.values()) <= bound


@pytest.mark.parametrize("name", CASES)
def test_gradients_reach_every_parameter_and_pe(
    name: str, seed: int, make_graph, random_pe
) -> None:
    case = CASES[name]
    graph = make_graph("disconnected")
    module = _build(case, seed, torch.float64)
    pe = random_pe(graph.num_nodes, K, *case.channels, seed=seed).double()
    pe.requires_grad_(True)

    out = _call(case, module)(pe, graph.edge_index)
    out.square().sum().backward()

    assert pe.grad is not None and torch.isfinite(pe.grad).all()
    for param_name, param in module.named_parameters():
        assert param.grad is not None, param_name
        assert torch.isfinite(param.grad).all(), param_name
        assert param.grad.abs().sum() > 0, param_name


@pytest.mark.parametrize("name", CASES)
def test_reset_parameters_restores_a_fresh_draw(name: str, seed: int) -> None:
    module = _build(CASES[name], seed, torch.float32)
    torch.manual_seed(seed)
    module.reset_parameters()
    expected = {
        key: value.clone() for key, value in module.state_dict().items()
    }

    with torch.no_grad():
        for param in module.parameters():
            param.fill_(0.123)
    torch.manual_seed(seed)
    module.reset_parameters()

    for key, value in module.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)
        assert not torch.all(value == 0.123), key


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (SignGate(16), "SignGate(k=16, hidden_channels=92)"),
        (SignDSS(16), "SignDSS(k=16, hidden_channels=92, num_layers=4)"),
        (SignEqConv(1, 32), "SignEqConv(1, 32, hidden_channels=32)"),
        (
            SignEqNet(1, 32, 1, 3),
            "SignEqNet(1, 1, hidden_channels=32, num_layers=3)",
        ),
        (
            SignNet(16),
            "SignNet(k=16, phi=1-128-8, rho=128-128-64, conv=GCNConv)",
        ),
    ],
)
def test_repr(module: torch.nn.Module, expected: str) -> None:
    assert repr(module) == expected


def _num_params(module: torch.nn.Module) -> int:
    return sum(param.numel() for param in module.parameters())


def test_parameter_counts_of_the_paper_configurations() -> None:
    # One gate: Linear(16, 92) + Linear(92, 16) + d = 1564 + 1488 + 16.
    assert _num_params(SignGate(16)) == 3068
    # Two gates per layer, four layers.
    assert _num_params(SignDSS(16)) == 24_544
    # phi GCN 1-128-8 (256 + 1032), rho GCN 128-128-64 (16512 + 8256).
    assert _num_params(SignNet(16)) == 26_056
    # The SignEqNet of the expressiveness benchmark, at SignDSS's budget.
    assert _num_params(SignEqNet(1, 32, 1, 3)) == 24_129


def test_sign_eq_net_weights_do_not_depend_on_k(
    seed: int, make_graph, random_pe
) -> None:
    graph = make_graph("connected")
    module = _build(CASES["SignEqNet-channels-sum"], seed, torch.float64)
    for k in (1, 3, 7):
        pe = random_pe(graph.num_nodes, k, 3, seed=seed).double()
        assert module(pe, graph.edge_index).shape == (graph.num_nodes, k, 2)


def test_rescale_multiplies_by_the_root_of_each_graph_size(
    seed: int, make_graph, random_pe
) -> None:
    graph = make_graph("connected")
    torch.manual_seed(seed)
    plain = SignEqNet(1, 8, 4, num_layers=2).double()
    rescaled = SignEqNet(1, 8, 4, num_layers=2, rescale=True).double()
    rescaled.load_state_dict(plain.state_dict())
    n = graph.num_nodes
    pe = random_pe(n, K, seed=seed).double()

    torch.testing.assert_close(
        rescaled(pe, graph.edge_index),
        plain(pe * n**0.5, graph.edge_index),
        rtol=0,
        atol=1e-12,
    )
    # Two graphs in a batch: each is scaled by its own size, so the batch
    # gives what the graphs give alone.
    batch = torch.cat(
        [torch.zeros(n, dtype=torch.long), torch.ones(3, dtype=torch.long)]
    )
    small = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    small_pe = random_pe(3, K, seed=seed + 1).double()
    together = rescaled(
        torch.cat([pe, small_pe]),
        torch.cat([graph.edge_index, small + n], dim=1),
        batch=batch,
    )
    torch.testing.assert_close(
        together[n:], rescaled(small_pe, small), rtol=0, atol=1e-12
    )
    assert repr(rescaled).endswith("num_layers=2, rescale=True)")
    with pytest.raises(TypeError, match="'rescale' must be a bool"):
        SignEqNet(rescale=1)


def test_plain_pe_equals_one_channel(seed: int, make_graph, random_pe) -> None:
    graph = make_graph("connected")
    module = _build(CASES["SignEqNet"], seed, torch.float64)
    pe = random_pe(graph.num_nodes, K, seed=seed).double()

    torch.testing.assert_close(
        module(pe, graph.edge_index),
        module(pe.unsqueeze(-1), graph.edge_index),
        rtol=0,
        atol=0,
    )


@pytest.mark.parametrize("name", ["SignDSS", "SignEqNet", "SignNet"])
def test_torch_compile_traces(
    name: str, seed: int, make_graph, random_pe
) -> None:
    # The 'eager' backend runs Dynamo's tracing (the part that rejects
    # unsupported Python) without the C++ code generation of inductor,
    # which the slow test below covers. The sparse adjacency constructor
    # is a graph break, which compile handles.
    case = CASES[name]
    graph = make_graph("disconnected")
    module = _build(case, seed, torch.float32)
    pe = random_pe(graph.num_nodes, K, *case.channels, seed=seed)
    torch._dynamo.reset()

    compiled = torch.compile(module, backend="eager")

    torch.testing.assert_close(
        compiled(pe, graph.edge_index), module(pe, graph.edge_index)
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["SignDSS", "SignEqNet", "SignNet"])
def test_torch_compile_inductor(
    name: str, seed: int, make_graph, random_pe
) -> None:
    case = CASES[name]
    graph = make_graph("disconnected")
    module = _build(case, seed, torch.float32)
    pe = random_pe(graph.num_nodes, K, *case.channels, seed=seed)
    torch._dynamo.reset()

    compiled = torch.compile(module)

    torch.testing.assert_close(
        compiled(pe, graph.edge_index), module(pe, graph.edge_index)
    )


NETWORKS = ["SignDSS", "SignEqNet", "SignNet"]


def _nan(pe: Tensor) -> Tensor:
    pe = pe.clone()
    pe[2, 1] = float("nan")
    return pe


def _inf(pe: Tensor) -> Tensor:
    pe = pe.clone()
    pe[0, 0] = float("inf")
    return pe


# Each entry corrupts the valid (pe, edge_index) of the 7-node graph.
BAD_INPUTS = {
    "rank-1": (lambda pe, ei: (pe[:, 0], ei), ValueError, r"must have rank"),
    "rank-4": (lambda pe, ei: (pe[..., None, None], ei), ValueError, "rank"),
    "wrong-k": (
        lambda pe, ei: (pe[:, :3], ei),
        ValueError,
        r"k=4 columns.* got 3",
    ),
    "nan": (
        lambda pe, ei: (_nan(pe), ei),
        ValueError,
        r"'pe' must be finite, got 1 NaN",
    ),
    "inf": (lambda pe, ei: (_inf(pe), ei), ValueError, r"'pe' must be finite"),
    "int-pe": (lambda pe, ei: (pe.long(), ei), TypeError, "floating dtype"),
    "ei-3-rows": (
        lambda pe, ei: (pe, ei[[0, 1, 0]]),
        ValueError,
        r"'edge_index' must have shape \[2, num_edges\], got \[3, ",
    ),
    "ei-1d": (lambda pe, ei: (pe, ei[0]), ValueError, r"'edge_index' must"),
    "ei-range": (
        lambda pe, ei: (pe, ei + 5),
        ValueError,
        r"\[0, 7\).*got values in \[5, 11\]",
    ),
    "ei-float": (lambda pe, ei: (pe, ei.float()), TypeError, "torch.long"),
}


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("label", BAD_INPUTS)
def test_bad_input_is_named(
    name: str, label: str, make_graph, random_pe
) -> None:
    graph = make_graph("connected")
    corrupt, error, match = BAD_INPUTS[label]
    args = corrupt(random_pe(graph.num_nodes, K, seed=0), graph.edge_index)
    module = CASES[name].build()

    with pytest.raises(error, match=match):
        module(*args)


@pytest.mark.parametrize("name", NETWORKS)
def test_bad_edge_weight_and_batch_are_named(
    name: str, make_graph, random_pe
) -> None:
    graph = make_graph("connected")
    module = CASES[name].build()
    pe = random_pe(graph.num_nodes, K, seed=0)
    num_edges = graph.edge_index.size(1)

    with pytest.raises(ValueError, match=rf"'edge_weight'.*\[{num_edges}\]"):
        module(pe, graph.edge_index, torch.ones(num_edges + 1))
    with pytest.raises(ValueError, match=r"'batch' must be a torch.long"):
        module(pe, graph.edge_index, batch=torch.zeros(3, dtype=torch.long))


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: SignGate(0), r"'k' must be positive, got 0"),
        (lambda: SignDSS(4, num_layers=0), r"'num_layers' must be positive"),
        (lambda: SignDSS(4, normalization="max"), r"'normalization'.*'max'"),
        (lambda: SignEqNet(hidden_channels=2.5), r"'hidden_channels' must be"),
        (lambda: SignNet(4, conv=3), r"'conv' must be callable"),
    ],
)
def test_bad_hyperparameters_are_named(build: Callable, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        build()


def test_sign_eq_net_rejects_channel_mismatch(make_graph, random_pe) -> None:
    graph = make_graph("connected")
    pe = random_pe(graph.num_nodes, K, seed=0)
    with pytest.raises(ValueError, match=r"in_channels=3"):
        SignEqNet(in_channels=3)(pe, graph.edge_index)
    with pytest.raises(ValueError, match=r"in_channels=1 channels.* got 2"):
        SignEqNet()(pe.view(graph.num_nodes, 2, 2), graph.edge_index)


def test_sign_net_gcn_fast_path_equals_the_generic_one(
    graph, seed: int, random_pe, monkeypatch
) -> None:
    torch.manual_seed(seed)
    net = SignNet(K, 16, 4, 16, 8).double()
    pe = random_pe(graph.num_nodes, K, seed=seed).double()
    weight = graph.edge_weight
    if weight is not None:
        weight = weight.double()
    assert net.phi.plain_gcn and net.rho.plain_gcn

    fast = net(pe, graph.edge_index, weight)
    monkeypatch.setattr(type(net.phi), "plain_gcn", property(lambda _: False))
    generic = net(pe, graph.edge_index, weight)

    torch.testing.assert_close(fast, generic, rtol=0, atol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_sign_eq_net_grows_at_most_linearly_with_its_input(
    scale: float, seed: int, make_graph, random_pe
) -> None:
    # Bounded gates: |X'| <= |X| + |X W_self| + |(A X) W_nbr| per layer,
    # with mean aggregation (|A X| <= |X|), whatever the input scale. An
    # unbounded gate would square the scale in every layer.
    graph = make_graph("connected")
    torch.manual_seed(seed)
    net = SignEqNet(1, 8, 4, num_layers=3).double()
    pe = scale * random_pe(graph.num_nodes, K, seed=seed).double()

    out = net(pe, graph.edge_index)

    bound = float(pe.abs().max())
    for conv in net.convs:
        rows = conv.lin_self.weight.abs().sum(
            1
        ) + conv.lin_neighbor.weight.abs().sum(1)
        residual = 1.0 if conv.in_channels == conv.out_channels else 0.0
        bound *= residual + float(rows.max())
    assert float(out.abs().max()) <= bound
