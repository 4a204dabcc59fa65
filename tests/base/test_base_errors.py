"""guix.base bad inputs: one line on stderr naming the fix, exit 1, nothing left in output/."""

from __future__ import annotations

import hashlib
import json

import pytest

from fwenv.errors import FwenvError
from fwenv.guix.builder import BinaryPin, fetch_verified
from fwenv.plan import Runner

from ..conftest import invoke


def _one_line_error(proc) -> str:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def out(tmp_path):
    return tmp_path / "output"


def _env(out):
    return {"FWENV_OUTPUT_DIR": str(out)}


def _left(out):
    return sorted(p.name for p in out.iterdir() if p.name != ".fwenv.lock") if out.exists() else []


def test_no_engine(out):
    line = _one_line_error(invoke("guix.base", env={**_env(out), "DOCKER_HOST": "unix:///nonexistent.sock"}))
    assert "no Docker engine answers" in line and "dockerd" in line
    assert _left(out) == []


def test_unknown_recipe(out):
    line = _one_line_error(invoke("guix.base", "--recipe", "alpine", env=_env(out)))
    assert "unknown recipe 'alpine'" in line and "debian, binary" in line
    assert _left(out) == []


@pytest.mark.integration
def test_unreachable_mirror(out):
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    line = _one_line_error(invoke("guix.base", "--force", "--mirror", "http://127.0.0.1:9/debian",
                                  env=_env(out)))
    assert "unreachable" in line and "--mirror" in line
    assert _left(out) == []


@pytest.mark.parametrize("tag", ["x;rm -rf /", "$(id)", "a b", "UPPER|case"])
def test_image_name_with_shell_metacharacters(out, tag):
    line = _one_line_error(invoke("guix.base", "--tag", tag, env=_env(out)))
    assert "invalid image name" in line
    assert _left(out) == []


def test_bad_snapshot_and_suite(out):
    bad_snapshot = invoke("guix.base", "--snapshot", "yesterday", env=_env(out))
    assert "invalid snapshot" in _one_line_error(bad_snapshot)
    assert "invalid Debian suite" in _one_line_error(invoke("guix.base", "--suite", "../sid", env=_env(out)))


def test_binary_recipe_plan_verifies_before_use(out):
    proc = invoke("guix.base", "--recipe", "binary", "--dry-run", env=_env(out))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    download = next(i for i, ln in enumerate(lines) if ln.startswith("curl -fL"))
    check = next(i for i, ln in enumerate(lines) if "sha256sum -c" in ln)
    gpg = next(i for i, ln in enumerate(lines) if ln.startswith("gpg --verify"))
    boot = next(i for i, ln in enumerate(lines) if ln.startswith("debootstrap"))
    unpack = next(i for i, ln in enumerate(lines) if "-xJf" in ln)
    assert download < check < gpg < boot < unpack
    assert "guix-binary-1.4.0.x86_64-linux.tar.xz" in lines[download]
    assert _left(out) == []


def test_dry_run_prints_commands_and_needs_no_engine(out):
    proc = invoke("guix.base", "--dry-run", env={**_env(out), "DOCKER_HOST": "unix:///nonexistent.sock"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith(
        "debootstrap --variant=minbase --components=main "
        "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg sid ")
    assert any(ln.startswith("tar -C ") and "--sort=name" in ln for ln in proc.stdout.splitlines())
    assert any(ln.startswith("docker import") for ln in proc.stdout.splitlines())
    assert _left(out) == []


def test_wrong_pinned_hash_refused_fake_download(tmp_path):
    """The binary recipe refuses a tarball whose sha256 differs from the pin and keeps nothing.

    The internet is out of reach, so the 'download' is a local file:// URL (a fake download).
    """
    payload = tmp_path / "guix-binary-9.9.9.x86_64-linux.tar.xz"
    payload.write_bytes(b"not the real tarball")
    cache = tmp_path / "cache"
    wrong = BinaryPin("9.9.9", "0" * 64, payload.as_uri(), "")
    with pytest.raises(FwenvError, match="does not match the pinned"):
        fetch_verified(wrong, cache, Runner())
    assert list(cache.iterdir()) == []
    right = BinaryPin("9.9.9", hashlib.sha256(payload.read_bytes()).hexdigest(), payload.as_uri(), "")
    assert fetch_verified(right, cache, Runner()).read_bytes() == payload.read_bytes()


def test_malformed_pin_refused(tmp_path):
    with pytest.raises(FwenvError, match="not 64 hex digits"):
        fetch_verified(BinaryPin("1", "abc", "file:///x", ""), tmp_path, Runner())


@pytest.mark.integration
def test_warm_build_is_skipped_json(builder_image, builder_output):
    proc = invoke("guix.base", "--json", env=_env(builder_output))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["skipped"] is True and result["image"] == builder_image


def test_guix_shell_dry_run_shows_privileges(out):
    proc = invoke("guix.shell", "--image", "guix-pack-builder:1.5.0", "--dry-run", env=_env(out))
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip().splitlines()[-1]
    assert line.startswith("docker run -it --rm --network=none ")
    assert "--security-opt seccomp=unconfined --security-opt systempaths=unconfined" in line
    assert "--privileged" not in line and "--cap-add" not in line
    assert "guix-daemon --discover=no" in line


def test_guix_shell_unknown_mode(out):
    line = _one_line_error(invoke("guix.shell", "--image", "x:1", "--mode", "root", "--dry-run",
                                  env=_env(out)))
    assert "unknown daemon mode 'root'" in line


def test_every_task_has_help_for_every_option():
    """`invoke TASK --help` prints usage and a help text for each option (no positionals
    that would swallow --help)."""
    listing = invoke("--list", check=True).stdout.splitlines()
    tasks = [ln.split()[0] for ln in listing if ln.startswith("  ") and not ln.startswith("   ")]
    assert {"guix.base", "guix.pack", "env.build", "firmware.build", "release.verify"} <= set(tasks)
    for name in tasks:
        out = invoke(name, "--help", check=True).stdout
        assert out.startswith("Usage: "), name
        options = [ln for ln in out.splitlines() if ln.lstrip().startswith("-")]
        assert options, name
        for ln in options:
            assert len(ln.split("  ")) > 1 and ln.split("  ")[-1].strip(), f"{name}: {ln}"


@pytest.mark.integration
def test_ctrl_c_during_build_leaves_nothing(out):
    """SIGINT while debootstrap runs: one line, no rootfs, no tarball, no mount left behind."""
    import signal
    import subprocess
    import sys
    import time

    from ..conftest import ROOT

    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "invoke", "guix.base", "--force", "--tag", "fwenv-test-interrupt"],
        cwd=ROOT, env={**__import__("os").environ, **_env(out)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob(".rootfs.*.tmp/rootfs/usr")):
        time.sleep(0.2)  # wait until debootstrap is writing the rootfs
    assert list(out.glob(".rootfs.*.tmp/rootfs/usr")), "debootstrap never started writing"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err.strip().splitlines()[-1]
    assert _left(out) == []
    assert str(out) not in open("/proc/mounts").read()


@pytest.mark.integration
def test_full_disk_is_refused_before_any_work(tmp_path):
    """An output dir on a 16 MiB tmpfs: refused at preflight, in one line, nothing written."""
    import subprocess

    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(small)], check=True)
    try:
        line = _one_line_error(invoke("guix.base", "--force", env=_env(small)))
        assert "GiB free" in line and "free disk space" in line
        assert _left(small) == []
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_snapshot_pins_the_mirror(out):
    proc = invoke("guix.base", "--snapshot", "20261120T000000Z", "--dry-run", env=_env(out))
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.endswith(" http://snapshot.debian.org/archive/debian/20261120T000000Z")
    imported = next(ln for ln in proc.stdout.splitlines() if ln.startswith("docker import"))
    assert 'org.fwenv.snapshot="20261120T000000Z"' in imported
