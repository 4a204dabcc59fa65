"""Target data: the required targets exist, malformed data and unknown names fail in one line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.firmware.targets import get_target, load_targets

from .conftest import REPO

REQUIRED = {"qemu-i440fx": "emulation/qemu-i440fx", "qemu-q35": "emulation/qemu-q35",
            "x230": "lenovo/x230",
            "heads-qemu-fbwhiptail-tpm2-hotp": "qemu-coreboot-fbwhiptail-tpm2-hotp",
            "heads-x230-hotp-maximized": "x230-hotp-maximized"}


def test_required_targets_present(cfg):
    from fwenv.firmware.targets import all_targets

    targets = all_targets(cfg)
    for name, board in REQUIRED.items():
        assert targets[name].board == board
    assert targets["qemu-i440fx"].qemu_machine == "pc"
    assert targets["qemu-q35"].qemu_machine == "q35"
    x230 = targets["x230"]
    assert "CONFIG_NO_GFX_INIT=y" in x230.defconfig
    assert "CONFIG_CPU_MICROCODE_CBFS_NONE=y" in x230.defconfig
    assert "gnat" in x230.full_config_needs and x230.qemu_machine == ""
    assert targets["qemu-q35"].source.get("version") == "25.09+dfsg-1"


def test_unknown_target_one_line_error(cfg):
    with pytest.raises(FwenvError) as e:
        get_target(cfg, "../../etc/passwd")
    msg = str(e.value)
    assert "unknown target" in msg and "qemu-q35" in msg and "\n" not in msg


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "targets.toml"
    p.write_text(text)
    return p


GOOD_SOURCE = """
[sources.s]
kind = "tarball"
url = "http://example.invalid/cb.tar.xz"
sha256 = "%s"
topdir = "cb"
""" % ("0" * 64)


@pytest.mark.parametrize("body, expect", [
    (GOOD_SOURCE.replace("0" * 64, "abc"), "sha256 must be 64"),
    (GOOD_SOURCE + '[targets.t]\nboard="b"\nsource="nope"\n', "unknown source"),
    (GOOD_SOURCE + '[targets.t]\nboard="b"\nsource="s"\ndefconfig="rm -rf /"\n', "not CONFIG_X"),
    (GOOD_SOURCE + '[targets.t]\nboard="b"\nsource="s"\nqemu_machine="virt"\n', "pc or q35"),
    (GOOD_SOURCE + '[targets.T_x]\nboard="b"\nsource="s"\n', "target names"),
    ('[sources.g]\nkind="git"\nurl="u"\ntag="t"\ncommit="abc"\n', "40-hex"),
    ('[sources.d]\nkind="svn"\n', "kind must be"),
    ("[targets\n", "fix the TOML"),
])
def test_malformed_target_data(tmp_path, body, expect):
    with pytest.raises(FwenvError, match=expect) as e:
        load_targets(_write(tmp_path, body))
    assert "\n" not in str(e.value)


def test_nox_session_covers_every_target(cfg):
    from fwenv.firmware.targets import all_targets

    sys.path.insert(0, str(REPO))
    try:
        import noxfile
    finally:
        sys.path.remove(str(REPO))
    assert len(noxfile._firmware_targets()) == len(set(noxfile._firmware_targets()))
    assert set(noxfile._firmware_targets()) == set(all_targets(cfg))


def test_list_task_json():
    from .test_cli import invoke_json

    rows = invoke_json("firmware.list", "--json")
    assert rows["x230"]["full_config_needs"][0] == "gnat"
    assert rows["qemu-q35"]["boot_check"] == "q35"
    assert rows["heads-qemu-fbwhiptail-tpm2-hotp"]["kind"] == "heads"
