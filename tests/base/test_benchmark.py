"""benchmarks/base_bench.py runs as shipped (quick mode), so it cannot rot."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ..conftest import ROOT, require


@pytest.mark.bench
def test_base_bench_runs(engine) -> None:
    require(os.geteuid() == 0, "root (debootstrap/chroot)")
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "base_bench.py"), "--quick"],
                       cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "guix.base warm" in p.stdout and "(skipped: True)" in p.stdout
