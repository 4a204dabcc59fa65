"""Which container engine fwenv talks to, and where its Docker-API socket is (no docker import).

`[tool.fwenv] engine` or `FWENV_ENGINE` (the variable wins): `docker` (default; the SDK's own
`DOCKER_HOST` / /var/run/docker.sock) or `podman`: the same docker SDK talking to the Docker-
compatible API of `podman system service`, on `CONTAINER_HOST` when it is a unix:// URL, else
the user's socket — `$XDG_RUNTIME_DIR/podman/podman.sock` for a non-root user (rootless),
/run/podman/podman.sock for root. Only fwenv.engine uses this.
"""

from __future__ import annotations

import os

from .config import find_root, load_toml
from .errors import FwenvError

ENGINES = ("docker", "podman")


def engine_kind() -> str:
    """FWENV_ENGINE, else the project's [tool.fwenv] engine, else docker."""
    kind = os.environ.get("FWENV_ENGINE", "")
    where = "FWENV_ENGINE"
    if not kind:
        where = "[tool.fwenv] engine"
        try:
            kind = str(load_toml(find_root() / "pyproject.toml").get("tool", {})
                       .get("fwenv", {}).get("engine", "docker"))
        except FwenvError:  # not inside a project: the default
            kind = "docker"
    if kind not in ENGINES:
        raise FwenvError(f"{where} is {kind!r}: use one of {', '.join(ENGINES)}")
    return kind


def podman_socket() -> str:
    """The unix:// URL of the Podman service fwenv talks to."""
    host = os.environ.get("CONTAINER_HOST", "")
    if host.startswith("unix://"):
        return host
    if os.geteuid() == 0:
        return "unix:///run/podman/podman.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.geteuid()}"
    return f"unix://{runtime}/podman/podman.sock"


def fix_podman(socket: str) -> str:
    return (f"start it: podman system service --time=0 {socket} & "
            "(apt-get install podman uidmap slirp4netns fuse-overlayfs; README \"Without root\")")
