"""Pinned sources: cache search, sha256 checks, the Debian mirror (reachable here), git plans."""

from __future__ import annotations

import shutil

import pytest

from fwenv.errors import FwenvError
from fwenv.firmware import sources
from fwenv.firmware.targets import Source, get_target
from fwenv.firmware.workspace import Workspace
from fwenv.plan import Runner

from .conftest import SHARED_CACHE, make_cfg, mirror_reachable

needs_mirror = pytest.mark.skipif(not mirror_reachable(), reason="deb.debian.org unreachable")


def debian_source(**over) -> Source:
    data = {"kind": "debian", "package": "coreboot", "version": "25.09+dfsg-1",
            "mirror": "http://deb.debian.org/debian",
            "dsc_sha256": "d639f00738c8e6710efd747c9d7ca59cd52064e9d3a49ba14b57a28b9a5e935e",
            "orig": "coreboot_25.09+dfsg.orig.tar.xz",
            "orig_sha256": "96bfaa8d6d0c4df548e39baf48a4de64abbe265f586ae20a74685c5604ac0865",
            "topdir": "coreboot-25.09", **over}
    return Source("t", "debian", data)


def test_pool_urls():
    files = sources.source_files(debian_source())
    assert files[0].url == ("http://deb.debian.org/debian/pool/main/c/coreboot/"
                            "coreboot_25.09+dfsg-1.dsc")
    assert sources.pool_url("http://m", "libfoo", "x") == "http://m/pool/main/libf/libfoo/x"


@pytest.mark.skipif(not (SHARED_CACHE / "coreboot_25.09+dfsg-1.dsc").exists(),
                    reason="no pre-filled cache dir on this machine")
def test_prefilled_cache_is_used_without_network(cfg, runner):
    found = sources.ensure_files(Workspace.from_project(cfg), runner, debian_source(), fetch=False)
    assert all(p.parent == SHARED_CACHE for p in found.values())


def test_cache_search_path_configurable(tmp_path, monkeypatch):
    cfg = make_cfg(tmp_path, tmp_path / "c")
    monkeypatch.setenv("FWENV_FIRMWARE_CACHE_SEARCH", f"{tmp_path}/a:{tmp_path}/b")
    assert sources.search_dirs(Workspace.from_project(cfg)) == [tmp_path / "c" / "downloads", tmp_path / "a",
                                        tmp_path / "b"]


def test_cached_file_with_wrong_sha256_is_an_error(tmp_path, runner):
    cfg = make_cfg(tmp_path, tmp_path / "cache", cache_search=[])
    dl = tmp_path / "cache" / "downloads"
    dl.mkdir(parents=True)
    (dl / "coreboot_25.09+dfsg-1.dsc").write_text("tampered\n")
    with pytest.raises(FwenvError, match="the pin says") as e:
        sources.ensure_files(Workspace.from_project(cfg), runner, debian_source(), fetch=False)
    assert "\n" not in str(e.value)


def test_missing_without_fetch_names_the_fix(tmp_path, runner):
    cfg = make_cfg(tmp_path, tmp_path / "cache", cache_search=[])
    with pytest.raises(FwenvError, match="firmware.fetch"):
        sources.ensure_files(Workspace.from_project(cfg), runner, debian_source(), fetch=False)


@needs_mirror
def test_vanished_debian_version_404_from_mirror(tmp_path, runner):
    """trixie's index once named 24.12+dfsg-1; the mirror dropped it: a clear error, no switch."""
    cfg = make_cfg(tmp_path, tmp_path / "cache", cache_search=[])
    src = debian_source(version="24.12+dfsg-1", orig="coreboot_24.12+dfsg.orig.tar.xz",
                        topdir="coreboot-24.12")
    with pytest.raises(FwenvError) as e:
        sources.ensure_files(Workspace.from_project(cfg), runner, src)
    msg = str(e.value)
    assert "HTTP 404" in msg and "24.12+dfsg-1" in msg and "gone" in msg and "\n" not in msg
    assert not any((tmp_path / "cache" / "downloads").iterdir())  # nothing half-written


@needs_mirror
def test_download_with_wrong_pin_from_mirror(tmp_path, runner):
    cfg = make_cfg(tmp_path, tmp_path / "cache", cache_search=[])
    src = debian_source(dsc_sha256="0" * 64)
    with pytest.raises(FwenvError, match="upstream file changed"):
        sources.ensure_files(Workspace.from_project(cfg), runner, src)
    assert not any((tmp_path / "cache" / "downloads").iterdir())


@needs_mirror
def test_download_from_mirror_then_cached(tmp_path):
    """The real mirror fetch of the .dsc (small), verified, then found in the cache."""
    cfg = make_cfg(tmp_path, tmp_path / "cache", cache_search=[])
    src = debian_source()
    dsc = sources.source_files(src)[0]
    path = sources.download(dsc, tmp_path / "cache" / "downloads", Runner(), "t")
    assert sources.find_cached(dsc, sources.search_dirs(Workspace.from_project(cfg))) == path


@pytest.mark.skipif(not (SHARED_CACHE / "coreboot_25.09+dfsg-1.dsc").exists(),
                    reason="no pre-filled cache dir on this machine")
def test_dsc_must_list_the_pinned_orig(tmp_path, runner):
    cfg = make_cfg(tmp_path, tmp_path / "cache", cache_search=[])
    dl = tmp_path / "cache" / "downloads"
    dl.mkdir(parents=True)
    shutil.copy(SHARED_CACHE / "coreboot_25.09+dfsg-1.dsc", dl)
    orig = dl / "coreboot_25.09+dfsg.orig.tar.xz"
    orig.write_bytes(b"x")
    from fwenv.fsutil import sha256_file

    src = debian_source(orig_sha256=sha256_file(orig))
    with pytest.raises(FwenvError, match="does not list"):
        sources.ensure_files(Workspace.from_project(cfg), runner, src, fetch=False)


def test_git_source_plan_dry_run(cfg, capsys):
    """Upstream git (not reachable here): the plan clones, checks the tag's commit, checks out."""
    src = get_target(cfg, "qemu-q35-upstream").source
    r = Runner(dry_run=True)
    tree = sources.ensure_tree(Workspace.from_project(cfg), r, src)
    assert tree.name == "07df08836eca9dd755cc32b6d78727760d201605"
    out = "\n".join(r.printed)
    assert "git clone --no-checkout https://review.coreboot.org/coreboot.git" in out
    assert "rev-parse 'refs/tags/25.09^{commit}'" in out
    assert "checkout --detach 07df08836eca9dd755cc32b6d78727760d201605" in out
    assert not tree.exists()
