import csv
import math

import numpy as np
import pytest
import torch

from benchmarks import nbody


def _small_config(**changes) -> nbody.Config:
    config = nbody.quick_config()
    for key, value in changes.items():
        setattr(config, key, value)
    return config


def test_quick_run_writes_every_model(tmp_path):
    argv = [
        "--quick",
        "--quiet",
        "--out",
        str(tmp_path),
        "--num-train",
        "12",
        "--num-eval",
        "6",
        "--epochs",
        "1",
    ]
    assert nbody.main(argv) == 0

    with open(tmp_path / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["model"] for row in rows] == list(nbody.MODEL_NAMES)
    for row in rows:
        for key in ("val_mse", "test_mse", "train_seconds"):
            assert math.isfinite(float(row[key])) and float(row[key]) >= 0
        assert row["code"].startswith(("commit", "unknown"))
    # The unconstrained net is sized to the sign-equivariant one's budget.
    counts = {row["model"]: int(row["num_params"]) for row in rows}
    assert 0.85 * counts["PCAFrame"] <= counts["GNN"] <= counts["PCAFrame"]
    assert counts["GNN"] == counts["FrameAveraging"]

    table = (tmp_path / "results.md").read_text()
    assert "python -m benchmarks.nbody --quick" in table
    assert "Reduced setting" in table
    assert "EGNN 0.0071" in table and "0.0057" in table
    body = [line for line in table.splitlines() if line.startswith("| ")]
    assert body[0].startswith("| model | params | test MSE |")
    assert [line.split(" | ")[0][2:] for line in body[1:]] == list(
        nbody.MODEL_NAMES
    )
    assert (tmp_path / "results.png").stat().st_size > 1000


def test_simulation_is_deterministic_per_seed():
    config = _small_config(burn_in_steps=50, horizon_steps=20)
    first = nbody.simulate(6, config, seed=3)
    second = nbody.simulate(6, config, seed=3)
    other = nbody.simulate(6, config, seed=4)

    for name in ("pos", "vel", "charges", "target"):
        np.testing.assert_array_equal(
            getattr(first, name), getattr(second, name)
        )
    assert not np.allclose(first.pos, other.pos)
    assert set(np.unique(first.charges)) <= {-1.0, 1.0}


def test_simulation_conserves_momentum_and_nearly_energy():
    # Unit masses and pairwise forces that cancel: total momentum is
    # exact; the symplectic integrator keeps the energy close.
    config = _small_config()
    rng = np.random.default_rng(0)
    pos = rng.normal(size=(16, 5, 3))
    vel = rng.normal(size=(16, 5, 3)) * 0.5
    charges = rng.choice([-1.0, 1.0], size=(16, 5))

    new_pos, new_vel = nbody._advance(pos, vel, charges, 500, config)

    np.testing.assert_allclose(
        new_vel.sum(axis=1), vel.sum(axis=1), atol=1e-10
    )
    before = nbody.energy(pos, vel, charges)
    after = nbody.energy(new_pos, new_vel, charges)
    drift = np.abs(after - before) / np.abs(before)
    assert np.median(drift) < 1e-3
    assert not np.allclose(new_pos, pos + 0.5 * vel)


def test_forces_match_a_loop_and_turn_with_the_system():
    config = _small_config()
    rng = np.random.default_rng(1)
    pos = rng.normal(size=(2, 4, 3))
    pos[1, 1] = pos[1, 0] + 0.01  # a close pair: its force is capped
    charges = rng.choice([-1.0, 1.0], size=(2, 4))

    out = nbody.forces(pos, charges, config)

    expected = np.zeros_like(pos)
    for b in range(2):
        for i in range(4):
            for j in range(4):
                if i == j:
                    continue
                diff = pos[b, i] - pos[b, j]
                r = np.linalg.norm(diff)
                size = min(charges[b, i] * charges[b, j] / r**2, 100.0)
                size = max(size, -100.0)
                expected[b, i] += size * diff / r
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)

    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    np.testing.assert_allclose(
        nbody.forces(pos @ q, charges, config), out @ q, atol=1e-10
    )


def test_unknown_model_is_named():
    config = _small_config(models=("EGNN",))
    with pytest.raises(ValueError, match=r"'models' must name.*'EGNN'"):
        nbody.run(config)


def test_frame_models_are_equivariant_and_the_gnn_is_not():
    config = _small_config()
    data = nbody._Split.of(nbody.simulate(4, config, seed=5))
    batches = nbody._Batches(config.num_particles)
    index = torch.arange(4)
    pos, batch, edge_index, vel, charges = batches.inputs(data, index)
    q, _ = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64))

    errors = {}
    for name in nbody.MODEL_NAMES:
        model = nbody.make_model(name, config, seed=0).double()
        with torch.no_grad():
            out = model(
                pos.double(),
                batch,
                edge_index,
                vectors=vel.double(),
                x=charges.double(),
            )
            out_q = model(
                pos.double() @ q,
                batch,
                edge_index,
                vectors=vel.double() @ q,
                x=charges.double(),
            )
        errors[name] = float((out_q - out @ q).abs().max())
    assert max(errors[name] for name in nbody.MODEL_NAMES[:3]) < 1e-9
    assert errors["GNN"] > 1e-4
