import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.link_pred import Settings, run_link_pred

ROOT = Path(__file__).resolve().parents[2]
TORCHRUN = Path(sys.executable).with_name("torchrun")
ARGS = [
    "--datasets",
    "er",
    "--models",
    "sign_dss",
    "gcn",
    "--trials",
    "1",
    "--epochs",
    "3",
    "--base-nodes",
    "40",
    "--extra-edges",
    "20",
    "--batch-size",
    "64",
]


def _torchrun(out: Path) -> subprocess.CompletedProcess:
    command = [
        str(TORCHRUN),
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "benchmarks.link_pred",
        *ARGS,
        "--out",
        str(out),
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYG_SIGNEQ_DIST_TIMEOUT="60")
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env
    )


def _rows(out: Path) -> list[dict]:
    lines = (out / "results.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.slow
def test_torchrun_matches_one_process_and_resumes(tmp_path):
    """Two gloo ranks with the same global batch as one process give the
    same test metrics within 1e-6 (float32); a second launch skips the
    finished trials and writes nothing new."""
    done = _torchrun(tmp_path / "ddp")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = _rows(tmp_path / "ddp")
    # Rank 0 alone wrote: one row per trial, oracle included.
    assert sorted(r["model"] for r in rows) == [
        "copy_oracle",
        "gcn",
        "sign_dss",
    ]
    assert {r["world_size"] for r in rows} == {2}
    md = (tmp_path / "ddp" / "results.md").read_text()
    assert "torchrun --nproc_per_node 2 -m benchmarks.link_pred" in md

    single = run_link_pred(
        ["er"],
        ["sign_dss", "gcn"],
        trials=1,
        settings=Settings(
            epochs=3, batch_size=64, base_nodes=40, extra_edges=20
        ),
        out=tmp_path / "single",
    )
    by_model = {r["model"]: r for r in single}
    for row in rows:
        reference = by_model[row["model"]]
        assert row["test_auc"] == pytest.approx(
            reference["test_auc"], abs=1e-6
        )
        assert row["best_epoch"] == reference["best_epoch"]

    again = _torchrun(tmp_path / "ddp")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming: 2 finished trials" in again.stderr
    assert _rows(tmp_path / "ddp") == rows
