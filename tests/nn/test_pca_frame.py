"""PCA frames: O(d), permutation and translation symmetry, warnings, errors."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import Tensor

from pyg_signeq.nn import (
    PCAFrame,
    PCAFrameAveraging,
    PCAFrameCanonical,
    SignEqPointNet,
)
from pyg_signeq.nn.sign_eq_point import complete_edges
from pyg_signeq.testing import assert_equivariant

DIM = 3
WRAPPERS = {
    "PCAFrame": PCAFrame,
    "PCAFrameAveraging": PCAFrameAveraging,
    "PCAFrameCanonical": PCAFrameCanonical,
}


class _PlainNet(torch.nn.Module):
    """An unconstrained net on frame coordinates: no sign symmetry at all."""

    def __init__(self, dim: int, channels: int = 2) -> None:
        super().__init__()
        self.channels = channels
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(dim * channels + 1, 16),
            torch.nn.Tanh(),
            torch.nn.Linear(16, dim),
        )

    def forward(self, y, edge_index=None, x=None, batch=None):
        if y.dim() == 2:
            y = y.unsqueeze(-1)
        features = torch.cat([y.flatten(1), x], dim=-1)
        # The residual keeps the output tied to the input positions.
        return y[:, :, 0] + self.mlp(features)


def _sign_eq_net() -> SignEqPointNet:
    return SignEqPointNet(
        DIM,
        in_channels=2,
        out_channels=2,
        node_channels=1,
        hidden_channels=12,
        vector_channels=4,
        num_layers=2,
    )


def _net_for(name: str) -> torch.nn.Module:
    # Frame averaging and canonical signs need no symmetry of the net.
    if name == "PCAFrame":
        return _sign_eq_net()
    return _PlainNet(DIM)


def _orthogonal(dim: int, reflect: bool, seed: int) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(dim, dim, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r))
    if (torch.linalg.det(q) < 0) != reflect:
        q[:, 0] = -q[:, 0]
    return q


def _cloud(num_points: int, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    # A generic cloud: distinct spreads along the axes keep the eigenvalue
    # gaps wide, and a random rotation hides the axes.
    generator = torch.Generator().manual_seed(seed)
    scales = torch.tensor([3.0, 1.7, 0.8], dtype=torch.float64)
    pos = torch.randn(
        num_points, DIM, generator=generator, dtype=torch.float64
    )
    pos = (pos * scales) @ _orthogonal(DIM, False, seed + 100) + 5.0
    vel = torch.randn(
        num_points, DIM, generator=generator, dtype=torch.float64
    )
    charges = torch.randint(0, 2, (num_points, 1), generator=generator)
    return pos, vel, charges.double() * 2 - 1


def _model(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return WRAPPERS[name](_net_for(name)).double()


def _output(model, pos, vel, charges, batch=None, edge_index=None):
    out = model(pos, batch, edge_index, vectors=vel, x=charges)
    return out if out.dim() == 3 else out.unsqueeze(-1)


def _turn(out: Tensor, q: Tensor) -> Tensor:
    # out [N, d, C] times Q acting on the d coordinates.
    return torch.einsum("ndc,de->nec", out, q)


@pytest.mark.parametrize("reflect", [False, True])
@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_orthogonal_and_translation_equivariant(name, reflect):
    model = _model(name)
    pos, vel, charges = _cloud(9, seed=1)
    out = _output(model, pos, vel, charges)
    shift = torch.tensor([0.3, -2.0, 1.1], dtype=torch.float64)

    for trial in range(4):
        q = _orthogonal(DIM, reflect, seed=10 + trial)
        out_q = _output(model, pos @ q + shift, vel @ q, charges)
        expected = _turn(out, q) + shift.view(1, DIM, 1)
        torch.testing.assert_close(out_q, expected, atol=1e-9, rtol=0)


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_vector_outputs_are_translation_invariant(name):
    torch.manual_seed(0)
    model = WRAPPERS[name](_net_for(name), add_center=False).double()
    pos, vel, charges = _cloud(8, seed=2)
    q = _orthogonal(DIM, True, seed=3)
    shift = torch.tensor([4.0, -1.0, 2.5], dtype=torch.float64)

    out = _output(model, pos, vel, charges)
    out_moved = _output(model, pos @ q + shift, vel @ q, charges)

    torch.testing.assert_close(out_moved, _turn(out, q), atol=1e-9, rtol=0)


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_permutation_equivariant_with_and_without_edges(name):
    model = _model(name)
    pos, vel, charges = _cloud(8, seed=4)
    edge_index = torch.tensor([[0, 1, 2, 3, 5, 7, 6], [1, 2, 3, 0, 4, 6, 5]])
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(5))
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(8)

    for edges, edges_perm in [(None, None), (edge_index, inverse[edge_index])]:
        out = _output(model, pos, vel, charges, edge_index=edges)
        out_perm = _output(
            model, pos[perm], vel[perm], charges[perm], edge_index=edges_perm
        )
        torch.testing.assert_close(out_perm, out[perm], atol=1e-9, rtol=0)


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_batched_clouds_each_turned_by_its_own_q(name):
    model = _model(name)
    sizes = [6, 9, 7]
    clouds = [_cloud(size, seed=20 + i) for i, size in enumerate(sizes)]
    pos, vel, charges = (
        torch.cat(parts) for parts in zip(*clouds, strict=True)
    )
    batch = torch.repeat_interleave(torch.arange(3), torch.tensor(sizes))
    qs = torch.stack(
        [_orthogonal(DIM, i % 2 == 1, seed=30 + i) for i in range(3)]
    )
    shifts = torch.randn(
        3, DIM, generator=torch.Generator().manual_seed(6)
    ).double()

    out = _output(model, pos, vel, charges, batch)
    node_q = qs[batch]
    pos_t = torch.einsum("nd,nde->ne", pos, node_q) + shifts[batch]
    vel_t = torch.einsum("nd,nde->ne", vel, node_q)
    out_t = _output(model, pos_t, vel_t, charges, batch)
    expected = torch.einsum("ndc,nde->nec", out, node_q)
    expected = expected + shifts[batch].unsqueeze(-1)

    torch.testing.assert_close(out_t, expected, atol=1e-9, rtol=0)
    # Every cloud is processed on its own: alone, it gives the same output.
    first = _output(model, pos[:6], vel[:6], charges[:6])
    torch.testing.assert_close(out[:6], first, atol=1e-9, rtol=0)


def test_clouds_with_fewer_points_than_dimensions_stay_equivariant():
    # A single point, two points (one direction of extent), three points
    # (a plane) and a full cloud, in one batch. Directions without extent
    # are degenerate in the covariance but carry exact zero coordinates,
    # which the sign-equivariant net maps to zero: no warning, no error.
    torch.manual_seed(0)
    net = SignEqPointNet(DIM, hidden_channels=8, vector_channels=4)
    model = PCAFrame(net).double()
    sizes = [1, 2, 3, 8]
    generator = torch.Generator().manual_seed(7)
    pos = torch.randn(sum(sizes), DIM, generator=generator).double()
    batch = torch.repeat_interleave(torch.arange(4), torch.tensor(sizes))
    q = _orthogonal(DIM, True, seed=8)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = model(pos, batch)
        out_q = model(pos @ q, batch)

    torch.testing.assert_close(out_q, _turn(out, q), atol=1e-9, rtol=0)
    # A lone point has nothing to move it: it stays where it is.
    torch.testing.assert_close(out[0, :, 0], pos[0], atol=1e-12, rtol=0)


def test_sign_equivariant_net_is_needed_for_a_single_frame():
    # The same wrapper around an unconstrained net sees the arbitrary
    # signs of the eigenvectors, and so does a net without any frame:
    # neither is equivariant, which shows that the tests above can fail.
    torch.manual_seed(0)
    net = _PlainNet(DIM).double()
    framed = PCAFrame(net)
    pos, vel, charges = _cloud(9, seed=9)

    for model in (
        framed,
        lambda p, b, e, vectors, x: net(
            torch.stack([p, vectors], dim=-1), e, x=x
        ),
    ):
        out = _output(model, pos, vel, charges)
        errors = []
        for trial in range(6):
            q = _orthogonal(DIM, trial % 2 == 0, seed=40 + trial)
            out_q = _output(model, pos @ q, vel @ q, charges)
            error = (out_q - _turn(out, q)).abs().max()
            errors.append(float(error.detach()))
        assert max(errors) > 1e-3


def test_degenerate_frame_warns_once_with_the_gap():
    # An octahedron: covariance 2 I, every direction principal.
    torch.manual_seed(0)
    model = PCAFrame(SignEqPointNet(DIM, hidden_channels=8)).double()
    pos = torch.cat([torch.eye(DIM), -torch.eye(DIM)]).double()
    pos = pos + 1e-6 * torch.arange(6 * DIM).view(6, DIM).double() / 18

    with pytest.warns(UserWarning, match=r"smallest relative gap \d") as rec:
        model(pos)
    assert "degeneracy_threshold=0.001" in str(rec[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(pos)


def test_degeneracy_threshold_zero_disables_the_check():
    model = PCAFrame(
        SignEqPointNet(DIM, hidden_channels=8), degeneracy_threshold=0.0
    )
    pos = torch.cat([torch.eye(DIM), -torch.eye(DIM)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(pos)


def test_well_separated_cloud_does_not_warn():
    model = _model("PCAFrame")
    pos, vel, charges = _cloud(9, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _output(model, pos, vel, charges)


def test_canonical_signs_warn_on_a_centrally_symmetric_cloud():
    # Points come in pairs p, -p: every third moment vanishes, so no rule
    # can pick signs from them.
    torch.manual_seed(0)
    model = PCAFrameCanonical(_PlainNet(DIM, channels=1)).double()
    half = torch.randn(4, DIM, generator=torch.Generator().manual_seed(1))
    half = half.double() * torch.tensor([3.0, 2.0, 1.0]).double()
    pos = torch.cat([half, -half])
    charges = torch.ones(8, 1, dtype=torch.float64)
    with pytest.warns(UserWarning, match="third moment nearly vanishes"):
        model(pos, x=charges)


def test_averaging_matches_an_explicit_loop_over_signs():
    # Oracle: the batched 2^d copies equal 2^d separate calls.
    torch.manual_seed(0)
    net = _PlainNet(DIM).double()
    model = PCAFrameAveraging(net)
    pos, vel, charges = _cloud(7, seed=11)
    out = model(pos, vectors=vel, x=charges)

    frame_model = PCAFrame(net)
    centre = pos.mean(0)
    _, vecs = torch.linalg.eigh((pos - centre).T @ (pos - centre))
    vecs = vecs.flip(-1)
    y = torch.stack([(pos - centre) @ vecs, vel @ vecs], dim=-1)
    total = torch.zeros(7, DIM, dtype=torch.float64)
    for bits in range(2**DIM):
        signs = torch.tensor(
            [-1.0 if bits >> i & 1 else 1.0 for i in range(DIM)],
            dtype=torch.float64,
        )
        total += net(y * signs.view(1, DIM, 1), x=charges) * signs
    expected = (total / 2**DIM) @ vecs.T + centre
    torch.testing.assert_close(out, expected, atol=1e-10, rtol=0)
    assert frame_model.net is net


def test_float32_within_documented_tolerance():
    torch.manual_seed(0)
    model = PCAFrame(_sign_eq_net())
    pos, vel, charges = (t.float() for t in _cloud(9, seed=12))
    q = _orthogonal(DIM, True, seed=13).float()
    out = model(pos, vectors=vel, x=charges)
    out_q = model(pos @ q, vectors=vel @ q, x=charges)
    torch.testing.assert_close(out_q, _turn(out, q), atol=1e-4, rtol=1e-4)


def test_sign_eq_point_net_is_sign_and_permutation_equivariant():
    torch.manual_seed(0)
    net = _sign_eq_net()
    generator = torch.Generator().manual_seed(14)
    pos = torch.randn(10, DIM, 2, generator=generator)
    charges = torch.randn(10, 1, generator=generator)
    batch = torch.tensor([0] * 6 + [1] * 4)
    edge_index = complete_edges(10, batch)

    assert_equivariant(
        net, pos, edge_index, batch=batch, node_inputs={"x": charges}
    )


def test_complete_edges_matches_a_loop():
    batch = torch.tensor([1, 0, 1, 2, 0, 1, 3])
    edges = complete_edges(7, batch)
    expected = {
        (i, j)
        for i in range(7)
        for j in range(7)
        if i != j and batch[i] == batch[j]
    }
    assert edges.size(1) == len(expected)
    assert set(map(tuple, edges.T.tolist())) == expected


def test_gradients_reach_the_net():
    model = _model("PCAFrame")
    pos, vel, charges = _cloud(6, seed=15)
    _output(model, pos, vel, charges).pow(2).sum().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(float(g.abs().sum()) > 0 for g in grads)


def test_repr_names_the_settings():
    model = PCAFrameCanonical(_PlainNet(DIM), add_center=False)
    text = repr(model)
    assert text.startswith("PCAFrameCanonical(")
    assert "add_center=False" in text and "tie_threshold=1e-06" in text


def _bad_net(y, edge_index=None, **kwargs):
    return y[:, :1]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"pos": torch.ones(4, 3, dtype=torch.long)}, TypeError, "'pos'"),
        ({"pos": torch.ones(4)}, ValueError, r"'pos' must have shape"),
        ({"pos": torch.ones(0, 3)}, ValueError, r"at least one point"),
        (
            {"pos": torch.tensor([[0.0, 1.0, float("nan")]])},
            ValueError,
            r"'pos' must be finite",
        ),
        (
            {"vectors": torch.ones(5, 3)},
            ValueError,
            r"'vectors' must have shape",
        ),
        (
            {"vectors": torch.ones(4, 3, dtype=torch.float64)},
            TypeError,
            r"'vectors' must be a torch.Tensor of the dtype",
        ),
        ({"x": torch.ones(3, 1)}, ValueError, r"'x' must have shape"),
        (
            {"batch": torch.tensor([0, 0, 1])},
            ValueError,
            r"'batch' must be a torch.long vector",
        ),
        (
            {"edge_index": torch.tensor([[0, 9], [1, 2]])},
            ValueError,
            r"'edge_index' must hold node indices",
        ),
    ],
)
def test_bad_inputs_are_named(kwargs, error, match):
    model = PCAFrame(lambda y, edge_index=None, **kw: y)
    inputs = {"pos": torch.randn(4, 3)} | kwargs
    pos = inputs.pop("pos")
    with pytest.raises(error, match=match):
        model(
            pos,
            inputs.get("batch"),
            inputs.get("edge_index"),
            vectors=inputs.get("vectors"),
            x=inputs.get("x"),
        )


def test_bad_net_output_is_named():
    with pytest.raises(ValueError, match=r"'net' must return shape"):
        PCAFrame(_bad_net)(torch.randn(5, 3))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"net": 3}, TypeError, r"'net' must be callable"),
        ({"add_center": 1}, TypeError, r"'add_center' must be a bool"),
        (
            {"degeneracy_threshold": 1.5},
            ValueError,
            r"'degeneracy_threshold' must lie in \[0, 1\)",
        ),
        (
            {"degeneracy_threshold": "small"},
            TypeError,
            r"'degeneracy_threshold' must be a float",
        ),
    ],
)
def test_bad_settings_are_named(kwargs, error, match):
    settings = {"net": _bad_net} | kwargs
    with pytest.raises(error, match=match):
        PCAFrame(**settings)


def test_averaging_rejects_too_many_dimensions():
    model = PCAFrameAveraging(lambda y, edge_index=None, **kw: y)
    with pytest.raises(ValueError, match=r"d=13, which needs 2\^13"):
        model(torch.randn(20, 13))


def test_canonical_rejects_a_bad_tie_threshold():
    with pytest.raises(ValueError, match=r"'tie_threshold' must lie"):
        PCAFrameCanonical(_bad_net, tie_threshold=-0.1)


def test_sign_eq_point_net_names_bad_inputs():
    net = SignEqPointNet(DIM, node_channels=1, hidden_channels=8)
    with pytest.raises(ValueError, match=r"'pos' must have shape"):
        net(torch.randn(5, 2))
    with pytest.raises(ValueError, match=r"'x' must have shape"):
        net(torch.randn(5, DIM))
    with pytest.raises(ValueError, match=r"'node_channels' must be non-neg"):
        SignEqPointNet(DIM, node_channels=-1)


def test_wrapping_keeps_the_weights_of_the_net():
    net = SignEqPointNet(DIM, hidden_channels=8)
    before = [p.detach().clone() for p in net.parameters()]
    PCAFrame(net)
    assert all(
        torch.equal(a, b)
        for a, b in zip(before, net.parameters(), strict=True)
    )


def test_canonical_frame_hands_the_net_sign_invariant_coordinates():
    # With canonical signs the net's input does not change at all when the
    # cloud turns: Y(X Q) = Y(X), the sign-invariant frame. In the plain
    # PCA frame it changes by column signs only: Y(X Q) = Y(X) S.
    seen = []

    def record(y, edge_index=None, **kwargs):
        seen.append(y)
        return y

    pos, vel, _ = _cloud(9, seed=16)
    for trial in range(4):
        q = _orthogonal(DIM, trial % 2 == 1, seed=50 + trial)
        for wrapper in (PCAFrameCanonical, PCAFrame):
            seen.clear()
            wrapper(record)(pos, vectors=vel)
            wrapper(record)(pos @ q, vectors=vel @ q)
            first, turned = seen
            if wrapper is PCAFrameCanonical:
                torch.testing.assert_close(turned, first, atol=1e-9, rtol=0)
            else:
                # One sign per column, shared by every point and channel.
                signs = torch.sign((turned * first).sum(dim=(0, 2)))
                torch.testing.assert_close(
                    turned, first * signs.view(1, DIM, 1), atol=1e-9, rtol=0
                )
