"""Fixtures for tests of guix/ (channels, manifest, our packages): real guix-daemon containers.

Image choice: guix-pack-builder:1.5.0 if present; else the lead's `builder_image` fixture
(builds it with fwenv.builder); else scratch-builder:exp. Every session is a fresh
container with the checkout's guix/ mounted read-only at /src/guix and --network=none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from fwenv.engine import Engine, Mount
from fwenv.guixd import GuixSession, daemon_spec, guix_session
from fwenv.plan import Runner

ROOT = Path(__file__).resolve().parents[2]
GUIX_DIR = ROOT / "guix"
IN = "/src/guix"  # where guix/ is mounted in the builder
PRODUCT_IMAGE = "guix-pack-builder:1.5.0"
SCRATCH_IMAGE = "scratch-builder:exp"


@pytest.fixture(scope="session")
def guix_image(request: pytest.FixtureRequest) -> str:
    engine = Engine.connect()
    if engine.image(PRODUCT_IMAGE) is not None:
        return PRODUCT_IMAGE
    try:
        return str(request.getfixturevalue("builder_image"))
    except Exception:  # no builder module yet, or it cannot build here
        if engine.image(SCRATCH_IMAGE) is None:
            pytest.skip(f"neither {PRODUCT_IMAGE} nor {SCRATCH_IMAGE} exists")
        return SCRATCH_IMAGE


@pytest.fixture(scope="session")
def guix_dir() -> Path:
    return GUIX_DIR


@pytest.fixture(scope="session")
def fresh_guix(guix_image: str) -> Callable[..., AbstractContextManager[GuixSession]]:
    """`with fresh_guix() as g:` a new builder container, guix/ (or `src`) at /src/guix."""
    engine = Engine.connect()

    @contextmanager
    def start(src: Path = GUIX_DIR) -> Iterator[GuixSession]:
        spec = daemon_spec(guix_image, mounts=[Mount(str(src), IN, read_only=True)])
        with guix_session(engine, Runner(), spec) as session:
            yield session

    return start
