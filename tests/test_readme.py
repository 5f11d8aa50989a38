import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def block_after(marker: str) -> str:
    text = README.read_text()
    match = re.search(
        rf"<!-- {marker} -->\n```\w*\n(.*?)```", text, flags=re.DOTALL
    )
    assert match, f"README.md has no code block after <!-- {marker} -->"
    return match.group(1)


def test_quickstart_runs_as_written(tmp_path):
    code = block_after("quickstart")
    assert len(code.strip().splitlines()) <= 15
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "torch.Size([5000, 16]) torch.Size([1, 16])" in result.stdout


def test_set_up_commands_pin_the_cpu_build():
    for marker in ("test-command", "main-command"):
        command = block_after(marker)
        assert "torch==" in command, marker
        assert len(command.strip().splitlines()) == 1, marker


def test_ci_runs_the_readme_test_command():
    ci = (README.parent / ".ci" / "run").read_text()
    command = block_after("test-command").strip()
    # CI runs the command as written, and checks it against the README.
    assert command in ci.splitlines()
    assert f"test_cmd='{command}'" in ci
    assert "readme_block test-command" in ci


def test_main_command_is_the_paper_benchmark_with_its_extras():
    command = block_after("main-command").strip()
    assert command.endswith("-m benchmarks.link_pred"), command
    # The harness plots with matplotlib and shows tqdm progress bars.
    assert '-e ".[bench]"' in command


@pytest.mark.parametrize(
    ("marker", "results"),
    [
        ("link-pred-table", "link_pred_paper/results.md"),
        ("link-pred-families-table", "link_pred_families/results.md"),
        ("node-clustering-table", "node_clustering/results.md"),
        ("nbody-table", "nbody/results.md"),
        ("scale-table", "scale.md"),
        ("pe-speed-table", "pe_speed.md"),
        ("pe-speed-8mib-l3-table", "pe_speed_8mib_l3/pe_speed.md"),
    ],
)
def test_result_tables_are_copied_from_their_files(marker, results):
    # Every number in the README comes from a file a named command writes.
    text = README.read_text()
    start = text.index(f"<!-- {marker} -->\n") + len(f"<!-- {marker} -->\n")
    table = text[start:].split("\n\n", 1)[0].splitlines()
    assert len(table) > 2 and all(line.startswith("|") for line in table)
    path = README.parent / "benchmarks" / "results" / results
    written = path.read_text().splitlines()
    for line in table:
        assert line in written, line


def test_headroom_table_is_taken_from_its_file():
    text = README.read_text()
    start = text.index("<!-- headroom-table -->\n")
    table = text[start:].split("\n\n", 1)[0].splitlines()[3:]
    written = (
        README.parent / "benchmarks" / "results" / "headroom.md"
    ).read_text()
    families = {"Erdos-Renyi": "er", "Barabasi-Albert": "ba"}
    oracles = ["copy", "copy_degree", "copy_twin", "copy_twin_degree"]
    assert len(table) == 2
    for line in table:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        family = families[cells[0]]
        for name, value in zip(oracles, cells[1:5], strict=True):
            assert f"| {family} | oracle_{name} | - | {value} +-" in written
        for k, value in zip((16, 64, 256), cells[5].split(" / "), strict=True):
            row = f"| {family} | projector_auc_within_copy | {k} | {value} +-"
            assert row in written
