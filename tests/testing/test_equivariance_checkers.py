"""The checkers must pass symmetric functions and catch broken ones."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from pyg_signeq.testing import (
    assert_equivariant,
    assert_permutation_equivariant,
    assert_sign_equivariant,
    assert_sign_invariant,
    default_tolerance,
)

NUM_NODES, K = 6, 4


@pytest.fixture
def pe() -> Tensor:
    generator = torch.Generator().manual_seed(7)
    return torch.randn(NUM_NODES, K, generator=generator)


@pytest.fixture
def edge_index() -> Tensor:
    # A 6-cycle with one chord, both directions.
    pairs = torch.tensor([[i, (i + 1) % 6] for i in range(6)] + [[0, 3]]).T
    return torch.cat([pairs, pairs.flip(0)], dim=1)


def _neighbour_sum(pe: Tensor, edge_index: Tensor) -> Tensor:
    out = torch.zeros_like(pe)
    return out.index_add_(0, edge_index[1], pe[edge_index[0]])


def _good(pe: Tensor, edge_index: Tensor) -> Tensor:
    # Odd in every column, local: v * (A v)^2 + v.
    return pe * _neighbour_sum(pe, edge_index) ** 2 + pe


class _Broken(torch.nn.Module):
    """A layer that breaks sign equivariance in one of three ways."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.lin = torch.nn.Linear(K, K, bias=kind == "bias")
        if kind == "bias":
            # Within-column (diagonal) weights, so only the bias breaks it.
            with torch.no_grad():
                self.lin.weight.copy_(torch.eye(K))

    def forward(self, pe: Tensor, edge_index: Tensor) -> Tensor:
        x = _good(pe, edge_index)
        if self.kind == "relu":
            return torch.relu(x)
        return self.lin(x)


@pytest.mark.parametrize("kind", ["relu", "cross-column", "bias"])
def test_broken_modules_fail_the_sign_checks(
    kind: str, pe: Tensor, edge_index: Tensor
) -> None:
    module = _Broken(kind)
    with pytest.raises(AssertionError, match=r"not sign equivariant"):
        assert_sign_equivariant(module, pe, edge_index)
    with pytest.raises(AssertionError, match=r"worst max abs error"):
        assert_equivariant(module, pe, edge_index)


def test_good_function_passes_every_check(
    pe: Tensor, edge_index: Tensor
) -> None:
    for check in (
        assert_sign_equivariant,
        assert_permutation_equivariant,
        assert_equivariant,
    ):
        errors = check(_good, pe, edge_index, num_trials=5)
        assert len(errors) == 5
        assert max(errors.values()) <= 1e-12


def test_invariance_and_equivariance_are_told_apart(
    pe: Tensor, edge_index: Tensor
) -> None:
    def invariant(pe: Tensor, edge_index: Tensor) -> Tensor:
        return pe * _neighbour_sum(pe, edge_index)

    assert_sign_invariant(invariant, pe, edge_index)
    assert_equivariant(invariant, pe, edge_index, sign="invariant")
    with pytest.raises(AssertionError, match=r"not sign equivariant"):
        assert_sign_equivariant(invariant, pe, edge_index)
    with pytest.raises(AssertionError, match=r"not sign invariant"):
        assert_sign_invariant(_good, pe, edge_index)


def test_node_order_dependence_fails_the_permutation_check(
    pe: Tensor, edge_index: Tensor
) -> None:
    def positional(pe: Tensor, edge_index: Tensor) -> Tensor:
        # Sign equivariant, but node 0 is treated differently.
        weight = torch.ones(pe.size(0), 1, dtype=pe.dtype)
        weight[0] = 2.0
        return pe * weight

    assert_sign_equivariant(positional, pe, edge_index)
    with pytest.raises(AssertionError, match=r"not permutation equivariant"):
        assert_permutation_equivariant(positional, pe, edge_index)


def test_edge_order_dependence_fails_the_permutation_check(
    pe: Tensor, edge_index: Tensor
) -> None:
    def first_edge(pe: Tensor, edge_index: Tensor) -> Tensor:
        # Looks at whichever edge comes first: not a graph function.
        out = pe.clone()
        out[edge_index[1, 0]] *= 3.0
        return out

    with pytest.raises(AssertionError, match=r"not permutation equivariant"):
        assert_permutation_equivariant(first_edge, pe, edge_index)


def test_batch_draws_separate_signs_per_graph(pe: Tensor) -> None:
    # Two triangles in one batch. Multiplying by the squared column sum
    # over all nodes is odd for one global flip per column, but mixes the
    # two graphs, so per-graph flips expose it.
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 0, 4, 5, 3]])
    batch = torch.tensor([0, 0, 0, 1, 1, 1])

    def global_mix(pe: Tensor, edge_index: Tensor, **kwargs) -> Tensor:
        return pe * pe.sum(dim=0, keepdim=True) ** 2

    assert_sign_equivariant(global_mix, pe, edge_index)
    with pytest.raises(AssertionError, match=r"not sign equivariant"):
        assert_sign_equivariant(global_mix, pe, edge_index, batch=batch)


def test_channels_flip_with_their_column(edge_index: Tensor) -> None:
    pe = torch.randn(
        NUM_NODES, K, 3, generator=torch.Generator().manual_seed(1)
    )
    mix_channels = torch.randn(
        3, 5, generator=torch.Generator().manual_seed(2)
    )

    def within_column(pe: Tensor, edge_index: Tensor) -> Tensor:
        return _good(pe, edge_index) @ mix_channels.to(pe.dtype)

    def across_columns(pe: Tensor, edge_index: Tensor) -> Tensor:
        return pe.roll(1, dims=1)

    assert_equivariant(within_column, pe, edge_index)
    with pytest.raises(AssertionError, match=r"not sign equivariant"):
        assert_sign_equivariant(across_columns, pe, edge_index)


def test_node_inputs_are_permuted_but_not_flipped(
    pe: Tensor, edge_index: Tensor
) -> None:
    x = torch.randn(NUM_NODES, 2, generator=torch.Generator().manual_seed(3))

    def uses_x(pe: Tensor, edge_index: Tensor, x: Tensor) -> Tensor:
        return pe * x[:, :1] ** 2 + pe * x[:, 1:]

    assert_equivariant(uses_x, pe, edge_index, node_inputs={"x": x})


def test_the_callers_module_is_left_alone(
    pe: Tensor, edge_index: Tensor
) -> None:
    # In train mode dropout would make the two calls differ; the checker
    # evaluates a deep copy, in eval mode and float64.
    module = _Wrapper(torch.nn.Linear(1, 1, bias=False))
    module.train()
    weight = module.lin.weight.detach().clone()

    assert_equivariant(module, pe, edge_index)

    assert module.training
    assert module.lin.weight.dtype == torch.float32
    assert torch.equal(module.lin.weight, weight)


class _Wrapper(torch.nn.Module):
    def __init__(self, lin: torch.nn.Linear) -> None:
        super().__init__()
        self.lin = lin
        self.dropout = torch.nn.Dropout(0.5)

    def forward(self, pe: Tensor, edge_index: Tensor) -> Tensor:
        assert pe.dtype == torch.float64
        return self.dropout(self.lin(pe.unsqueeze(-1)))


def test_errors_are_reproducible_from_the_generator(
    pe: Tensor, edge_index: Tensor
) -> None:
    module = _Broken("relu")

    def errors(seed: int) -> dict[str, float]:
        with pytest.raises(AssertionError) as info:
            assert_equivariant(
                module,
                pe,
                edge_index,
                generator=torch.Generator().manual_seed(seed),
            )
        return str(info.value)

    assert errors(5) == errors(5)
    assert errors(5) != errors(6)


def test_float32_tolerance_is_documented_and_used(
    pe: Tensor, edge_index: Tensor
) -> None:
    assert default_tolerance(torch.float64) == (1e-10, 1e-10)
    assert default_tolerance(torch.float32) == (1e-5, 1e-4)
    errors = assert_equivariant(_good, pe, edge_index, dtype=None)
    assert max(errors.values()) <= 1e-5 + 1e-4 * 100
    with pytest.raises(AssertionError, match=r"in torch.float32"):
        assert_sign_equivariant(
            lambda pe, ei: pe.relu(), pe, edge_index, dtype=None
        )
    with pytest.raises(ValueError, match=r"'dtype' must be one of"):
        default_tolerance(torch.int64)


def test_explicit_tolerance_overrides_the_default(
    pe: Tensor, edge_index: Tensor
) -> None:
    def slightly_off(pe: Tensor, edge_index: Tensor) -> Tensor:
        return pe + 1e-6

    with pytest.raises(AssertionError):
        assert_sign_equivariant(slightly_off, pe, edge_index)
    assert_sign_equivariant(slightly_off, pe, edge_index, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_trials": 0}, ValueError, r"'num_trials' must be positive"),
        ({"num_trials": 2.0}, TypeError, r"'num_trials' must be an int"),
        (
            {"edge_weight": torch.ones(3)},
            ValueError,
            r"'edge_weight' must have shape \[num_edges\] = \[14\]",
        ),
        (
            {"batch": torch.zeros(2, dtype=torch.long)},
            ValueError,
            r"'batch' must have shape \[num_nodes\] = \[6\]",
        ),
        (
            {"batch": torch.tensor([0, 0, 0, 1, 1, 1])},
            ValueError,
            r"must not join nodes of different graphs",
        ),
        (
            {"node_inputs": {"x": torch.ones(2, 1)}},
            ValueError,
            r"'node_inputs\['x'\]'",
        ),
    ],
)
def test_bad_arguments_are_named(
    kwargs: dict, error: type, match: str, pe: Tensor, edge_index: Tensor
) -> None:
    with pytest.raises(error, match=match):
        assert_equivariant(_good, pe, edge_index, **kwargs)


def test_bad_inputs_and_outputs_are_named(
    pe: Tensor, edge_index: Tensor
) -> None:
    with pytest.raises(TypeError, match=r"'fn' must be callable"):
        assert_sign_equivariant(3, pe, edge_index)
    with pytest.raises(TypeError, match=r"'pe' must be a floating"):
        assert_sign_equivariant(_good, pe.long(), edge_index)
    with pytest.raises(ValueError, match=r"'edge_index' must be a tensor"):
        assert_sign_equivariant(_good, pe, edge_index[0])
    with pytest.raises(ValueError, match=r"'sign' must be one of"):
        assert_equivariant(_good, pe, edge_index, sign="odd")
    with pytest.raises(TypeError, match=r"'fn' must return a torch.Tensor"):
        assert_sign_equivariant(lambda pe, ei: (pe,), pe, edge_index)
    with pytest.raises(ValueError, match=r"\[num_nodes, k, \.\.\.\]"):
        assert_sign_equivariant(lambda pe, ei: pe.sum(1), pe, edge_index)
    with pytest.raises(ValueError, match=r"must be node-level"):
        assert_permutation_equivariant(
            lambda pe, ei: pe.sum(0), pe, edge_index
        )
