"""Runs that do not break each other (issue 10 item 10), through the real CLI on the real engine:
env.build with no builder image and env.build --force get past their own nested lock (they fail
later, at the unreachable mirror this test gives, in one line, leaving output/ as it was);
guix.pack and env.import at once: the second is refused in one line, the pack completes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

MAIN = Path(__file__).resolve().parents[2]
OFFLINE = MAIN / "tests" / "pack" / "offline"
DEAD_MIRROR = "http://127.0.0.1:9/debian"  # nothing listens on the discard port

integration = pytest.mark.integration


def _project(tmp_path: Path, **fwenv: str) -> Path:
    """A project of its own: a builder image name no engine has, the recipes, its output/."""
    root = tmp_path / "project"
    shutil.copytree(MAIN / "containers", root / "containers")
    shutil.copytree(MAIN / "guix", root / "guix")
    extra = "".join(f'{k} = "{v}"\n' for k, v in fwenv.items())
    (root / "pyproject.toml").write_text(
        f'[tool.fwenv]\nbuilder_image = "fwenv-sec-{uuid.uuid4().hex[:10]}"\n'
        f'env_image = "fwenv-sec-env-{uuid.uuid4().hex[:10]}"\n{extra}'
        f'[tool.fwenv.builder]\nmirror = "{DEAD_MIRROR}"\n')
    (root / "output").mkdir()
    (root / "output" / "keep.txt").write_text("kept")
    return root


def _invoke(root: Path, *args: str,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "invoke", "-r", str(MAIN), *args], cwd=root, capture_output=True,
        text=True, timeout=900, env={**os.environ, **(env or {})})


def _listing(d: Path) -> dict[str, int]:
    return {str(p.relative_to(d)): p.lstat().st_mode for p in d.rglob("*")
            if p.name != ".fwenv.lock"}


@integration
@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_env_build_without_builder_image_gets_past_its_own_lock(tmp_path: Path,
                                                                force: bool) -> None:
    root = _project(tmp_path)
    before = _listing(root / "output")
    p = _invoke(root, "env.build", *(["--force"] if force else []),
                env={"FWENV_OUTPUT_DIR": str(root / "output")})
    assert p.returncode == 1, p.stdout + p.stderr
    err = p.stderr.strip()
    assert "another fwenv run holds" not in err
    assert err.count("\n") == 0 and "Traceback" not in p.stdout + p.stderr, err
    assert err.startswith(f"error: Debian mirror {DEAD_MIRROR} unreachable"), err
    assert _listing(root / "output") == before


@integration
def test_debootstrap_without_keyring_is_refused_in_one_line(tmp_path: Path) -> None:
    root = _project(tmp_path, debian_keyring="/nonexistent/debian-archive-keyring.gpg")
    before = _listing(root / "output")
    p = _invoke(root, "guix.base", env={"FWENV_OUTPUT_DIR": str(root / "output")})
    assert p.returncode == 1
    assert p.stderr.strip() == (
        "error: debootstrap needs Debian's archive keyring "
        "/nonexistent/debian-archive-keyring.gpg to verify the mirror: apt-get install "
        "debian-archive-keyring (or scripts/setup)")
    assert _listing(root / "output") == before


def test_debootstrap_runs_with_the_keyring(tmp_path: Path) -> None:
    p = _invoke(MAIN, "guix.base", "--dry-run", "--force",
                env={"FWENV_OUTPUT_DIR": str(tmp_path / "output")})
    assert p.returncode == 0, p.stderr
    line = next(ln for ln in p.stdout.splitlines() if ln.strip().startswith("debootstrap"))
    assert "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg" in line


@integration
def test_guix_pack_and_env_import_at_once(offline_builder: str, tmp_path: Path) -> None:
    root = _project(tmp_path)
    shutil.copytree(OFFLINE, root / "offline")
    out = root / "output"
    env = {**os.environ, "FWENV_OUTPUT_DIR": str(out)}
    pack = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "invoke", "-r", str(MAIN), "guix.pack", "--builder",
         offline_builder, "--manifest", str(root / "offline" / "manifest.scm"), "--load-path",
         str(root / "offline"), "--no-time-machine", "--no-substitutes",
         "--guix-option=--bootstrap", "--compressor=xz", "--entry-point=bin/hello",
         "--ephemeral", "--json"], cwd=root, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob(".*.tmp")):  # the pack's work dir: it holds the lock
            assert pack.poll() is None, pack.communicate()
            assert time.monotonic() < deadline, "guix.pack never started its work dir"
            time.sleep(0.1)
        before = _listing(out)
        imp = _invoke(root, "env.import", "--pack", str(out / "keep.txt"), env=env)
        assert imp.returncode == 1
        assert imp.stderr.strip() == (f"error: another fwenv run holds {out}/.fwenv.lock: "
                                      "wait for it to finish (or kill it) and retry")
        assert _listing(out) == before
        stdout, stderr = pack.communicate(timeout=900)
    finally:
        if pack.poll() is None:
            pack.kill()
            pack.wait()
    assert pack.returncode == 0, stderr[-2000:]
    assert Path(json.loads(stdout)["tarball"]).is_file()
    assert (out / "keep.txt").read_text() == "kept"
