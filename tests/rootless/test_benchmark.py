"""benchmarks/rootless_bench.py runs as shipped (quick mode), so it cannot rot. Only its pack
part (Docker vs rootless Podman, the session's builder moved with `docker save | podman load`):
the firmware and guix.base parts each add minutes, and tests/rootless already runs both paths."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import MAIN, missing_tools


@pytest.mark.bench
def test_rootless_bench_pack_runs(builder_image: str) -> None:
    if why := missing_tools():
        pytest.skip(why)
    p = subprocess.run([sys.executable, str(MAIN / "benchmarks" / "rootless_bench.py"), "--quick",
                        "--parts", "pack", "--builder", builder_image], cwd=MAIN,
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "ratio Podman (rootless) / Docker (root) = " in p.stdout, p.stdout
    assert "same pack Docker vs Podman: True" in p.stdout, p.stdout
    users = subprocess.run(["getent", "passwd"], capture_output=True, text=True).stdout
    assert "\nfwrb" not in f"\n{users}"  # the user it made is gone
