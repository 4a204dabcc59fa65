"""Fixtures for tests of guix/ (channels, manifest, our packages): real guix-daemon containers.

Image: the product builder (the `builder_image` fixture, built by guix.base). Every session is a fresh
container with the checkout's guix/ mounted read-only at /src/guix and --network=none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from fwenv.engine import Engine, Mount
from fwenv.guix.daemon import GuixSession, daemon_spec, guix_session
from fwenv.plan import Runner

ROOT = Path(__file__).resolve().parents[2]
GUIX_DIR = ROOT / "guix"
IN = "/src/guix"  # where guix/ is mounted in the builder


@pytest.fixture(scope="session")
def guix_image(builder_image: str) -> str:
    """The product builder image (tests/conftest.py builds it with guix.base's code)."""
    return builder_image


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


@pytest.fixture(scope="session")
def coreboot_orig() -> Path:
    """Debian's coreboot 25.09 orig tarball in the shared cache beside the checkout."""
    path = (ROOT.parent / "shared" / "cache" / "coreboot_25.09+dfsg.orig.tar.xz").resolve()
    if not path.exists():
        pytest.skip(f"{path} (coreboot 25.09 source) not present")
    return path
