"""release.bundle carries the smoke targets' pinned sources (the real Debian coreboot source of
the shared cache); env.build --bundle puts them in the rebuilding machine's firmware download
cache, where firmware.build finds them with no network and no shared cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from fwenv.env.bundle import _place_firmware
from fwenv.errors import FwenvError
from fwenv.firmware.sources import find_cached, search_dirs, source_files
from fwenv.firmware.targets import get_target
from fwenv.firmware.workspace import Workspace
from fwenv.release.bundle import _copy_firmware

from .conftest import SHARED_CACHE, make_cfg


def test_smoke_target_sources_travel_in_the_bundle(tmp_path: Path) -> None:
    sender = make_cfg(tmp_path / "a", tmp_path / "a-cache")
    target = get_target(sender, "qemu-q35")
    assert target.source is not None
    files = source_files(target.source)
    if not all((SHARED_CACHE / pf.name).is_file() for pf in files):
        pytest.fail(f"the shared cache {SHARED_CACHE} lacks {target.name}'s Debian source")
    bundle = tmp_path / "bundle"
    copied = _copy_firmware(Workspace.from_project(sender), [target], bundle / "firmware")
    assert {(c["file"], c["sha256"]) for c in copied} == {(pf.name, pf.sha256) for pf in files}

    receiver = Workspace.from_project(make_cfg(tmp_path / "b", tmp_path / "b-cache",
                                               cache_search=[]))
    assert receiver.search == () and all(find_cached(pf, search_dirs(receiver)) is None
                                         for pf in files)
    with pytest.raises(FwenvError, match="firmware.fetch --target qemu-q35"):
        _copy_firmware(receiver, [target], tmp_path / "nothing")  # nothing cached to bundle
    _place_firmware(receiver.cache_dir / "downloads", bundle, {"firmware": copied})
    for pf in files:  # found, and sha256-checked by find_cached
        assert find_cached(pf, search_dirs(receiver)) == receiver.cache_dir / "downloads" / pf.name
