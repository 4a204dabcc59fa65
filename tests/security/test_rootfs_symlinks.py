"""The rootfs pipeline writes and deletes inside a chroot as root on the host: a symlink in the
chroot (absolute, so it names a host path) is never written, chmodded or deleted through."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.guix.rootfs import _write, clean_rootfs
from fwenv.plan import Runner


def _host(tmp_path: Path) -> tuple[Path, Path]:
    host = tmp_path / "host"
    (host / "log").mkdir(parents=True)
    (host / "log" / "keep.log").write_text("host log")
    shadow = host / "shadow"
    shadow.write_text("root:$6$x:19000:0:99999:7:::\n")
    shadow.chmod(0o600)
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "var").mkdir()
    return rootfs, host


def test_shadow_symlinked_to_the_host_is_not_rewritten(tmp_path: Path) -> None:
    rootfs, host = _host(tmp_path)
    (rootfs / "etc/shadow").symlink_to(host / "shadow")
    (rootfs / "var/log").symlink_to(host / "log")
    clean_rootfs(rootfs, Runner())
    assert (host / "shadow").read_text() == "root:$6$x:19000:0:99999:7:::\n"
    assert stat.S_IMODE((host / "shadow").stat().st_mode) == 0o600
    assert (host / "log" / "keep.log").read_text() == "host log"


def test_cleanup_through_a_symlinked_dir_is_refused(tmp_path: Path) -> None:
    rootfs, host = _host(tmp_path)
    (rootfs / "tmp").symlink_to(host / "log")
    with pytest.raises(FwenvError, match=r"leads outside .*rootfs \(a symlink\): refusing to "
                                         r"remove it"):
        clean_rootfs(rootfs, Runner())
    assert (host / "log" / "keep.log").read_text() == "host log"


def test_write_through_a_symlink_is_refused(tmp_path: Path) -> None:
    rootfs, host = _host(tmp_path)
    (rootfs / "usr/sbin").mkdir(parents=True)
    (rootfs / "usr/sbin/policy-rc.d").symlink_to(host / "shadow")
    with pytest.raises(FwenvError, match="is a symlink: refusing to write through it"):
        _write(Runner(), rootfs, "usr/sbin/policy-rc.d", "exit 101\n", 0o755)
    (rootfs / "etc/apt").symlink_to(host)
    with pytest.raises(FwenvError, match=r"leads outside .* \(a symlink\): refusing to write"):
        _write(Runner(), rootfs, "etc/apt/apt.conf.d/99fwenv", "x", 0o644)
    assert stat.S_IMODE((host / "shadow").stat().st_mode) == 0o600
    assert (host / "shadow").read_text().startswith("root:$6$x")
    assert not (host / "apt.conf.d").exists()


def test_write_inside_the_rootfs(tmp_path: Path) -> None:
    rootfs, _ = _host(tmp_path)
    (rootfs / "etc/shadow").write_text("root:$6$x:19000:0:99999:7:::\n")
    (rootfs / "etc/shadow").chmod(0o640)
    _write(Runner(), rootfs, "usr/sbin/policy-rc.d", "exit 101\n", 0o755)
    assert stat.S_IMODE((rootfs / "usr/sbin/policy-rc.d").stat().st_mode) == 0o755
    clean_rootfs(rootfs, Runner())
    assert (rootfs / "etc/shadow").read_text() == "root:$6$x::0:99999:7:::\n"
    assert stat.S_IMODE((rootfs / "etc/shadow").stat().st_mode) == 0o640
