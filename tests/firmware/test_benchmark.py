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
