"""A non-root user made for the session, with rootless Podman's Docker-API service and a venv
(issue 14). Created here, removed after: useradd gives it /etc/subuid and /etc/subgid ranges."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import RUN

MAIN = Path(__file__).resolve().parents[2]
OFFLINE = MAIN / "tests" / "pack" / "offline"
NEEDS = ("podman", "newuidmap", "mmdebstrap", "useradd", "runuser")
EXCLUDE = ("./.venv", "./.git", "./output", "./cache", "./.hypothesis", "./.nox", "./mutants")


def offline_pack_args() -> list[str]:
    """`invoke guix.pack --stdout` options for the offline test package (tests/pack/offline)."""
    return ["--manifest", str(OFFLINE / "manifest.scm"), "--load-path", str(OFFLINE),
            "--no-time-machine", "--no-substitutes", "--guix-option=--bootstrap",
            "--compressor=xz", "--entry-point=bin/hello"]


@dataclass
class User:
    name: str
    uid: int
    home: Path
    env: dict[str, str]
    cwd: Path = MAIN

    def run(self, argv: list[str], *, stdin: int | None = None, stdout: int | None = None,
            timeout: float = 1200) -> subprocess.CompletedProcess[bytes]:
        """argv as this user (runuser, no shell), from the project root."""
        envs = [f"{k}={v}" for k, v in self.env.items()]
        return subprocess.run(["runuser", "-u", self.name, "--", "env", "-i", *envs, *argv],
                              cwd=self.cwd, stdin=stdin, stdout=stdout or subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)

    def invoke(self, *args: str, stdout: int | None = None) -> subprocess.CompletedProcess[bytes]:
        return self.run([str(self.home / "venv/bin/python"), "-m", "invoke", *args], stdout=stdout)


def _cgroup_v1() -> bool:
    return not Path("/sys/fs/cgroup/cgroup.controllers").exists()


def missing_tools() -> str:
    """'' when this can run (root, and the tools NEEDS names), else what is missing and the fix."""
    missing = [t for t in NEEDS if shutil.which(t) is None]
    if os.geteuid() != 0 or missing:
        return (f"needs root to create the user, and {', '.join(missing) or 'nothing'}: "
                "apt-get install podman uidmap slirp4netns fuse-overlayfs mmdebstrap")
    return ""


@pytest.fixture(scope="session")
def rootless() -> Iterator[User]:
    if why := missing_tools():
        pytest.skip(why)
    with rootless_user(f"fwrl{RUN}") as user:
        yield user


def _end_processes_of(name: str) -> None:
    """End what still runs as the user made here (by pid: only its own processes)."""
    for sig in ("TERM", "KILL"):
        ps = subprocess.run(["ps", "-u", name, "-o", "pid="], capture_output=True, text=True)
        pids = ps.stdout.split()
        if not pids:
            return
        subprocess.run(["kill", f"-{sig}", *pids], capture_output=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and subprocess.run(
                ["ps", "-u", name, "-o", "pid="], capture_output=True, text=True).stdout.strip():
            time.sleep(0.2)


@contextlib.contextmanager
def rootless_user(name: str) -> Iterator[User]:
    """A non-root user `name` with a venv and its rootless Podman service; removed after, with
    everything its Podman holds (also used by benchmarks/rootless_bench.py)."""
    # A uid no build uses (firmware builds run as 1000/1001 on the host's kernel): ending this
    # user's processes afterwards must never reach a build another run has going.
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", "-K", "UID_MIN=20000",
                    "-K", "UID_MAX=29999", "-K", "GID_MIN=20000", "-K", "GID_MAX=29999", name],
                   check=True)
    uid = int(subprocess.run(["id", "-u", name], capture_output=True, text=True).stdout)
    home = Path(f"/home/{name}")
    runtime = Path(f"/run/user/{uid}")
    runtime.mkdir(parents=True, exist_ok=True)
    shutil.chown(runtime, name, name)
    runtime.chmod(0o700)
    env = {"HOME": str(home), "USER": name, "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
           "XDG_RUNTIME_DIR": str(runtime), "FWENV_ENGINE": "podman", "LC_ALL": "C.UTF-8",
           "PYTHONPATH": f"{MAIN / 'src'}:{MAIN}", "FWENV_OUTPUT_DIR": str(home / "output")}
    user = User(name, uid, home, env)
    service = None
    try:
        if _cgroup_v1():  # crun: "cgroups in hybrid mode not supported" — runc works
            conf = home / ".config/containers/containers.conf"
            user.run(["mkdir", "-p", str(conf.parent)])
            user.run(["sh", "-c", f"printf '[engine]\\nruntime = \"runc\"\\n' > {conf}"])
        p = user.run(["/usr/bin/python3", "-m", "venv", str(home / "venv")])
        assert p.returncode == 0, p.stderr.decode()[-500:]
        p = user.run([str(home / "venv/bin/pip"), "install", "-q", "docker>=7", "invoke>=2.2",
                      "rich", "jsonschema", "tomli", "cyclonedx-python-lib"], timeout=600)
        assert p.returncode == 0, p.stderr.decode()[-500:]
        sock = runtime / "podman/podman.sock"
        user.run(["mkdir", "-p", str(sock.parent)])
        envs = [f"{k}={v}" for k, v in env.items()]
        service = subprocess.Popen(
            ["runuser", "-u", name, "--", "env", "-i", *envs, "podman", "system", "service",
             "--time=0", f"unix://{sock}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not sock.exists():
            assert service.poll() is None and time.monotonic() < deadline, "podman service died"
            time.sleep(0.2)
        yield user
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=30)
        user.run(["podman", "system", "reset", "--force"], timeout=600)
        pause = runtime / "libpod/tmp/pause.pid"  # rootless Podman's user-namespace holder
        if pause.is_file():
            subprocess.run(["kill", pause.read_text().strip()], capture_output=True)
        _end_processes_of(name)  # runuser may exit on SIGTERM before podman does: userdel fails
        subprocess.run(["userdel", "--remove", name], capture_output=True)
        shutil.rmtree(runtime, ignore_errors=True)


def podman_load(user: User, image: str) -> None:
    """`docker save IMAGE | podman load` into the user's rootless Podman."""
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    load = user.run(["podman", "load"], stdin=save.stdout.fileno() if save.stdout else None)
    save.wait()
    assert load.returncode == 0 and save.returncode == 0, load.stderr.decode()[-500:]


def user_checkout(user: User) -> User:
    """A copy of this checkout in the user's home (its own output/ and cache/); returns the user
    with PYTHONPATH, FWENV_OUTPUT_DIR and run's cwd pointing at it. Firmware sources are read
    from FWENV_FIRMWARE_CACHE_SEARCH when set."""
    checkout = user.home / "fwenv"
    excl = [f"--exclude={e}" for e in EXCLUDE]
    tar = subprocess.Popen(["tar", "-C", str(MAIN), *excl, "-cf", "-", "."], stdout=subprocess.PIPE)
    user.run(["mkdir", "-p", str(checkout)])
    untar = user.run(["tar", "-C", str(checkout), "-xf", "-"],
                     stdin=tar.stdout.fileno() if tar.stdout else None)
    tar.wait()
    assert untar.returncode == 0, untar.stderr.decode()[-500:]
    return User(user.name, user.uid, user.home, {
        **user.env, "PYTHONPATH": f"{checkout / 'src'}:{checkout}",
        "FWENV_OUTPUT_DIR": str(checkout / "output"),
        **{k: v for k, v in os.environ.items() if k == "FWENV_FIRMWARE_CACHE_SEARCH"}},
        cwd=checkout)


@pytest.fixture(scope="session")
def builder_image(request: pytest.FixtureRequest) -> str:
    """The session's builder (tests/conftest.py), or FWENV_TEST_BUILDER: an image already built
    from this checkout's recipe under another name (so a branch's test run does not retag the
    shared guix-pack-builder while others use it)."""
    given = os.environ.get("FWENV_TEST_BUILDER")
    return given or str(request.getfixturevalue("builder_build").image)


@pytest.fixture(scope="session")
def docker_stdout_pack(builder_image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`invoke guix.pack --stdout` of the offline test package through Docker (as root), or
    FWENV_TEST_DOCKER_PACK: that pack made earlier (lets the Podman half run while others hold
    the shared Docker engine's lock)."""
    import sys

    if os.environ.get("FWENV_TEST_DOCKER_PACK"):
        return Path(os.environ["FWENV_TEST_DOCKER_PACK"])
    dest = tmp_path_factory.mktemp("svc") / "pack.tar.xz"
    with open(dest, "wb") as f:
        p = subprocess.run([sys.executable, "-m", "invoke", "guix.pack", "--stdout", "--builder",
                            builder_image, *offline_pack_args()], cwd=MAIN, stdout=f,
                           stderr=subprocess.PIPE, timeout=1200)
    assert p.returncode == 0, p.stderr.decode()[-1500:]
    return dest


@pytest.fixture(scope="session")
def unprivileged_builds(rootless: User) -> list[dict[str, str]]:
    """`invoke guix.base --unprivileged` twice as the non-root user (mmdebstrap --mode=unshare,
    imported into its rootless Podman), each into its own output dir."""
    import json

    results = []
    for i in (1, 2):
        user = User(rootless.name, rootless.uid, rootless.home,
                    {**rootless.env, "FWENV_OUTPUT_DIR": str(rootless.home / f"out{i}")})
        p = user.invoke("guix.base", "--unprivileged", "--force", "--json")
        assert p.returncode == 0, p.stderr.decode()[-2000:]
        results.append(json.loads(p.stdout))
    return results
