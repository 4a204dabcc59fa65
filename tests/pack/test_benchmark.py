"""benchmarks/env_bench.py and scale_bench.py run as shipped (quick mode), so they cannot rot."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import MAIN


@pytest.mark.bench
@pytest.mark.parametrize("script, lines", [
    ("env_bench.py", ("env.build full:", "env.build no-op:", "env.import --force:", "sha256 verify")),
    ("scale_bench.py", ("pack from the cache, store B:", "release.bundle:", "env.build --bundle")),
], ids=["env_bench", "scale_bench"])
def test_bench_runs(offline_builder: str, script: str, lines: tuple[str, ...]) -> None:
    p = subprocess.run([sys.executable, str(MAIN / "benchmarks" / script), "--quick",
                        "--builder", offline_builder], cwd=MAIN, capture_output=True, text=True,
                       timeout=1800)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    for line in lines:
        assert line in p.stdout, p.stdout
