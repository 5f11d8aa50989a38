import csv

import pytest
import torch

from benchmarks import scale
from benchmarks.scale import COLLAB_EDGES, COLLAB_NODES, collab_like_graph


@pytest.mark.parametrize("fraction", [0.001, 0.003])
def test_graph_has_collabs_counts_at_the_fraction(fraction):
    data = collab_like_graph(fraction, seed=0)
    assert data.num_nodes == round(fraction * COLLAB_NODES)
    assert data.edge_index.size(1) == 2 * round(fraction * COLLAB_EDGES)
    once = data.edge_index[:, data.edge_index[0] < data.edge_index[1]]
    # Every edge once each way, no self-loops, no repeats.
    assert once.size(1) == data.edge_index.size(1) // 2
    assert torch.unique(once, dim=1).size(1) == once.size(1)
    # Power-law degrees: the largest is far above the mean.
    degree = torch.bincount(data.edge_index[0], minlength=data.num_nodes)
    assert degree.max() > 4 * degree.float().mean()


def test_graph_is_reproducible():
    a = collab_like_graph(0.001, seed=3)
    b = collab_like_graph(0.001, seed=3)
    assert torch.equal(a.edge_index, b.edge_index)


@pytest.mark.parametrize("fraction", [0, 1.5])
def test_fraction_must_lie_in_unit_interval(fraction):
    with pytest.raises(ValueError, match="'fraction' must lie in"):
        collab_like_graph(fraction)


def test_main_writes_both_files(tmp_path, capsys):
    argv = [
        "--fractions",
        "0.001",
        "--chunk-size",
        "100",
        "--score-batch-size",
        "500",
        "--out",
        str(tmp_path),
        "--quiet",
    ]
    assert scale.main(argv) == 0
    with open(tmp_path / "scale.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["fraction"], r["model"]) for r in rows] == [
        ("0.001", "sign_dss"),
        ("0.001", "sign_eq"),
    ]
    for row in rows:
        assert float(row["total_seconds"]) == pytest.approx(
            float(row["pe_seconds"])
            + float(row["epoch_seconds"])
            + float(row["eval_seconds"])
        )
        assert 0 <= float(row["val_auc"]) <= 1
        assert float(row["peak_mb"]) > 0
    md = (tmp_path / "scale.md").read_text()
    assert "python -m benchmarks.scale --fractions 0.001 --chunk" in md
    assert "Code: " in md
    assert "chunk_size=100" in md


def test_bad_model_is_reported(tmp_path, caplog):
    argv = ["--fractions", "0.001", "--models", "nope", "--out", str(tmp_path)]
    assert scale.main(argv) == 2
    assert "nope" in caplog.text


def test_merge_keeps_other_sizes_and_refuses_other_settings(tmp_path):
    common = ["--models", "sign_dss", "--out", str(tmp_path), "--quiet"]
    assert scale.main(["--fractions", "0.001", *common]) == 0
    assert scale.main(["--fractions", "0.002", "--merge", *common]) == 0
    rows = scale.read_results(tmp_path / "scale.csv")
    assert [r["fraction"] for r in rows] == [0.001, 0.002]
    assert rows[0]["command"] != rows[1]["command"]
    md = (tmp_path / "scale.md").read_text()
    assert "--fractions 0.001 " in md and "--fractions 0.002 " in md
    other = ["--fractions", "0.002", "--merge", "--score-batch-size", "9"]
    assert scale.main([*other, *common]) == 2
