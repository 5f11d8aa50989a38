import subprocess
from pathlib import Path

from benchmarks._provenance import code_version, cpu_description


def _cache(root, name, level, size):
    index = root / name
    index.mkdir(parents=True)
    (index / "level").write_text(f"{level}\n")
    (index / "size").write_text(f"{size}\n")


def test_cpu_description_names_model_and_last_level_cache(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: X\nmodel name\t: Some CPU 9000\n"
        "processor\t: 1\nmodel name\t: Some CPU 9000\n"
    )
    caches = tmp_path / "cache"
    _cache(caches, "index0", 1, "32K")
    _cache(caches, "index2", 2, "512K")
    _cache(caches, "index3", 3, "32768K")
    got = cpu_description(cpuinfo, caches)
    assert got == "Some CPU 9000, 32 MiB L3 cache"


def test_cpu_description_leaves_out_what_it_cannot_read(tmp_path):
    caches = tmp_path / "cache"
    _cache(caches, "index0", 1, "48K")
    (caches / "index1").mkdir()  # no level or size files
    missing = tmp_path / "no_cpuinfo"
    assert cpu_description(missing, caches) == "unknown CPU, 48 KiB L1 cache"
    assert cpu_description(missing, tmp_path / "none") == "unknown CPU"


def test_code_version_names_the_checkout_commit():
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
    )
    version = code_version()
    if head.returncode != 0:
        assert version.startswith("unknown")
    else:
        assert version.startswith(f"commit {head.stdout.strip()}")
