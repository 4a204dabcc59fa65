"""guix-daemon inside a builder container: the one way fwenv runs Guix.

`guix_session()` starts a builder container whose main process is guix-daemon, waits for
the daemon socket, and yields a session whose `exec()` runs guix commands in it. The
container is removed when the block ends, also on errors and Ctrl-C.

Privileges per daemon mode (measured, see README "Container privileges"; never --privileged):
- unprivileged (default): the daemon runs as the `guix-daemon` user and isolates builds with
  user namespaces; needs seccomp=unconfined (clone/unshare, personality) and
  systempaths=unconfined (mounting a fresh /proc in the build sandbox). No capabilities.
- build-users: root daemon with guixbuilder users and chroot builds; needs CAP_SYS_ADMIN
  (mounts), CAP_NET_ADMIN (loopback in the build namespace) and seccomp=unconfined.
- no-chroot: root daemon with --disable-chroot: impure builds, `guix build --check` fails.
  Only seccomp=unconfined. For diagnosis, not for releases.

In every mode the guix commands themselves (`exec()`: manifest and channel code, Guile) run as
the unprivileged client user `fwenv-guix` (uid 29990), created when the session starts, never
as root; only fixed fwenv commands given `user="root"` (creating that user, staging inputs)
run as root.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..engine import ContainerSpec, Engine, Mount
from ..errors import FwenvError
from ..fsutil import script
from ..plan import Runner

SOCKET = "/var/guix/daemon-socket/socket"
GUIX_ENV = {"LC_ALL": "C.UTF-8", "TZ": "UTC", "HOME": "/root"}
CLIENT_USER = "fwenv-guix"
CLIENT_UID = 29990  # also its group id; no account in the builder image has it
CLIENT_HOME = f"/home/{CLIENT_USER}"
CLIENT_ENV = {"HOME": CLIENT_HOME, "USER": CLIENT_USER, "LOGNAME": CLIENT_USER}
ADD_CLIENT = ["useradd", "--uid", str(CLIENT_UID), "--user-group", "--create-home",
              "--home-dir", CLIENT_HOME, "--shell", "/usr/sbin/nologin", CLIENT_USER]
# The client's profile directory (time-machine's cache of pinned Guixes): see the script.
ADD_CLIENT_PROFILES = ["sh", "-c", script(__package__, "client-profile.sh"), "sh", CLIENT_USER]


@dataclass(frozen=True)
class DaemonMode:
    argv: tuple[str, ...]
    security_opt: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()


DAEMON_MODES: dict[str, DaemonMode] = {
    "unprivileged": DaemonMode(
        ("setpriv", "--reuid=guix-daemon", "--regid=guix-daemon", "--clear-groups",
         "guix-daemon", "--discover=no"),
        security_opt=("seccomp=unconfined", "systempaths=unconfined"),
    ),
    "build-users": DaemonMode(
        ("guix-daemon", "--discover=no", "--build-users-group=guixbuild"),
        security_opt=("seccomp=unconfined",),
        cap_add=("SYS_ADMIN", "NET_ADMIN"),
    ),
    "no-chroot": DaemonMode(
        ("guix-daemon", "--discover=no", "--build-users-group=guixbuild", "--disable-chroot"),
        security_opt=("seccomp=unconfined",),
    ),
}


def daemon_spec(
    image: str,
    mode: str = "unprivileged",
    *,
    mounts: Sequence[Mount] = (),
    daemon_args: Sequence[str] = (),
    network: str = "none",
    cores: int | None = None,
) -> ContainerSpec:
    """The builder container whose main process is guix-daemon."""
    try:
        m = DAEMON_MODES[mode]
    except KeyError:
        raise FwenvError(
            f"unknown daemon mode {mode!r}: use one of {', '.join(DAEMON_MODES)}"
        ) from None
    argv = [*m.argv, *daemon_args]
    if cores:
        argv.append(f"--cores={cores}")
    return ContainerSpec(
        image=image, command=argv, mounts=mounts, network=network, env=dict(GUIX_ENV),
        security_opt=m.security_opt, cap_add=m.cap_add,
        labels={"org.fwenv.role": "guix-daemon"},
    )


@dataclass
class GuixSession:
    runner: Runner
    name: str
    engine: Engine
    container: Any = None  # None in a dry run
    env: dict[str, str] = field(default_factory=dict)

    def exec(
        self,
        argv: Sequence[str],
        *,
        what: str = "",
        fix: str = "",
        check: bool = True,
        workdir: str | None = None,
        user: str | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> tuple[int, str]:
        """Run argv in the builder (no shell) as the client user (`user="root"`: as root, for
        fixed fwenv commands only). Returns (exit code, output)."""
        argv = [str(a) for a in argv]
        user = user or CLIENT_USER
        env = {**GUIX_ENV, **(CLIENT_ENV if user == CLIENT_USER else {}), **self.env}
        if self.runner.dry_run:
            return self.engine.exec(self.name, argv, env=env, workdir=workdir, user=user)
        buf = ""

        def lines(text: str) -> None:
            nonlocal buf
            buf += text
            *done, buf = buf.split("\n")
            for ln in done:
                if on_line:
                    on_line(ln)
                elif self.runner.verbose:
                    self.runner.console.print(ln, markup=False, highlight=False)

        code, out = self.engine.exec(self.container, argv, env=env, workdir=workdir, user=user,
                                     on_text=lines)
        if check and code != 0:
            raise FwenvError(f"{what or ' '.join(argv[:2])} failed (exit {code}): "
                             f"{last_line(out)}" + (f" — {fix}" if fix else ""))
        return code, out

    def put_archive(self, path: str, data: bytes) -> None:
        if not self.runner.dry_run:
            self.engine.put_archive(self.container, path, data)

    def get_file(self, path: str) -> Iterator[bytes]:
        """Stream a tar archive of `path` out of the container."""
        yield from self.engine.get_archive(self.container, path)


def last_line(text: str) -> str:
    """The most telling line of Guix output: the last error line, else the last line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "error:" in ln:
            return ln
    return lines[-1] if lines else "(no output)"


@contextmanager
def guix_session(
    engine: Engine,
    runner: Runner,
    spec: ContainerSpec,
    *,
    timeout: float = 60.0,
) -> Iterator[GuixSession]:
    """Start the daemon container from `spec` (see `daemon_spec`), wait for its socket."""
    name = f"fwenv-guix-{uuid.uuid4().hex[:10]}"
    if runner.dry_run:
        engine.create(spec, name=name)
        session = GuixSession(runner, name, engine)
        session.exec(ADD_CLIENT, user="root")
        session.exec(ADD_CLIENT_PROFILES, user="root")
        yield session
        return
    container = engine.create(spec, name=name)
    try:
        container.start()
        _wait_for_socket(engine, container, timeout)
        session = GuixSession(runner, name, engine, container)
        session.exec(ADD_CLIENT, user="root", what="create the unprivileged guix user")
        session.exec(ADD_CLIENT_PROFILES, user="root", what="make the guix user's profile dir")
        yield session
    finally:
        Engine._remove(container)


def _wait_for_socket(engine: Engine, container: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        up, log = engine.running(container)
        if not up:
            raise FwenvError(f"guix-daemon exited at start: {last_line(log)}: "
                             "check the daemon mode and its privileges (README)")
        if engine.exec(container, ["test", "-S", SOCKET], env={})[0] == 0:
            return
        time.sleep(0.2)
    raise FwenvError(f"guix-daemon socket {SOCKET} did not appear in {timeout:.0f} s: "
                     "check `docker logs` of the builder")
