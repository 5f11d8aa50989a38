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


def cpu_description(
    cpuinfo: Path = Path("/proc/cpuinfo"),
    caches: Path = Path("/sys/devices/system/cpu/cpu0/cache"),
) -> str:
    """Name the CPU model and its last-level cache, as Linux reports them.

    Sparse products over a block of eigenvector columns are bound by memory
    traffic, so their speed depends on the cache as much as on the core
    count: the same solver ran 2-4 times slower on a 2-core machine with an
    8 MiB L3 than on another 2-core machine. Results name both.

    Args:
        cpuinfo (Path): Linux's CPU description. (default:
            ``/proc/cpuinfo``)
        caches (Path): The sysfs folder of the first CPU's caches.
            (default: ``/sys/devices/system/cpu/cpu0/cache``)

    Returns:
        str: Such as ``"AMD EPYC, 8 MiB L3 cache"``; what cannot be read
        is left out (``"unknown CPU"`` for the model).
    """
    model = "unknown CPU"
    try:
        with open(cpuinfo) as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    found = []
    for index in caches.glob("index[0-9]*"):
        try:
            level = int((index / "level").read_text())
            size = (index / "size").read_text().strip()
        except (OSError, ValueError):
            continue
        found.append((level, size))
    if not found:
        return model
    level, size = max(found, key=lambda entry: entry[0])
    kib = size[:-1]
    if size.endswith("K") and kib.isdigit():
        size = f"{int(kib) / 1024:g} MiB" if int(kib) >= 1024 else f"{kib} KiB"
    return f"{model}, {size} L{level} cache"
