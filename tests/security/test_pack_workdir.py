"""The pack work dir: nobody but fwenv reaches it (0700), the pack is taken only as a regular
file (a symlink planted at the pack path is refused, never followed, chmodded or moved), and
guix in the builder runs as an unprivileged user (a manifest that refuses uid 0 packs)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.guix.pack import take_pack

MAIN = Path(__file__).resolve().parents[2]
OFFLINE = MAIN / "tests" / "pack" / "offline"
NOBODY = 65534

# Another local user: every 50 ms, tries to plant a symlink to the victim in each pack work dir
# under output/ (at the pack path of today's layout and of the old one); prints what it planted.
PLANTER = r"""
import os, sys, time
out, victim, stop = sys.argv[1:4]
while not os.path.exists(stop):
    try:
        names = os.listdir(out)
    except OSError:
        names = []
    for n in names:
        if n.endswith(".tmp"):
            for p in (os.path.join(out, n, "pack"), os.path.join(out, n, "out", "pack")):
                try:
                    os.symlink(victim, p)
                    print("planted", p, flush=True)
                except OSError:
                    pass
    time.sleep(0.05)
"""


def _victim(d: Path) -> Path:
    v = d / "shadow"
    v.write_text("root:secret\n")
    v.chmod(0o600)
    return v


def test_symlink_planted_at_the_pack_path_is_refused(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "pack").symlink_to(victim)
    tarball = tmp_path / "output.tar.xz"
    with pytest.raises(FwenvError) as e:
        take_pack(work / "pack", tarball)
    assert str(e.value) == ("guix pack output pack is a symlink, not a regular file: refusing "
                            "it (nothing was moved or chmodded); check who else can write to "
                            "the builder's work dir")
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert victim.read_text() == "root:secret\n"
    assert (work / "pack").is_symlink() and not tarball.exists()


def test_a_fifo_at_the_pack_path_is_refused(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    os.mkfifo(work / "pack")
    with pytest.raises(FwenvError, match="pack is not a regular file: refusing it"):
        take_pack(work / "pack", tmp_path / "out.tar.xz")
    assert not (tmp_path / "out.tar.xz").exists()


def test_the_pack_is_taken_ours_and_0644(tmp_path: Path) -> None:
    (tmp_path / "pack").write_bytes(b"pack")
    os.chown(tmp_path / "pack", 29990, 29990)
    (tmp_path / "pack").chmod(0o600)
    sha = take_pack(tmp_path / "pack", tmp_path / "t.tar.xz")
    st = (tmp_path / "t.tar.xz").stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (os.geteuid(), 0o644)
    assert sha == hashlib.sha256(b"pack").hexdigest()


@pytest.fixture()
def open_project() -> Iterator[Path]:
    """A project dir other local users can traverse (0755), as a home directory often is;
    outside pytest's 0700 tmp tree, which would hide it from them."""
    d = Path(tempfile.mkdtemp(prefix="fwenv-sec-", dir="/tmp"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.integration
def test_real_pack_no_other_user_can_plant_and_guix_is_not_root(
        offline_builder: str, open_project: Path) -> None:
    offline = open_project / "offline"
    shutil.copytree(OFFLINE, offline)
    # manifest code that refuses to run as root: today's (uid 0) evaluation fails on it
    manifest = offline / "manifest.scm"
    manifest.write_text('(when (zero? (getuid)) (error "manifest evaluated as root"))\n'
                        + manifest.read_text())
    out = open_project / "output"
    out.mkdir(mode=0o755)
    out.chmod(0o755)
    victim = _victim(open_project)
    stop = open_project / "stop"
    planter = subprocess.Popen(  # noqa: S603
        ["/usr/bin/python3", "-c", PLANTER, str(out), str(victim), str(stop)],
        user=NOBODY, group=NOBODY, stdout=subprocess.PIPE, text=True)
    try:
        p = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "invoke", "-r", str(MAIN), "guix.pack", "--builder",
             offline_builder, "--manifest", str(manifest), "--load-path", str(offline),
             "--no-time-machine", "--no-substitutes", "--guix-option=--bootstrap",
             "--compressor=xz", "--entry-point=bin/hello", "--ephemeral", "--json"],
            cwd=MAIN, capture_output=True, text=True, timeout=900,
            env={**os.environ, "FWENV_OUTPUT_DIR": str(out)})
    finally:
        stop.touch()
        planted, _ = planter.communicate(timeout=30)
    assert p.returncode == 0, p.stderr[-2000:]
    assert planted == "", planted
    res = json.loads(p.stdout)
    tarball = Path(res["tarball"])
    st = tarball.lstat()
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o644
    assert st.st_uid == os.geteuid()
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert victim.read_text() == "root:secret\n"
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]
