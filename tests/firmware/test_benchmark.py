"""benchmarks/firmware_bench.py runs as shipped (quick mode), so it cannot rot."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import REPO


@pytest.mark.bench
def test_firmware_bench_runs(engine, standin: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("chroot and bind mounts need root")
    p = subprocess.run([sys.executable, str(REPO / "benchmarks" / "firmware_bench.py"), "--quick",
                        "--image", standin], cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "identical ROM container vs host: True" in p.stdout, p.stdout
    assert "QEMU boot check" in p.stdout


@pytest.mark.bench
def test_firmware_bench_src_and_ccache_runs(engine, standin: str) -> None:
    """The --src/--ccache side-by-side (named target vs --src, cold vs warm cache), quick."""
    import re

    p = subprocess.run([sys.executable, str(REPO / "benchmarks" / "firmware_bench.py"), "--src",
                        "--ccache", "--quick", "--image", standin], cwd=REPO,
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "--src / named = " in p.stdout and "warm / cold = " in p.stdout, p.stdout
    assert "same ROM named vs --src: True" in p.stdout, p.stdout
    m = re.search(r"ccache hits/misses per build .*: (\d+)/(\d+), (\d+)/(\d+)$", p.stdout,
                  re.MULTILINE)
    assert m, p.stdout
    cold_hits, cold_misses, warm_hits, warm_misses = map(int, m.groups())
    assert cold_misses > 100 and warm_misses <= (cold_hits + cold_misses) // 100  # warm: hits
    assert warm_hits > cold_hits
    assert "fwenv-bench-ccache-" not in subprocess.run(
        ["docker", "volume", "ls", "-q"], capture_output=True, text=True).stdout
