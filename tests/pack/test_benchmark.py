"""benchmarks/env_bench.py runs as shipped (quick mode), so it cannot rot."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import MAIN


@pytest.mark.bench
def test_env_bench_runs(offline_builder: str) -> None:
    p = subprocess.run([sys.executable, str(MAIN / "benchmarks" / "env_bench.py"), "--quick",
                        "--builder", offline_builder], cwd=MAIN, capture_output=True, text=True,
                       timeout=1800)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    for line in ("env.build full:", "env.build no-op:", "env.import --force:", "sha256 verify"):
        assert line in p.stdout, p.stdout


@pytest.mark.bench
def test_scale_bench_runs(offline_builder: str) -> None:
    p = subprocess.run([sys.executable, str(MAIN / "benchmarks" / "scale_bench.py"), "--quick",
                        "--builder", offline_builder], cwd=MAIN, capture_output=True, text=True,
                       timeout=1800)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    for line in ("pack from the cache, store B:", "release.bundle:", "env.build --bundle"):
        assert line in p.stdout, p.stdout
