import csv
import math

import pytest
import torch

from benchmarks import epoch_speed

TINY = [
    "--families",
    "er",
    "ba",
    "--models",
    "gcn",
    "sign_dss",
    "eigvec_dot",
    "--base-nodes",
    "60",
    "--extra-edges",
    "20",
    "--repeats",
    "2",
    "--warmup",
    "0",
    "--quiet",
]


def test_tiny_run_writes_consistent_files(tmp_path):
    threads = torch.get_num_threads()
    state = torch.get_rng_state()
    assert epoch_speed.main([*TINY, "--out", str(tmp_path)]) == 0
    # The benchmark restores the thread count and the global generator.
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.get_rng_state(), state)

    with open(tmp_path / "epoch_speed.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(epoch_speed.FIELDS)
    assert [(r["family"], r["model"]) for r in rows] == [
        (family, model)
        for family in ("er", "ba")
        for model in ("gcn", "sign_dss", "eigvec_dot")
    ]
    for row in rows:
        assert int(row["num_nodes"]) == 120
        assert int(row["threads"]) == 1
        assert int(row["repeats"]) == 2
        assert int(row["warmup"]) == 0
        times = [float(t) for t in row["all_seconds"].split()]
        assert len(times) == 2 and all(t > 0 for t in times)
        low, mid, high = (
            float(row[key])
            for key in ("min_seconds", "median_seconds", "max_seconds")
        )
        assert low <= mid <= high
        assert math.isclose(mid, sum(times) / 2, rel_tol=1e-5)
        # 80% of the undirected edges train, each counted once.
        assert int(row["num_train_links"]) == pytest.approx(
            0.8 * int(row["num_edges"]), abs=2
        )
    by_model = {r["model"]: r for r in rows if r["family"] == "er"}
    assert float(by_model["gcn"]["ratio_to_gcn"]) == 1.0
    assert int(by_model["gcn"]["num_parameters"]) == 25_024
    assert int(by_model["sign_dss"]["num_parameters"]) == 24_544
    assert by_model["eigvec_dot"]["trained"] == "False"

    table = (tmp_path / "epoch_speed.md").read_text()
    assert "python -m benchmarks.epoch_speed --families er ba" in table
    assert "| sign_dss | 24,544 |" in table
    assert "| eigvec_dot (no training step) | 0 |" in table
    assert table.count("sign_dss / GCN = ") == 2
    assert "2 timed rounds after 0 untimed warm-up round(s)" in table
    assert "\nCode: commit " in table or "\nCode: unknown" in table


def test_ratio_is_missing_without_gcn():
    rows = epoch_speed.run_epoch_speed(
        families=["er"],
        models=["sign_dss"],
        base_nodes=30,
        num_extra_edges=5,
        repeats=1,
        warmup=0,
    )
    assert math.isnan(rows[0]["ratio_to_gcn"])
    assert epoch_speed.target_verdicts(rows) == {}
    assert "| - |" in epoch_speed.to_markdown(rows)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(families=["ws"]), ValueError, "'families' must hold .*'ws'"),
        (dict(models=["mlp"]), ValueError, "'models' must hold .*'mlp'"),
        (dict(models="gcn"), TypeError, "'models' must be a sequence"),
        (dict(repeats=0), ValueError, "'repeats' must be at least 1, got 0"),
        (dict(threads=0), ValueError, "'threads' must be at least 1"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        epoch_speed.run_epoch_speed(**kwargs)
