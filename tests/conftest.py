"""Shared fixtures: the real Docker engine and the real builder image (built by guix.base)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fwenv.config import Config, load_config
from fwenv.engine import Engine
from fwenv.guix.builder import build_builder
from fwenv.plan import Runner

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args: str, env: dict[str, str] | None = None, timeout: float = 1800,
           check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `invoke ARGS` from the project root, as a user would."""
    proc = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "invoke", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"invoke {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def config_with_output(output: Path) -> Config:
    cfg = load_config(ROOT)
    cfg.data = {**cfg.data, "output_dir": str(output)}
    return cfg


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.connect()


@pytest.fixture(scope="session")
def builder_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("builder-output")


@pytest.fixture(scope="session")
def builder_build(engine: Engine, builder_output: Path):
    """The builder image, built by the product code (skipped if one with the same inputs exists)."""
    result = build_builder(config_with_output(builder_output), Runner(), engine)
    yield result
    for tar in builder_output.glob("*.tar"):
        tar.unlink()


@pytest.fixture(scope="session")
def builder_image(builder_build) -> str:
    return builder_build.image


@pytest.fixture(scope="session")
def offline_builder(builder_image: str, engine: Engine) -> str:
    """The builder image for the offline pack route: it carries the static busybox and xz that
    tests/pack/offline seeds the store from (Debian's busybox-static, xz-utils)."""
    from fwenv.engine import ContainerSpec

    probe = ["sh", "-c", "test -x /bin/busybox && command -v xz"]
    code, out = engine.run(ContainerSpec(builder_image, probe))
    assert code == 0, f"{builder_image} lacks busybox-static/xz-utils: {out}"
    return builder_image
