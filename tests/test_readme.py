import re
import subprocess
import sys
from pathlib import Path

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
    assert "readme_block test-command" in ci
