"""The invoke face: one-line errors, exit codes, --dry-run changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .conftest import REPO


def invoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env={**os.environ, **(env or {})})


def invoke_json(*args: str) -> dict:
    p = invoke(*args)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def one_error_line(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 1
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    return lines[0]


def test_unknown_target_cli():
    line = one_error_line(invoke("firmware.build", "--target", "nope", "--dry-run"))
    assert "unknown target 'nope'" in line


def test_boot_needs_exactly_one_of_target_rom():
    assert "exactly one" in one_error_line(invoke("firmware.boot"))
    line = one_error_line(invoke("firmware.boot", "--target", "x230"))
    assert "does not boot in QEMU" in line


def test_boot_missing_rom_cli(tmp_path):
    line = one_error_line(invoke("firmware.boot", "--rom", str(tmp_path / "none.rom")))
    assert "not found" in line


def test_bad_image_name_cli():
    line = one_error_line(invoke("firmware.build", "--target", "qemu-q35", "--image",
                                 "Bad;Name", "--dry-run"))
    assert "invalid image name" in line


def test_heads_build_missing_cache_cli():
    """Heads cannot build here: the build stops at once, naming what firmware.fetch must get."""
    line = one_error_line(invoke("firmware.build", "--target", "heads-qemu-fbwhiptail-tpm2-hotp",
                                 "--image", "fwenv-test-no-such-image:1"))
    assert "Heads cache for heads-qemu-fbwhiptail-tpm2-hotp is incomplete" in line
    assert "musl-cross-make-e5147dde" in line and "coreboot-24.02.01.tar.xz" in line
    assert "invoke firmware.fetch --target heads-qemu-fbwhiptail-tpm2-hotp" in line


def test_standin_dry_run_plan():
    p = invoke("firmware.standin", "--dry-run")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "debootstrap --variant=minbase" in out and " trixie " in out
    for pkg in ("build-essential", "gcc-multilib", "acpica-tools", "nasm", "libssl-dev"):
        assert pkg in out
    assert "useradd -u 1000" in out and "fwenv-toolchain-standin:trixie" in out
    assert "coreboot-build-env" not in out  # the stand-in is never tagged as the environment
