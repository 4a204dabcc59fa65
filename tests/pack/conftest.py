"""Shared, expensive things for the pack tests: the offline builder image and a project dir."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import unique

MAIN = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
OFFLINE = HERE / "offline"
ENV_IMAGE = unique("fwenv-test-env")  # never a name a user (or another run) holds


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A throw-away fwenv project root (its own output/ and image name)."""
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.fwenv]\noutput_dir = "output"\nenv_image = "{ENV_IMAGE}"\n'
        'env_tag = "latest"\n[tool.fwenv.builder]\ndaemon_mode = "unprivileged"\n')
    shutil.copytree(OFFLINE, tmp_path / "offline")
    return tmp_path


def invoke_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "invoke", "-r", str(MAIN), *args]


def offline_args(builder: str, root: Path) -> list[str]:
    """The options that make a real pack offline (the product path; only inputs differ)."""
    return ["--builder", builder, "--manifest", str(root / "offline" / "manifest.scm"),
            "--load-path", str(root / "offline"), "--no-time-machine", "--no-substitutes",
            "--guix-option=--bootstrap", "--compressor=xz", "--entry-point=bin/hello"]


def run_invoke(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{MAIN / 'src'}:{MAIN}"}
    p = subprocess.run(invoke_argv(*args), cwd=root, env=env, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"invoke {' '.join(args)} failed ({p.returncode}): {p.stderr[-2000:]}")
    return p
