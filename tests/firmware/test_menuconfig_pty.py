"""firmware.menuconfig on a real pseudo-terminal (stdlib pty): the real task, the real
menuconfig in the stand-in image; Esc Esc then "Yes" saves; FILE gets savedefconfig output
and the tree is untouched."""

from __future__ import annotations

import os
import pty
import select
import sys
import time

import pytest

from .conftest import REPO, SHARED_CACHE
from .test_tree_integration import ORIG, tree_hash, user_tree  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration


def drive(argv, cwd, keys_after):
    """Run argv on a pty; when the screen shows a marker, type its keys; return all output."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.environ["TERM"] = "xterm"
        os.execv(argv[0], argv)
    out, pending = b"", list(keys_after)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if pending and pending[0][0] in out:
            marker, keys = pending.pop(0)
            out = out.replace(marker, b"<seen>", 1)
            time.sleep(1)
            os.write(fd, keys)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def test_menuconfig_writes_savedefconfig_to_file_only(user_tree, tmp_path, standin):  # noqa: F811
    src, before = user_tree
    config = tmp_path / "my q35.defconfig"
    argv = [str(REPO / ".venv" / "bin" / "invoke"), "firmware.menuconfig", "--src", str(src),
            "--board", "emulation/qemu-q35", "--config", str(config), "--image", standin]
    if not os.path.exists(argv[0]):
        argv[0] = os.path.join(os.path.dirname(sys.executable), "invoke")
    code, out = drive(argv, REPO, [(b"coreboot configuration", b"\x1b\x1b"),
                                       (b"save your new configuration", b"\r")])
    assert code == 0, out[-2000:]
    text = config.read_text()
    assert "CONFIG_BOARD_EMULATION_QEMU_X86_Q35=y" in text
    assert "CONFIG_ANY_TOOLCHAIN=y" in text and "CONFIG_PAYLOAD_NONE=y" in text
    assert tree_hash(src) == before
    assert SHARED_CACHE.is_dir() and ORIG
