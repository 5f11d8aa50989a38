import csv
import math

import pytest

from benchmarks import pe_speed


def test_quick_run_writes_consistent_files(tmp_path):
    argv = ["--sizes", "2500", "--families", "rr", "--out", str(tmp_path)]
    argv += ["--repeats", "1"]
    assert pe_speed.main([*argv, "--quiet"]) == 0
    with open(tmp_path / "pe_speed.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["method"] for r in rows] == ["pyg_signeq", "pyg"]
    ours, pyg = rows
    assert ours["status"] == pyg["status"] == "ok"
    assert ours["solver"] == "chebyshev"
    # Both results are eigenvectors of the same Laplacian: small residuals
    # and matching eigenvalues, measured by the benchmark itself.
    assert float(ours["max_residual"]) <= 1e-5
    assert float(pyg["max_residual"]) <= 1e-5
    assert float(pyg["max_eig_val_diff"]) <= 1e-8
    assert float(ours["peak_rss_mb"]) > 0
    table = (tmp_path / "pe_speed.md").read_text()
    assert "| random 10-regular | 2,500 |" in table
    assert "python -m benchmarks.pe_speed --sizes 2500" in table
    # What was measured, and where: the commit and the CPU.
    assert "\nCode: commit " in table or "\nCode: unknown" in table
    machine = next(line for line in table.splitlines() if "Machine:" in line)
    assert f"({pe_speed.cpu_description()})" in machine


def test_cap_is_recorded_instead_of_waited_for(tmp_path):
    rows = pe_speed.run_pe_speed(
        sizes=[3000], families=["ba"], cap=1e-3, methods=["pyg"]
    )
    assert rows[0]["status"] == "capped"
    assert math.isnan(rows[0]["max_residual"])
    pe_speed.write_results(rows, tmp_path, 1e-3, [])
    assert "(capped)" in (tmp_path / "pe_speed.md").read_text()


def test_unknown_family_is_named():
    with pytest.raises(ValueError, match="'families'.*'grid'"):
        pe_speed.run_pe_speed(sizes=[10], families=["grid"])


def test_repeats_alternate_and_report_mean_and_std(tmp_path):
    rows = pe_speed.run_pe_speed(
        sizes=[1500, 2500],
        families=["ba"],
        repeats=3,
        repeat_max_nodes=2000,
    )
    by_size = {}
    for row in rows:
        by_size.setdefault(row["num_nodes"], []).append(row)
    # Small graphs are timed three times per method, larger ones once.
    assert [r["runs"] for r in by_size[1500]] == [3, 3]
    assert [r["runs"] for r in by_size[2500]] == [1, 1]
    for row in by_size[1500]:
        assert row["seconds"] > 0 and row["seconds_std"] >= 0
    assert all(math.isnan(r["seconds_std"]) for r in by_size[2500])
    pe_speed.write_results(rows, tmp_path, 300.0, [])
    table = (tmp_path / "pe_speed.md").read_text()
    assert "timed 3 times" in table
    line = next(x for x in table.splitlines() if "| 1,500 |" in x)
    assert line.count("+-") == 2


@pytest.mark.parametrize("repeats", [0, -1])
def test_repeats_must_be_positive(repeats):
    with pytest.raises(ValueError, match=f"'repeats'.*{repeats}"):
        pe_speed.run_pe_speed(sizes=[10], families=["ba"], repeats=repeats)
    with pytest.raises(SystemExit):
        pe_speed.main(["--repeats", str(repeats)])
