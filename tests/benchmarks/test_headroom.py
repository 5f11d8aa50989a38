import csv

import torch

from benchmarks import headroom
from benchmarks.link_pred import Settings, load_task
from pyg_signeq.metrics import roc_auc

SMALL = Settings(k=8, base_nodes=120, extra_edges=40)


def test_twin_map_is_an_isomorphism_between_the_copies():
    task = load_task("er", 0, SMALL)
    edge_index = task.train.edge_index
    full = torch.cat(
        [edge_index, task.val.edge_label_index, task.test.edge_label_index],
        dim=1,
    )
    # Positive val/test pairs are edges too; negatives are not.
    labels = torch.cat(
        [
            torch.ones(edge_index.size(1)),
            task.val.edge_label,
            task.test.edge_label,
        ]
    ).bool()
    full = full[:, labels]
    keys = set((full[0] * 240 + full[1]).tolist())
    keys |= set((full[1] * 240 + full[0]).tolist())
    twins = headroom.twin_of(full, 120)
    mapped = (twins[0] * 240 + twins[1]).tolist()
    # Only the 40 extra edges may lack a twin.
    missing = sum(key not in keys for key in mapped)
    assert 0 < missing <= 2 * 40


def test_oracles_match_direct_computations():
    task = load_task("er", 1, SMALL)
    aucs = headroom.oracle_aucs(task, 120)
    index = task.test.edge_label_index
    label = task.test.edge_label.bool()
    same = (task.copy[index[0]] == task.copy[index[1]]).double()
    assert aucs["copy"] == roc_auc(same[label], same[~label])
    # Every oracle knows the copy; the twin edge separates much more.
    assert aucs["copy_twin"] > aucs["copy"] + 0.1
    assert aucs["copy_twin_degree"] > aucs["copy"] + 0.1


def test_pe_diagnostics_detect_a_pe_that_carries_twins():
    task = load_task("er", 2, SMALL)
    base = headroom.pe_diagnostics(task, 120)
    assert 0.0 <= base["twin_correlation"] <= 1.0 + 1e-9
    # Give copy 1 exactly the rows of its twins: perfect alignment.
    pe = task.train.pe.clone()
    pe[120:] = pe[:120]
    task.train.pe = pe
    aligned = headroom.pe_diagnostics(task, 120)
    assert abs(aligned["twin_correlation"] - 1.0) < 1e-9


def test_main_writes_the_table(tmp_path):
    argv = [
        "--families",
        "er",
        "--seeds",
        "0",
        "1",
        "--k",
        "4",
        "--base-nodes",
        "60",
        "--extra-edges",
        "20",
        "--out",
        str(tmp_path),
        "--quiet",
    ]
    assert headroom.main(argv) == 0
    rows = list(csv.DictReader(open(tmp_path / "headroom.csv")))
    quantities = {row["quantity"] for row in rows}
    assert {f"oracle_{name}" for name in headroom.ORACLES} <= quantities
    assert "projector_auc_within_copy" in quantities
    assert len(rows) == 2 * (len(headroom.ORACLES) + 2)
    text = (tmp_path / "headroom.md").read_text()
    assert "| er | oracle_copy_twin | - |" in text
