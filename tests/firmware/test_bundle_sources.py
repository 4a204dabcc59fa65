"""release.bundle carries the smoke targets' pinned sources (the real Debian coreboot source of
the shared cache; a git checkout); env.build --bundle puts them in the rebuilding machine's
firmware cache, where firmware.build finds them with no network and no shared cache.

The git source's upstream (review.coreboot.org) is out of reach here: a local repository
stands in for it, cloned with real git by the product's own fetch."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fwenv.env.bundle import _place_firmware, firmware_items
from fwenv.errors import FwenvError
from fwenv.firmware.sources import ensure_tree, find_cached, search_dirs, source_files
from fwenv.firmware.targets import Source, Target, get_target
from fwenv.firmware.workspace import Workspace
from fwenv.plan import Runner
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
    _place_firmware(receiver.cache_dir, bundle, firmware_items({"firmware": copied}, "b"))
    for pf in files:  # found, and sha256-checked by find_cached
        assert find_cached(pf, search_dirs(receiver)) == receiver.cache_dir / "downloads" / pf.name


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_a_git_checkout_travels_in_the_bundle_with_a_local_stand_in_upstream(
        tmp_path: Path) -> None:
    upstream = tmp_path / "coreboot.git"
    upstream.mkdir()
    _git("init", "-q", cwd=upstream)
    (upstream / "Makefile").write_text("all:\n")
    _git("add", "Makefile", cwd=upstream)
    _git("commit", "-q", "-m", "25.09", cwd=upstream)
    _git("tag", "25.09", cwd=upstream)
    commit = _git("rev-parse", "HEAD", cwd=upstream)
    src = Source("upstream", "git", {"url": f"file://{upstream}", "tag": "25.09",
                                     "commit": commit})
    target = Target("q35-git", "coreboot", "emulation/qemu-q35", source=src)
    sender = Workspace.from_project(make_cfg(tmp_path / "a", tmp_path / "a-cache"))
    ensure_tree(sender, Runner(), src)  # firmware.fetch's clone
    bundle = tmp_path / "bundle"
    copied = _copy_firmware(sender, [target, target], bundle / "firmware")
    assert [(c["git"], c["file"]) for c in copied] == [(commit, f"git/{commit}.tar")]  # once

    receiver = Workspace.from_project(make_cfg(tmp_path / "b", tmp_path / "b-cache",
                                               cache_search=[]))
    with pytest.raises(FwenvError, match="firmware.fetch"):
        ensure_tree(receiver, Runner(), src, fetch=False)  # nothing there before the bundle
    _place_firmware(receiver.cache_dir, bundle, firmware_items({"firmware": copied}, "b"))
    tree = ensure_tree(receiver, Runner(), src, fetch=False)  # checks HEAD is the pin
    assert (tree / "Makefile").read_text() == "all:\n"
    assert _git("status", "--porcelain", cwd=tree) == ""  # the work tree is the commit's
    assert tree.stat().st_mode & 0o777 == 0o755


@pytest.mark.parametrize("item", [{"file": "../../etc/cron.d/x"}, {"file": "a/b"},
                                  {"file": ".hidden"}, {"git": "../../../tmp/x"},
                                  {"git": "HEAD"}])
def test_a_forged_firmware_name_is_refused_before_any_path_is_made(item) -> None:
    with pytest.raises(FwenvError, match="the bundle is damaged or altered") as e:
        firmware_items({"firmware": [item]}, "b/bundle.json")
    assert "\n" not in str(e.value)
