import csv
import math

import pytest
import torch

from benchmarks import expressiveness


def test_quick_run_writes_well_formed_files(tmp_path):
    argv = ["--quick", "--quiet", "--out", str(tmp_path)]
    assert expressiveness.main(argv) == 0

    with open(tmp_path / "expressiveness.csv") as handle:
        rows = list(csv.DictReader(handle))
    config = expressiveness.quick_config()
    expected = [
        (target, model, seed)
        for target in config.targets
        for seed in config.seeds
        for model in ("SignDSS", "SignEqNet")
    ]
    assert [(r["target"], r["model"], int(r["seed"])) for r in rows] == (
        [(t, m, s) for t, m, s in expected]
    )
    for row in rows:
        for key in ("train_mse", "test_mse", "seconds", "zero_test_mse"):
            assert math.isfinite(float(row[key])) and float(row[key]) >= 0
    # Equal budget: SignEqNet never has more parameters than SignDSS.
    counts = {r["model"]: int(r["num_params"]) for r in rows}
    assert 0.8 * counts["SignDSS"] <= counts["SignEqNet"] <= counts["SignDSS"]

    table = (tmp_path / "expressiveness.md").read_text()
    assert "python -m benchmarks.expressiveness --quick" in table
    body = [line for line in table.splitlines() if line.startswith("| ")]
    assert body[0].startswith("| target | model | params |")
    assert len(body) == 1 + len(config.targets) * 2
    assert all(line.count("+-") == 2 for line in body[1:])


def test_run_is_reproducible_and_leaves_global_rng_alone():
    config = expressiveness.quick_config()
    config.seeds = (3,)
    torch.manual_seed(0)
    state = torch.random.get_rng_state()

    first = expressiveness.run(config)
    second = expressiveness.run(config)

    assert torch.equal(torch.random.get_rng_state(), state)
    assert [r.test_mse for r in first] == [r.test_mse for r in second]


def test_matched_budget_never_exceeds_sign_dss():
    config = expressiveness.Config()
    models = expressiveness.make_models(config, seed=0)
    dss = sum(p.numel() for p in models["SignDSS"].parameters())
    eq = sum(p.numel() for p in models["SignEqNet"].parameters())
    # Eight gates of 8*92 + 92 + 92*8 + 8 + 8 = 1580, plus the readout.
    assert dss == 12_640 + config.k
    assert 0.95 * dss <= eq <= dss


def test_unknown_target_is_named():
    config = expressiveness.quick_config()
    config.targets = ("cubic",)
    with pytest.raises(ValueError, match=r"'targets' must name.*'cubic'"):
        expressiveness.run(config)


def test_targets_are_sign_equivariant():
    generator = torch.Generator().manual_seed(0)
    v = torch.randn(6, 3, generator=generator, dtype=torch.float64)
    adj = torch.rand(6, 6, generator=generator, dtype=torch.float64)

    def mean(x):
        return adj @ x

    signs = torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64)
    for target in expressiveness.TARGETS.values():
        torch.testing.assert_close(
            target(v * signs, mean), target(v, mean) * signs
        )
