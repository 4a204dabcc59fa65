"""Dry-run plans (no engine): the exact container for coreboot and Heads builds, nothing written."""

from __future__ import annotations

import pytest

from fwenv.engine import Engine
from fwenv.errors import FwenvError
from fwenv.firmware import build as buildmod
from fwenv.firmware import heads
from fwenv.firmware.targets import get_target
from fwenv.firmware.workspace import Workspace
from fwenv.plan import Runner
from fwenv.recording import RecordingEngine


def plan(cfg, name, **kw):
    r = Runner(dry_run=True)
    buildmod.build(cfg, r, RecordingEngine(r.show), get_target(cfg, name), image="fwenv-test-img:1", **kw)
    return "\n".join(r.printed)


def test_coreboot_build_plan_is_hermetic(cfg):
    out = plan(cfg, "qemu-q35", jobs=3)
    run = next(ln for ln in out.splitlines() if "make defconfig" in ln)
    for part in ("--network=none", "--user 1000:1000", "-e BUILD_TIMELESS=1", "-e TZ=UTC",
                 "-e LC_ALL=C", "-e SOURCE_DATE_EPOCH=0", "target=/in/src,readonly",
                 "target=/src", "-w /src", "-j3 BUILD_TIMELESS=1"):
        assert part in run, part
    assert not (cfg.output_dir / "firmware").exists()


def test_check_plan_builds_at_two_paths_and_uids(cfg):
    out = plan(cfg, "qemu-i440fx", check=True)
    runs = [ln for ln in out.splitlines() if "make defconfig" in ln]
    assert len(runs) == 2
    assert "--user 1000:1000" in runs[0] and "target=/src " in runs[0]
    assert "--user 1001:1001" in runs[1] and "target=/build/other" in runs[1]


def test_boot_plan_uses_target_machine(cfg):
    out = plan(cfg, "qemu-i440fx", boot=True)
    assert "qemu-system-x86_64 -M pc -m 256 -bios" in out and "-serial file:" in out


def test_x230_plan_and_no_boot(cfg, tmp_path):
    out = plan(cfg, "x230")
    assert "make defconfig" in out
    with pytest.raises(FwenvError, match="does not boot in QEMU"):
        plan(cfg, "x230", boot=True)


def test_bad_jobs(cfg):
    with pytest.raises(FwenvError, match="--jobs"):
        plan(cfg, "qemu-q35", jobs=0)


def test_heads_build_plan(cfg):
    t = get_target(cfg, "heads-qemu-fbwhiptail-tpm2-hotp")
    r = Runner(dry_run=True)
    res = heads.build(Workspace.from_project(cfg), r, RecordingEngine(r.show), t,
                      image="fwenv-test-img:1", jobs=2)
    out = "\n".join(r.printed)
    run = next(ln for ln in out.splitlines() if ln.startswith("docker run"))
    assert "--network=none" in run and "--user 1000:1000" in run
    assert "BOARD=qemu-coreboot-fbwhiptail-tpm2-hotp" in run and "packages=/in/packages/x86" in run
    assert "target=/in/packages,readonly" in run and "target=/in/heads,readonly" in run
    assert "CROSS=" in run  # the environment's musl-cross, when the image has one
    assert "# cache check: missing" in out and "coreboot-24.02.01.tar.xz" in out
    assert res["missing"] and not (cfg.output_dir / "firmware").exists()


def test_heads_fetch_plan_is_networked_and_pinned(cfg):
    t = get_target(cfg, "heads-x230-hotp-maximized")
    r = Runner(dry_run=True)
    heads.fetch(Workspace.from_project(cfg), r, RecordingEngine(r.show), t, image="fwenv-test-img:1")
    out = "\n".join(r.printed)
    assert "git clone --no-checkout https://github.com/linuxboot/heads.git" in out
    assert "checkout --detach 00ed7a28aa84e3f8a858b001f3ba708bb21451c3" in out
    run = next(ln for ln in out.splitlines() if ln.startswith("docker run"))
    assert "--network=bridge" in run and "BOARD=x230-hotp-maximized" in run and " packages" in run


def test_heads_missing_cache_names_files(cfg):
    t = get_target(cfg, "heads-qemu-fbwhiptail-tpm2-hotp")
    with pytest.raises(FwenvError) as e:
        heads.build(Workspace.from_project(cfg), Runner(), Engine.on_demand(), t, image="fwenv-test-img:1")
    msg = str(e.value)
    for f in t.packages:
        assert f in msg
    assert "heads-00ed7a28aa84" in msg and "firmware.fetch" in msg and "\n" not in msg


def test_heads_package_with_wrong_sha_counts_as_missing(cfg):
    t = get_target(cfg, "heads-x230-hotp-maximized")
    pkgs = heads.packages_dir(Workspace.from_project(cfg), t)
    pkgs.mkdir(parents=True, exist_ok=True)
    bad = pkgs / t.packages[0]
    bad.write_bytes(b"not the tarball")
    try:
        missing = heads.missing_files(Workspace.from_project(cfg), t)
        assert f"packages/x86/{t.packages[0]} (sha256 mismatch)" in missing
    finally:
        bad.unlink()
