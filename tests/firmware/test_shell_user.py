"""env.shell --user: the container runs as the caller's uid:gid (under sudo, the sudo
caller's), so a file made in /src belongs to them; without it, to the image's user."""

from __future__ import annotations

import os
import subprocess

import pytest

from fwenv.env.shell import caller_ids, shell_argv


def test_caller_is_the_sudo_user_when_root(monkeypatch):
    monkeypatch.setenv("SUDO_UID", "4242")
    monkeypatch.setenv("SUDO_GID", "4343")
    expected = (4242, 4343) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    assert caller_ids() == expected
    argv = shell_argv("img:1", None, command=["true"], tty=False, user=True)
    assert argv[argv.index("--user") + 1] == f"{expected[0]}:{expected[1]}"
    assert "--user" not in shell_argv("img:1", None, command=["true"], tty=False)


@pytest.mark.integration
def test_file_made_in_src_belongs_to_the_caller(monkeypatch, tmp_path, engine, shell_only_image):
    if os.geteuid() != 0:
        pytest.skip("needs root to stand in for a sudo caller")
    monkeypatch.setenv("SUDO_UID", "4242")
    monkeypatch.setenv("SUDO_GID", "4343")
    src = tmp_path / "my src"
    src.mkdir()
    os.chown(src, 4242, 4343)
    argv = shell_argv(shell_only_image, src, command=[": > /src/made-here"], tty=False,
                      user=True)
    subprocess.run(argv, check=True, timeout=120)
    st = (src / "made-here").stat()
    assert (st.st_uid, st.st_gid) == (4242, 4343)
