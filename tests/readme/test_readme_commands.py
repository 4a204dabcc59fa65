"""README's two commands, run as written, in a scratch clone, on an engine that has no image.

The engine is a private dockerd started by the test (own data root and socket): nothing a fixture
or an earlier test built can hide what a new user's first run would hit."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    """The command lines of README's 'Two commands' block, comments dropped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "README's 'Two commands' section has no ```sh block"
    return [ln.strip() for ln in block.group(1).splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def test_readme_has_two_commands_and_ci_runs_the_second() -> None:
    commands = readme_commands()
    assert len(commands) == 2, commands
    assert not any(c.split()[0] == "sudo" for c in commands), "root machines have no sudo"
    ci_lines = [ln.strip() for ln in (ROOT / ".ci/run").read_text().splitlines()]
    assert commands[1] in ci_lines, f".ci/run must run exactly {commands[1]!r}"


def _docker(host: str, *args: str) -> str:
    return subprocess.run(["docker", "-H", host, *args], check=True,  # noqa: S603
                          capture_output=True, text=True).stdout


@pytest.fixture()
def empty_engine() -> Iterator[str]:
    """A dockerd of the test's own: no image, no volume; removed afterwards."""
    if os.geteuid() != 0 or shutil.which("dockerd") is None:
        pytest.skip("needs root and dockerd (scripts/setup)")
    base = Path(tempfile.mkdtemp(prefix="fwd-"))  # short: unix socket paths are limited
    host = f"unix://{base}/docker.sock"
    log = open(base / "dockerd.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(  # noqa: S603
        ["dockerd", "--data-root", str(base / "data"), "--exec-root", str(base / "x"),
         "-H", host, "--pidfile", str(base / "pid"), "--bridge=none", "--iptables=false",
         "--ip-masq=false"], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(120):
            if subprocess.run(["docker", "-H", host, "info"], capture_output=True).returncode == 0:  # noqa: S603,S607
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"private dockerd did not start: {(base / 'dockerd.log').read_text()[-500:]}")
        assert _docker(host, "images", "-q").strip() == "", "a fresh engine holds no image"
        yield host
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()
        subprocess.run(["umount", "-R", str(base / "data")], capture_output=True)  # noqa: S603,S607
        shutil.rmtree(base, ignore_errors=True)


def scratch_clone(dest: Path) -> Path:
    """A clone of this checkout, with the working tree's version of every tracked file."""
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(dest)],  # noqa: S603,S607
                   check=True)
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,  # noqa: S603,S607
                             capture_output=True, text=True).stdout.split("\0")
    for rel in filter(None, tracked):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def user_env(host: str) -> dict[str, str]:
    """The caller's environment without the test runner's venv, pointed at the private engine."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "FWENV_OUTPUT_DIR", "PYTEST_CURRENT_TEST")}
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                      if not p.startswith(venv))
    env["DOCKER_HOST"] = host
    return env


@pytest.fixture()
def sudo_user() -> Iterator[str]:
    name = f"fwr{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],  # noqa: S603,S607
                   check=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False)  # noqa: S603,S607


@pytest.fixture()
def scratch_dir() -> Iterator[Path]:
    """Outside pytest's 0700 tmp tree, so that another user can reach it."""
    base = Path(tempfile.mkdtemp(prefix="fwenv-readme-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.integration
def test_readme_main_command_from_fresh_clone(scratch_dir: Path, empty_engine: str,
                                              sudo_user: str) -> None:
    clone = scratch_clone(scratch_dir / "clone")
    env = user_env(empty_engine)

    # 1. `sudo scripts/setup` by a user (sudo's SUDO_USER, simulated as root: no sudo here):
    #    the venv belongs to that user, pip never runs as root.
    subprocess.run(["chown", "-R", f"{sudo_user}:", str(clone)], check=True)  # noqa: S603,S607
    setup = subprocess.run(["scripts/setup"], cwd=clone, capture_output=True, text=True,  # noqa: S603
                           env={**env, "SUDO_USER": sudo_user}, timeout=900)
    assert setup.returncode == 0, setup.stderr[-2000:]
    uid = pwd.getpwnam(sudo_user).pw_uid
    not_theirs = [str(p) for p in [clone / ".venv", *(clone / ".venv").rglob("*")]
                  if p.lstat().st_uid != uid]
    assert not not_theirs, f"not owned by {sudo_user}: {not_theirs[:5]}"

    # 2. The README's main command, literally, as root: builds the builder image for real in an
    #    engine that had none, then stops at guix.pack on the unreachable network, in one line.
    main = readme_commands()[0]
    run = subprocess.run(["bash", "-c", main], cwd=clone, capture_output=True, text=True,  # noqa: S603,S607
                         env=env, timeout=1500)
    out = run.stdout + run.stderr
    assert run.returncode != 0, "offline, env.build cannot succeed"
    last = [ln for ln in run.stderr.splitlines() if ln.strip()][-1]
    assert last.startswith("error:") and "unreachable" in last, out[-3000:]
    assert "Traceback" not in out and "another fwenv run holds" not in out, out[-3000:]
    images = _docker(empty_engine, "images", "--format", "{{.Repository}}:{{.Tag}}").split()
    assert any(i.startswith("guix-pack-builder:") for i in images), images
    assert _docker(empty_engine, "ps", "-aq").strip() == "", "no container is left behind"
    output = clone / "output"
    assert not list(output.glob(".*.tmp")), "nothing half-written"
    assert list(output.glob("guix-pack-builder-*.tar.sha256"))
    assert not list(output.glob("coreboot-build-env*")), "no pack from a failed run"
