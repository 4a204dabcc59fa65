"""A coreboot QEMU target under rootless Podman (issue 14 item 1): the non-root user made for the
session, in its own checkout, builds qemu-q35 with the toolchain stand-in (moved from Docker with
`docker save | podman load`) and boots it in QEMU; the ROM's sha256 equals Docker's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import MAIN, User, podman_load, user_checkout

pytestmark = pytest.mark.integration


def _standin() -> str:
    from fwenv.config import load_config
    from fwenv.engine import Engine
    from fwenv.firmware.standin import build_standin
    from fwenv.plan import Runner

    given = os.environ.get("FWENV_TEST_FIRMWARE_IMAGE")
    return given or build_standin(load_config(MAIN), Runner(), Engine.connect("docker")).image


def test_rootless_podman_coreboot_q35_boots_with_dockers_rom(rootless: User, tmp_path):
    image = _standin()
    env = {**os.environ, "FWENV_OUTPUT_DIR": str(tmp_path / "docker")}
    p = subprocess.run([sys.executable, "-m", "invoke", "firmware.build", "--target", "qemu-q35",
                        "--image", image, "--json"], cwd=MAIN, env=env, capture_output=True,
                       text=True, timeout=1800)
    assert p.returncode == 0, p.stderr[-1500:]
    docker_rom = json.loads(p.stdout)["sha256"]

    podman_load(rootless, image)
    user = user_checkout(rootless)
    checkout = user.cwd
    got = user.run([str(user.home / "venv/bin/python"), "-m", "invoke", "firmware.build",
                    "--target", "qemu-q35", "--image", image, "--boot", "--json"], timeout=1800)
    assert got.returncode == 0, got.stderr.decode()[-1500:]
    res = json.loads(got.stdout)
    assert res["boot"]["passed"] and "ramstage" in res["boot"]["stages"]
    assert res["sha256"] == docker_rom
    rom = checkout / "output" / "firmware" / "qemu-q35" / "coreboot.rom"
    assert rom.stat().st_uid == rootless.uid  # keep-id: the user owns what the build wrote
