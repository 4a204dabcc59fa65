"""Without root (issue 14 items 1, 2, 5): a non-root user made for the test builds the builder
with `guix.base --unprivileged` (mmdebstrap --mode=unshare) into its rootless Podman, twice,
bit-identical; then packs the offline test package through rootless Podman's Docker-API service
(`FWENV_ENGINE=podman invoke guix.pack --stdout`) with the same sha256 as Docker's, and
`podman load` + `podman run` run it. Real Podman, real guix-daemon, real mmdebstrap."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from .conftest import User, offline_pack_args

pytestmark = pytest.mark.integration


def test_unprivileged_builder_is_bit_reproducible(unprivileged_builds: list[dict[str, str]]):
    a, b = unprivileged_builds
    assert not a["skipped"] and not b["skipped"]
    assert a["tar_sha256"] == b["tar_sha256"]
    assert a["layer_digest"] == f"sha256:{a['tar_sha256']}"  # rootless Podman kept the layer


def test_rootless_podman_pack_equals_dockers_and_runs(
        rootless: User, unprivileged_builds: list[dict[str, str]], docker_stdout_pack: Path):
    image = unprivileged_builds[1]["image"]
    dest = rootless.home / "pack.tar.xz"
    with open(dest, "wb") as f:
        p = rootless.run([str(rootless.home / "venv/bin/python"), "-m", "invoke", "guix.pack",
                          "--stdout", "--builder", image, *offline_pack_args()], stdout=f)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    sha = hashlib.sha256(dest.read_bytes()).hexdigest()
    assert sha == hashlib.sha256(docker_stdout_pack.read_bytes()).hexdigest()
    with open(dest, "rb") as f:
        load = rootless.run(["podman", "load"], stdin=f.fileno())
    assert load.returncode == 0, load.stderr.decode()
    ref = load.stdout.decode().split("Loaded image:")[-1].strip().split(",")[0].strip()
    run = rootless.run(["podman", "run", "--rm", "--network=none", ref])
    assert run.stdout.decode().strip() == "Hello from an offline Guix pack", run.stderr.decode()


def test_podman_engine_without_its_service_says_how_to_start_it(rootless: User):
    env = {**rootless.env, "XDG_RUNTIME_DIR": str(rootless.home / "no-such-runtime")}
    user = User(rootless.name, rootless.uid, rootless.home, env)
    p = user.invoke("guix.pack", "--stdout", "--no-time-machine", "--builder", "x:1",
                    stdout=subprocess.PIPE)
    err = p.stderr.decode().strip().splitlines()
    assert p.returncode != 0 and p.stdout == b""
    assert len(err) == 1 and "no Podman service answers" in err[0]
    assert "podman system service --time=0" in err[0]
