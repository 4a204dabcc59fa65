"""Smoke ROMs are built in the released image, which has an entry point (`docker run IMAGE`
runs bin/bash, or what its environment.toml names): the firmware containers must run their
commands as such, not as arguments of that entry point (issue 10.13: the toolchain check and
the build went through it and failed). Real engine: the toolchain stand-in image, given an
entry point that fails. (In tests/firmware for the session's stand-in fixture.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fwenv.engine import Engine
from fwenv.firmware.container import check_image
from fwenv.plan import Runner
from tests.conftest import unique

pytestmark = pytest.mark.integration


@pytest.fixture()
def image_with_entry_point(engine: Engine, standin: str) -> Iterator[str]:
    repo = unique("fwenv-test-entrypoint")
    box = engine.client.containers.create(standin, entrypoint=["/bin/false"], command=[])
    try:
        box.commit(repository=repo, tag="1")
    finally:
        box.remove()
    yield f"{repo}:1"
    engine.remove_image(f"{repo}:1")


def test_the_toolchain_check_does_not_go_through_the_entry_point(
        engine: Engine, image_with_entry_point: str) -> None:
    assert engine.image(image_with_entry_point).attrs["Config"]["Entrypoint"] == ["/bin/false"]
    found = check_image(engine, Runner(), image_with_entry_point)
    assert found["id"] == engine.image(image_with_entry_point).id
