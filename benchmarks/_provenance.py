"""Which code a benchmark result came from."""

from __future__ import annotations

import subprocess
from pathlib import Path


def code_version() -> str:
    """Name the commit the benchmark ran on and any uncommitted changes."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout

    try:
        commit = git("rev-parse", "--short", "HEAD").strip()
        status = git(
            "status", "--porcelain", "--", "pyg_signeq", "benchmarks/*.py"
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown (not run from a git checkout)"
    changed = [line[3:] for line in status.splitlines() if line.strip()]
    if changed:
        return f"commit {commit} with uncommitted changes to " + ", ".join(
            changed
        )
    return f"commit {commit}"
