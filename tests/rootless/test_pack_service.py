"""The builder as a pack service (issue 14 item 3, seed 002): the builder image's `pack` entry
point writes only the pack to stdout; piped into `docker load` / `docker import -`, the packed
program runs. Real engine, real guix-daemon, the offline test package (tests/pack/offline)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import ROOT, unique
from .conftest import OFFLINE, offline_pack_args

pytestmark = pytest.mark.integration


def _stdout_pack(builder: str, dest: Path, *extra: str) -> subprocess.CompletedProcess[bytes]:
    with open(dest, "wb") as f:
        return subprocess.run([sys.executable, "-m", "invoke", "guix.pack", "--stdout",
                               "--builder", builder, *offline_pack_args(), *extra],
                              cwd=ROOT, stdout=f, stderr=subprocess.PIPE, timeout=1200,
                              env={**os.environ})


def _loaded(out: str) -> str:
    return next(ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Loaded image"))


def test_pack_stdout_into_docker_load_runs_the_packed_program(builder_image: str, tmp_path: Path):
    pack = tmp_path / "pack.tar.xz"
    p = _stdout_pack(builder_image, pack)
    assert p.returncode == 0, p.stderr.decode()[-1500:]
    assert pack.read_bytes()[:6] == b"\xfd7zXZ\x00", "stdout holds something besides the pack"
    assert b"pack: /gnu/store/" in p.stderr  # the chatter went to stderr
    with open(pack, "rb") as f:
        load = subprocess.run(["docker", "load"], stdin=f, capture_output=True, text=True)
    assert load.returncode == 0, load.stderr
    ref = _loaded(load.stdout)
    image_id = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", ref],
                              capture_output=True, text=True).stdout.strip()
    mine = unique("fwenv-test-svc")
    subprocess.run(["docker", "tag", image_id, mine], check=True)
    subprocess.run(["docker", "rmi", ref], capture_output=True)  # the name guix gave it
    try:
        run = subprocess.run(["docker", "run", "--rm", "--network=none", mine],
                             capture_output=True, text=True)
        assert run.stdout.strip() == "Hello from an offline Guix pack", run.stderr
    finally:
        subprocess.run(["docker", "rmi", mine], capture_output=True)


def test_docker_run_pack_tarball_into_docker_import_runs_the_packed_program(builder_image: str):
    """The seed's own command line: docker run … IMAGE pack -f tarball … | docker import -"""
    run = ["docker", "run", "--rm", "-i", "--network=none", "--security-opt", "seccomp=unconfined",
           "--security-opt", "systempaths=unconfined", "--mount",
           f"type=bind,source={OFFLINE},target=/fwenv/host/offline,readonly", builder_image,
           "pack", "-f", "tarball", "-C", "xz", "-S", "/bin=bin", "--bootstrap",
           "--no-substitutes", "-L", "/fwenv/offline", "-m", "/fwenv/offline/manifest.scm"]
    mine = unique("fwenv-test-svc-import")
    producer = subprocess.Popen(run, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    imp = subprocess.run(["docker", "import", "-", mine], stdin=producer.stdout,
                         capture_output=True, text=True)
    err = producer.communicate(timeout=1200)[1]
    assert producer.returncode == 0, err.decode()[-1500:]
    assert imp.returncode == 0, imp.stderr
    try:
        out = subprocess.run(["docker", "run", "--rm", "--network=none", mine, "/bin/hello"],
                             capture_output=True, text=True)
        assert out.stdout.strip() == "Hello from an offline Guix pack", out.stderr
    finally:
        subprocess.run(["docker", "rmi", mine], capture_output=True)


def test_pack_refuses_a_terminal_and_no_arguments(builder_image: str):
    """The entry point's refusals: one line each, nothing on stdout."""
    p = subprocess.run(["docker", "run", "--rm", "--network=none", builder_image, "pack"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip().startswith("pack: no arguments")
